//! Scanned versions of generated drawings, for OCR tests: the drawing's first page rendered to
//! gray pixels by poppler's `pdftoppm` (Debian's poppler-utils), blurred and noised like a
//! scanner's output, and wrapped as the only picture of a PDF page with no text layer. A scan
//! may lie on its side in the file, turned back by the page's `/Rotate` as real scans do, or by
//! the matrix the picture is drawn with; or be stored mirrored and drawn through a mirror.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::process::Command;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::writer::{deflate, Pdf};

#[derive(Debug, Clone, Copy)]
pub struct ScanOptions {
    pub dpi: u32,
    /// Stored turned clockwise by this many degrees (0, 90 or 270), with `/Rotate` undoing it.
    pub stored_turned: u32,
    /// The turn is undone by the picture's matrix (`cm`) instead of `/Rotate`.
    pub turned_back_by_matrix: bool,
    /// Stored mirrored left to right and drawn with a mirroring matrix (unturned scans only).
    pub mirrored: bool,
    /// Noise amplitude, in gray levels (0–255).
    pub noise: u8,
    /// Black and white, fax-coded (CCITT Group 4), as document scanners store sheets.
    pub bilevel: bool,
}

/// An 8-bit gray picture, rows top to bottom.
struct Gray {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

fn parse_pgm(b: &[u8]) -> io::Result<Gray> {
    let bad = || io::Error::other("not a binary PGM");
    let mut fields = vec![];
    let mut i = 0;
    while fields.len() < 4 {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < b.len() && b[i] == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        if start == i {
            return Err(bad());
        }
        fields.push(String::from_utf8_lossy(&b[start..i]).into_owned());
    }
    i += 1;
    if fields[0] != "P5" || fields[3] != "255" {
        return Err(bad());
    }
    let w: usize = fields[1].parse().map_err(|_| bad())?;
    let h: usize = fields[2].parse().map_err(|_| bad())?;
    let px = b.get(i..i + w * h).ok_or_else(bad)?.to_vec();
    Ok(Gray { w, h, px })
}

/// Runs a poppler tool on `pdf` in a scratch folder: `args`, then the PDF's path, then
/// `out` (the output's path there); returns the bytes of `produced` (a file it wrote there).
fn poppler(
    program: &str,
    args: &[&str],
    pdf: &[u8],
    out: &str,
    produced: &str,
) -> io::Result<Vec<u8>> {
    let work = std::env::temp_dir().join(format!(
        "isoscan-{program}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&work)?;
    let run = || -> io::Result<Vec<u8>> {
        let src = work.join("page.pdf");
        std::fs::write(&src, pdf)?;
        let status = Command::new(program)
            .args(args)
            .arg(&src)
            .arg(work.join(out))
            .status()
            .map_err(|e| io::Error::other(format!("{program} (apt install poppler-utils): {e}")))?;
        if !status.success() {
            return Err(io::Error::other(format!("{program} failed: {status}")));
        }
        std::fs::read(work.join(produced))
    };
    let result = run();
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// The first page of `pdf` at `dpi`, in gray, through pdftoppm.
fn render(pdf: &[u8], dpi: u32) -> io::Result<Gray> {
    let dpi = dpi.to_string();
    let args = ["-gray", "-singlefile", "-f", "1", "-l", "1", "-r", &dpi];
    parse_pgm(&poppler("pdftoppm", &args, pdf, "page", "page.pgm")?)
}

/// A scanner's softness: a 3×3 box blur.
fn blur(g: &Gray) -> Gray {
    let mut px = g.px.clone();
    for y in 1..g.h.saturating_sub(1) {
        for x in 1..g.w.saturating_sub(1) {
            let mut s = 0u32;
            for dy in 0..3 {
                for dx in 0..3 {
                    s += g.px[(y + dy - 1) * g.w + x + dx - 1] as u32;
                }
            }
            px[y * g.w + x] = (s / 9) as u8;
        }
    }
    Gray { w: g.w, h: g.h, px }
}

fn noise(g: &mut Gray, amp: u8, rng: &mut StdRng) {
    let amp = amp as i32;
    for p in g.px.iter_mut() {
        let n = if amp > 0 {
            rng.random_range(-amp..=amp)
        } else {
            0
        };
        // Dust: one pixel in two thousand black or white.
        let v = match rng.random_range(0..2000) {
            0 => 0,
            1 => 255,
            _ => (*p as i32 + n).clamp(0, 255),
        };
        *p = v as u8;
    }
}

/// Turned clockwise by 90 degrees `times` times.
fn turn(g: Gray, times: u32) -> Gray {
    let mut g = g;
    for _ in 0..times % 4 {
        let mut px = vec![0u8; g.w * g.h];
        for y in 0..g.h {
            for x in 0..g.w {
                px[x * g.h + (g.h - 1 - y)] = g.px[y * g.w + x];
            }
        }
        g = Gray { w: g.h, h: g.w, px };
    }
    g
}

/// A scan of the first page of `pdf`: a one-page PDF whose only content is its picture.
pub fn scan_of(pdf: &[u8], opts: ScanOptions, seed: u64) -> io::Result<Vec<u8>> {
    scan_enlarged(pdf, opts.dpi, opts, seed)
}

/// [`scan_of`], the page rendered at `render_dpi` and its picture shown at `opts.dpi`: the sheet
/// enlarged (or reduced) by their ratio, as a plotter prints a drawing on a larger sheet.
fn scan_enlarged(pdf: &[u8], render_dpi: u32, opts: ScanOptions, seed: u64) -> io::Result<Vec<u8>> {
    let mut g = blur(&render(pdf, render_dpi)?);
    let mut rng = StdRng::seed_from_u64(seed);
    noise(&mut g, opts.noise, &mut rng);
    let mut g = turn(g, opts.stored_turned / 90);
    if opts.mirrored && opts.stored_turned == 0 {
        for row in g.px.chunks_exact_mut(g.w) {
            row.reverse();
        }
    }
    wrap(vec![(g, opts)])
}

/// A PDF of `pages` pages, each only a small noisy picture (no text layer): what a text
/// extractor sees of a multi-page scan, for tests where the reading itself is not the point.
pub fn picture_pdf(pages: usize, seed: u64) -> io::Result<Vec<u8>> {
    picture_pdf_at(pages, seed, 100)
}

/// [`picture_pdf`] with each picture (300 × 200 pixels) at `dpi`: at 6 dpi, a page of 50 × 33
/// inches, a sheet larger than A0.
pub fn picture_pdf_at(pages: usize, seed: u64, dpi: u32) -> io::Result<Vec<u8>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let opts = ScanOptions {
        dpi: dpi.max(1),
        stored_turned: 0,
        turned_back_by_matrix: false,
        mirrored: false,
        noise: 24,
        bilevel: false,
    };
    let pictures = (0..pages)
        .map(|_| {
            let mut g = Gray {
                w: 300,
                h: 200,
                px: vec![230; 300 * 200],
            };
            noise(&mut g, opts.noise, &mut rng);
            (g, opts)
        })
        .collect();
    wrap(pictures)
}

/// A TIFF of 8-bit gray pages, each (width, height, pixels), uncompressed: a multi-page scan as
/// document scanners write it.
pub fn gray_tiff(pages: &[(u32, u32, Vec<u8>)]) -> io::Result<Vec<u8>> {
    let mut out = io::Cursor::new(Vec::new());
    {
        let mut enc = tiff::encoder::TiffEncoder::new(&mut out).map_err(io::Error::other)?;
        for (w, h, px) in pages {
            enc.write_image::<tiff::encoder::colortype::Gray8>(*w, *h, px)
                .map_err(io::Error::other)?;
        }
    }
    Ok(out.into_inner())
}

/// A gray PNG of `w` × `h` pixels of noise, stored without compression (a little over w × h
/// bytes): a picture file of a chosen size, for tests of size limits.
pub fn noise_png(w: u32, h: u32, seed: u64) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed);
    let pixels: Vec<u8> = (0..w as usize * h as usize).map(|_| rng.random()).collect();
    gray_png(w, h, &pixels)
}

/// `pixels` (8-bit gray, rows top to bottom, `w` × `h`) as a PNG stored without compression.
pub fn gray_png(w: u32, h: u32, pixels: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut rows = Vec::with_capacity((w as usize + 1) * h as usize);
    for row in pixels.chunks(w.max(1) as usize).take(h as usize) {
        rows.push(0u8);
        rows.extend_from_slice(row);
    }
    let mut z = flate2::write::ZlibEncoder::new(vec![], flate2::Compression::none());
    let _ = z.write_all(&rows);
    let idat = z.finish().unwrap_or_default();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &idat);
    chunk(b"IEND", &[]);
    png
}

