//! The picture of each page of a PDF, placed as the page shows it: the largest image, the
//! matrix it is drawn with, the page's `/Rotate`.

use super::*;

/// A page's MediaBox width and height, in points.
pub(super) fn media_box(ctx: &doc::Ctx, page: &Dictionary) -> Option<(f32, f32)> {
    page.get(b"MediaBox")
        .ok()
        .and_then(|o| ctx.resolve(o).ok())
        .and_then(|o| o.as_array().ok())
        .map(|a| {
            a.iter()
                .filter_map(|v| match ctx.resolve(v).ok()? {
                    Object::Integer(i) => Some(*i as f32),
                    Object::Real(r) => Some(*r),
                    _ => None,
                })
                .collect::<Vec<f32>>()
        })
        .filter(|v| v.len() == 4)
        .map(|v| ((v[2] - v[0]).abs(), (v[3] - v[1]).abs()))
}

/// Width and height in inches of every page of a PDF (0 × 0 where a page has no MediaBox).
pub fn page_inches(bytes: &[u8], limits: &Limits) -> Result<Vec<(f32, f32)>, ExtractError> {
    let start = std::time::Instant::now();
    let doc = load(bytes, limits)?;
    let ctx = doc::Ctx::new(&doc, limits, start);
    Ok(page_list(&ctx)?
        .iter()
        .map(|(page, _)| media_box(&ctx, page).map_or((0.0, 0.0), |(w, h)| (w / 72.0, h / 72.0)))
        .collect())
}

/// The largest image of each page in `wanted` (1-based), decoded and upright, if it has one
/// this reader decodes; a page without any image is rendered instead.
pub fn page_images(
    bytes: &[u8],
    limits: &Limits,
    wanted: &[u32],
) -> Result<Vec<(u32, Option<Gray>)>, ExtractError> {
    if raster_kind(bytes).is_some() {
        return wanted
            .iter()
            .map(|&n| Ok((n, raster_page(bytes, n)?)))
            .collect();
    }
    let start = std::time::Instant::now();
    let doc = load(bytes, limits)?;
    let ctx = doc::Ctx::new(&doc, limits, start);
    let pages = page_list(&ctx)?;
    let mut out = vec![];
    for &n in wanted {
        let Some((page, resources)) = pages.get((n as usize).wrapping_sub(1)) else {
            continue;
        };
        ctx.check_time()?;
        let mut best: Option<(&[u8], &Stream)> = None;
        let mut best_area = 0i64;
        let xobjects = resources
            .as_ref()
            .and_then(|r| r.get(b"XObject").ok())
            .and_then(|x| ctx.resolve(x).ok())
            .and_then(|x| x.as_dict().ok());
        for (name, o) in xobjects.into_iter().flat_map(|d| d.iter()) {
            let Ok(Object::Stream(s)) = ctx.resolve(o) else {
                continue;
            };
            if s.dict.get(b"Subtype").ok().and_then(|t| t.as_name().ok()) != Some(b"Image") {
                continue;
            }
            let area = int(&ctx, &s.dict, b"Width").unwrap_or(0)
                * int(&ctx, &s.dict, b"Height").unwrap_or(0);
            if area > best_area {
                best_area = area;
                best = Some((name.as_slice(), s));
            }
        }
        let rotate = int(&ctx, page, b"Rotate").unwrap_or(0);
        // How the picture is drawn: its matrix at its `Do` in the page's content, as the
        // interpreter follows it.
        let matrix = match best {
            Some((name, _)) => crate::page_content(&ctx, page).ok().and_then(|content| {
                let drawn = Interp::new(&ctx)
                    .page(page, &content, resources.as_ref())
                    .ok()?;
                drawn
                    .images
                    .into_iter()
                    .find(|i| i.name == name)
                    .map(|i| i.ctm)
            }),
            None => None,
        };
        // The page's width in inches, as the picture will stand: its resolution follows.
        let media = media_box(&ctx, page);
        let img = match best {
            // A page drawn in vectors (CAD text as strokes or outlines): rendered.
            #[cfg(feature = "render")]
            None => render_page(bytes, n, RENDER_DPI),
            #[cfg(not(feature = "render"))]
            None => None,
            Some((_, s)) => decode(&ctx, s)?.map(|g| {
                let (col, row) = layout(matrix.unwrap_or(IDENTITY), rotate);
                let mut g = g.placed(col, row);
                if let Some((w, h)) = media {
                    let inches = if rotate.rem_euclid(180) == 90 { h } else { w } / 72.0;
                    if inches > 0.5 {
                        g.dpi = g.width as f32 / inches;
                    }
                }
                g
            }),
        };
        out.push((n, img));
    }
    Ok(out)
}

/// Where a step right and a step down in a picture go on the upright page (see
/// [`Gray::placed`]), for a picture drawn with `m` on a page turned by `rotate`. A picture's
/// first row is the top of its unit square: its columns run along (a, b), its rows along
/// (-c, -d), in page space (y up); `/Rotate` turns the page clockwise for display.
pub(super) fn layout(m: Matrix, rotate: i64) -> ((i8, i8), (i8, i8)) {
    let screen = |(x, y): (f32, f32)| {
        let (x, y) = match rotate.rem_euclid(360) {
            90 => (y, -x),
            180 => (-x, -y),
            270 => (-y, x),
            _ => (x, y),
        };
        // y down, snapped to the nearer axis.
        if x.abs() >= y.abs() {
            (if x < 0.0 { -1 } else { 1 }, 0)
        } else {
            (0, if y > 0.0 { -1 } else { 1 })
        }
    };
    let (col, row) = (screen((m[0], m[1])), screen((-m[2], -m[3])));
    if col.0 * row.0 + col.1 * row.1 != 0 || col == row {
        // A skewed or degenerate matrix: the page's turn alone.
        return layout(IDENTITY, rotate);
    }
    (col, row)
}