/// One page per picture, each picture the page's only content, turned back by `/Rotate`.
fn wrap(pictures: Vec<(Gray, ScanOptions)>) -> io::Result<Vec<u8>> {
    let mut doc = Pdf::new();
    let pages = doc.alloc();
    let mut kids = vec![];
    for (g, opts) in pictures {
        let (wpt, hpt) = (
            g.w as f32 * 72.0 / opts.dpi as f32,
            g.h as f32 * 72.0 / opts.dpi as f32,
        );
        let image = if opts.bilevel {
            let mut enc = fax::encoder::Encoder::new(fax::VecWriter::new());
            for row in g.px.chunks_exact(g.w) {
                let pels = row.iter().map(|&p| {
                    if p < 160 {
                        fax::Color::Black
                    } else {
                        fax::Color::White
                    }
                });
                enc.encode_line(pels, g.w as u32)
                    .map_err(|e| io::Error::other(format!("fax: {e:?}")))?;
            }
            let data = enc
                .finish()
                .map_err(|e| io::Error::other(format!("fax: {e:?}")))?
                .finish();
            doc.add_raw_stream(
                &format!(
                    "/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray \
                     /BitsPerComponent 1 /Filter /CCITTFaxDecode \
                     /DecodeParms << /K -1 /Columns {w} /Rows {h} >>",
                    w = g.w,
                    h = g.h
                ),
                data,
            )
        } else {
            doc.add_raw_stream(
                &format!(
                    "/Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace /DeviceGray \
                     /BitsPerComponent 8 /Filter /FlateDecode",
                    g.w, g.h
                ),
                deflate(&g.px),
            )
        };
        // The picture's matrix, the page's size and its /Rotate.
        let turn = opts.stored_turned % 360;
        let (matrix, (pw, ph), rotate) = match (turn, opts.turned_back_by_matrix) {
            // Columns down the page, rows to the left: a quarter turn clockwise.
            (270, true) => (
                format!("0 {:.2} {hpt:.2} 0 0 {wpt:.2}", -wpt),
                (hpt, wpt),
                0,
            ),
            // Columns up the page, rows to the right: a quarter turn anticlockwise.
            (90, true) => (
                format!("0 {wpt:.2} {:.2} 0 {hpt:.2} 0", -hpt),
                (hpt, wpt),
                0,
            ),
            (0, _) if opts.mirrored => (
                format!("{:.2} 0 0 {hpt:.2} {wpt:.2} 0", -wpt),
                (wpt, hpt),
                0,
            ),
            _ => (
                format!("{wpt:.2} 0 0 {hpt:.2} 0 0"),
                (wpt, hpt),
                (360 - turn) % 360,
            ),
        };
        let content = doc.add_stream("", format!("q {matrix} cm /Im0 Do Q").as_bytes(), false);
        let page = doc.add(format!(
            "<< /Type /Page /Parent {pages} 0 R /MediaBox [0 0 {pw:.2} {ph:.2}] /Rotate {rotate} \
             /Resources << /XObject << /Im0 {image} 0 R >> >> /Contents {content} 0 R >>"
        ));
        kids.push(format!("{page} 0 R"));
    }
    doc.set(
        pages,
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            kids.len()
        ),
    );
    let root = doc.add(format!("<< /Type /Catalog /Pages {pages} 0 R >>"));
    Ok(doc.finish(root, None))
}

/// The scan settings of the `i`-th generated scan: 150, 200 and 300 dpi in turn, every other
/// one stored sideways (90 under /Rotate, 270 turned back by the picture's matrix), one in five
/// black and white, one in six of the upright ones stored mirrored.
pub fn nth_options(i: usize) -> ScanOptions {
    ScanOptions {
        dpi: [150, 200, 300][i % 3],
        stored_turned: [0, 90, 0, 270][i % 4],
        turned_back_by_matrix: i % 4 == 3,
        mirrored: i % 6 == 2,
        noise: 24,
        bilevel: i % 5 == 4,
    }
}

/// The drawing the `i`-th generated scan is made from, and its truth.
pub fn source_of(i: usize) -> (Vec<u8>, crate::FileTruth) {
    crate::drawing(
        9_000 + i as u64,
        crate::DrawingOptions {
            small: true,
            upright: true,
        },
    )
}

/// An A0 sheet scanned at 400 ppi in black and white, as wide-format scanners store sheets (18,700
/// × 13,200 pixels, 248 million): a one-page A1 drawing enlarged to A0, with level text only, or
/// (`angled`) with text at every angle a drawing has (0, 90, 270, 30, 330, 150 and 45 degrees).
/// Returns the scan and the codes on it, each with how it was drawn (`mode@angle`).
pub fn a0_scan(seed: u64, angled: bool) -> io::Result<(Vec<u8>, BTreeMap<String, String>)> {
    let opts = crate::DrawingOptions {
        small: false,
        upright: !angled,
    };
    // Only standard fonts are drawn with real letters by a renderer.
    let (pdf, truth) = (seed..seed + 1000)
        .map(|s| crate::drawing(s, opts))
        .find(|(_, t)| {
            t.size == "A1"
                && t.page_count == 1
                && !t.encrypted
                && t.font.starts_with("type1_")
                && t.font != "type1_differences"
        })
        .ok_or_else(|| io::Error::other("no one-page A1 drawing"))?;
    let scan = ScanOptions {
        dpi: 400,
        stored_turned: 0,
        turned_back_by_matrix: false,
        mirrored: false,
        noise: 24,
        bilevel: true,
    };
    // A0 is √2 times A1 each way.
    let render_dpi = (400.0 * std::f64::consts::SQRT_2).round() as u32;
    Ok((scan_enlarged(&pdf, render_dpi, scan, seed)?, truth.modes))
}

/// Writes `n` generated scans as `DIR/scan_NNN.pdf` (drawings with level text, scanned with
/// [`nth_options`]) and returns their truth and options, keyed by file name.
pub fn write_scans(
    dir: &Path,
    n: usize,
) -> io::Result<std::collections::BTreeMap<String, (crate::FileTruth, ScanOptions)>> {
    std::fs::create_dir_all(dir)?;
    let mut out = std::collections::BTreeMap::new();
    for i in 0..n {
        let (pdf, truth) = source_of(i);
        let opts = nth_options(i);
        let name = format!("scan_{i:03}.pdf");
        std::fs::write(dir.join(&name), scan_of(&pdf, opts, i as u64)?)?;
        out.insert(name, (truth, opts));
    }
    Ok(out)
}

/// A sheet whose text is drawn as vector outlines, with no text layer at all, as CAD exports
/// with SHX or "text as geometry" make them: `codes` in Helvetica at 9, 11 and 14 pt among pipe
/// lines, turned into glyph outlines by poppler's `pdftocairo -svg` (Debian's poppler-utils).
/// A text extractor finds no glyph on it; only a renderer and OCR can read it.
pub fn outlined(codes: &[String]) -> io::Result<Vec<u8>> {
    let (w, h) = (1191.0f32, 842.0f32);
    let mut placed = vec![];
    let mut text = String::new();
    for (i, code) in codes.iter().enumerate() {
        let x = 80.0 + 360.0 * (i % 3) as f32;
        let y = h - 90.0 - 70.0 * (i / 3) as f32;
        let size = [9.0, 11.0, 14.0][i % 3];
        let escaped = code
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        text.push_str(&format!(
            "BT /F1 {size} Tf {x:.1} {y:.1} Td ({escaped}) Tj ET\n"
        ));
        placed.push((x, y));
    }
    let mut doc = Pdf::new();
    let font = doc.add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string());
    let resources = format!("<< /Font << /F1 {font} 0 R >> >>");
    let svg = svg_of(&one_page(doc, (w, h), &resources, text.as_bytes(), false))?;

    // The outlines, placed where the text was; then a border and pipe lines under each code.
    let mut out = String::from("0 g\n");
    for (glyph, x, y) in uses(&svg) {
        let Some(path) = symbol(&svg, &glyph) else {
            continue;
        };
        out.push_str(&format!("q 1 0 0 -1 {x} {} cm\n{path}f Q\n", h - y));
    }
    out.push_str(&format!("1.5 w 20 20 {} {} re S\n", w - 40.0, h - 40.0));
    for (x, y) in placed {
        out.push_str(&format!(
            "2 w {x:.1} {:.1} m {:.1} {:.1} l {:.1} {:.1} l S\n",
            y - 22.0,
            x + 240.0,
            y - 22.0,
            x + 280.0,
            y - 45.0
        ));
    }
    Ok(one_page(Pdf::new(), (w, h), "<< >>", out.as_bytes(), true))
}

/// `doc` finished as a one-page PDF of `size` points showing `content` with `resources`.
fn one_page(
    mut doc: Pdf,
    size: (f32, f32),
    resources: &str,
    content: &[u8],
    compress: bool,
) -> Vec<u8> {
    let content = doc.add_stream("", content, compress);
    let pages = doc.alloc();
    let page = doc.add(format!(
        "<< /Type /Page /Parent {pages} 0 R /MediaBox [0 0 {} {}] /Resources {resources} \
         /Contents {content} 0 R >>",
        size.0, size.1
    ));
    doc.set(
        pages,
        format!("<< /Type /Pages /Kids [{page} 0 R] /Count 1 >>"),
    );
    let root = doc.add(format!("<< /Type /Catalog /Pages {pages} 0 R >>"));
    doc.finish(root, None)
}

/// The first page of `pdf` as SVG, through pdftocairo.
fn svg_of(pdf: &[u8]) -> io::Result<String> {
    let args = ["-svg", "-f", "1", "-l", "1"];
    let svg = poppler("pdftocairo", &args, pdf, "page.svg", "page.svg")?;
    String::from_utf8(svg).map_err(|e| io::Error::other(format!("pdftocairo's SVG: {e}")))
}

/// `tag` is what follows the tag's name and its space.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = match tag.strip_prefix(&format!("{name}=\"")) {
        Some(_) => name.len() + 2,
        None => tag.find(&format!(" {name}=\""))? + name.len() + 3,
    };
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

/// Every glyph placed on the page: its symbol id and position (SVG coordinates, y down).
fn uses(svg: &str) -> Vec<(String, f32, f32)> {
    svg.split("<use ")
        .skip(1)
        .filter_map(|tag| {
            let glyph = attr(tag, "xlink:href")?.trim_start_matches('#').to_string();
            let x = attr(tag, "x")?.parse().ok()?;
            let y = attr(tag, "y")?.parse().ok()?;
            Some((glyph, x, y))
        })
        .collect()
}

/// A glyph's outline as PDF path operators (cairo writes only M, L, C and Z, absolute).
fn symbol(svg: &str, id: &str) -> Option<String> {
    let at = svg.find(&format!("id=\"{id}\""))?;
    let end = at + svg[at..].find("</symbol>")?;
    let mut ops = String::new();
    for path in svg[at..end].split("<path ").skip(1) {
        let d = attr(path, "d")?;
        let mut args: Vec<&str> = vec![];
        let flush = |op: &str, args: &mut Vec<&str>, ops: &mut String| {
            let pdf_op = match op {
                "M" => "m",
                "L" => "l",
                "C" => "c",
                "Z" => "h",
                _ => return,
            };
            for pair in args.chunks(2) {
                if pair.len() == 2 && pdf_op != "c" {
                    ops.push_str(&format!("{} {} {pdf_op}\n", pair[0], pair[1]));
                }
            }
            if pdf_op == "c" {
                for six in args.chunks(6).filter(|c| c.len() == 6) {
                    ops.push_str(&format!("{} c\n", six.join(" ")));
                }
            }
            if pdf_op == "h" {
                ops.push_str("h\n");
            }
            args.clear();
        };
        let mut op = "";
        for tok in d.split_whitespace() {
            if matches!(tok, "M" | "L" | "C" | "Z") {
                flush(op, &mut args, &mut ops);
                op = tok;
            } else {
                args.push(tok);
            }
        }
        flush(op, &mut args, &mut ops);
    }
    Some(ops)
}
