//! One page of a drawing: frame, pipes, title block, bill of materials, annotations.

use super::*;

/// What the pages of one drawing share while each is drawn.
pub(super) struct Sheet<'a, 'r> {
    pub(super) rng: &'a mut StdRng,
    pub(super) pdf: &'a mut Pdf,
    pub(super) font: &'a mut FontRes,
    pub(super) truth: &'a mut FileTruth,
    pub(super) codes: &'a mut Codes<'r>,
    pub(super) w: f32,
    pub(super) h: f32,
    pub(super) opts: DrawingOptions,
    pub(super) compress: bool,
    pub(super) pages_id: u32,
    pub(super) page_count: u32,
    pub(super) seed: u64,
}

/// Notes that `code` is on `page`, drawn `how` (the first form seen is kept).
pub(super) fn record(truth: &mut FileTruth, code: &str, how: String, page: u32) {
    if !truth.modes.contains_key(code) {
        truth.codes.push(code.to_string());
        truth.modes.insert(code.to_string(), how);
    }
    let p = truth.pages.entry(code.to_string()).or_default();
    if !p.contains(&page) {
        p.push(page);
    }
}

/// Draws page `page` of a drawing (frame, pipes, title block, bill of materials, annotations);
/// its object number.
pub(super) fn draw_page(page: u32, sheet: Sheet) -> u32 {
    let Sheet {
        rng,
        pdf,
        font,
        truth,
        codes,
        w,
        h,
        opts,
        compress,
        pages_id,
        page_count,
        seed,
    } = sheet;
    let mut c = String::with_capacity(64 * 1024);
    // Frame, zone markers, pipes, hatching.
    let _ = writeln!(
        c,
        "1.2 w 20 20 {:.2} {:.2} re S 0.6 w 30 30 {:.2} {:.2} re S",
        w - 40.0,
        h - 40.0,
        w - 60.0,
        h - 60.0
    );
    for i in 0..8 {
        let x = 30.0 + (i as f32 + 0.5) * (w - 60.0) / 8.0;
        for y in [22.0, h - 28.0] {
            draw_text(
                &mut c,
                font,
                &Item {
                    s: (i + 1).to_string(),
                    x,
                    y,
                    size: 6.0,
                    angle: 0,
                    mode: "plain",
                },
                rng,
            );
        }
    }
    let pipes = if opts.small {
        6
    } else {
        rng.random_range(12..30)
    };
    c.push_str("1.8 w\n");
    let mut pipe_segments: Vec<[f32; 4]> = vec![];
    for _ in 0..pipes {
        let (mut x, mut y) = (
            rng.random_range(80.0..w * 0.65),
            rng.random_range(80.0..h - 80.0),
        );
        let _ = write!(c, "{x:.2} {y:.2} m ");
        for _ in 0..rng.random_range(3..8) {
            let a =
                [30.0f32, 150.0, 90.0, 210.0, 330.0, 270.0][rng.random_range(0..6)].to_radians();
            let l = rng.random_range(30.0..220.0);
            let (nx, ny) = (x + l * a.cos(), y + l * a.sin());
            if 40.0 < nx && nx < w * 0.7 && 40.0 < ny && ny < h - 40.0 {
                let _ = write!(c, "{nx:.2} {ny:.2} l ");
                pipe_segments.push([x, y, nx, ny]);
                x = nx;
                y = ny;
            }
        }
        c.push_str("S\n");
    }
    c.push_str("0.25 w\n");
    let hatch = if opts.small {
        250
    } else {
        rng.random_range(800..2500)
    };
    for _ in 0..hatch {
        let (x, y) = (
            rng.random_range(60.0..w - 60.0),
            rng.random_range(60.0..h - 60.0),
        );
        let _ = writeln!(
            c,
            "{x:.2} {y:.2} m {:.2} {:.2} l S",
            x + rng.random_range(-8.0..8.0),
            y + rng.random_range(-8.0..8.0)
        );
    }
    // Title block, sometimes in a form XObject.
    let (tbw, tbh) = (520.0, 150.0);
    let (tx, ty) = (w - 30.0 - tbw, 30.0);
    let _ = writeln!(c, "1 w {tx:.2} {ty:.2} {tbw} {tbh} re S");
    let dwg = codes.new_code(Some(true));
    let in_form = rng.random_bool(0.4);
    let mut tb = String::new();
    let tb_items = [
        (
            "CLIENT: NORTHWIND REFINING CO.".to_string(),
            6.0,
            tbh - 22.0,
            9.0,
        ),
        (
            "PROJECT: UNIT 20 - CRUDE DISTILLATION REVAMP".to_string(),
            6.0,
            tbh - 52.0,
            9.0,
        ),
        ("PIPING ISOMETRIC".to_string(), 6.0, tbh - 82.0, 11.0),
        (
            format!("SHEET {page} OF {page_count}"),
            306.0,
            tbh - 112.0,
            8.0,
        ),
        ("DRAWING NO.".to_string(), 6.0, tbh - 112.0, 7.0),
        (dwg.clone(), 6.0, 8.0, 16.0),
    ];
    for (s, x, y, size) in tb_items {
        let (x, y) = if in_form { (x, y) } else { (tx + x, ty + y) };
        draw_text(
            &mut tb,
            font,
            &Item {
                s,
                x,
                y,
                size,
                angle: 0,
                mode: "plain",
            },
            rng,
        );
    }
    if crosses(
        &pipe_segments,
        tx + 6.0,
        ty + 8.0,
        0,
        font.string_width(&dwg, 16.0),
        16.0,
    ) {
        truth.crossed.push(dwg.clone());
    }
    let mut resources_xobject = String::new();
    if in_form {
        let form = pdf.add_stream(
            &format!(
                "/Type /XObject /Subtype /Form /BBox [0 0 {tbw} {tbh}] /Matrix [1 0 0 1 {tx:.2} {ty:.2}] /Resources << /Font << /F1 {} 0 R >> >>",
                font.id
            ),
            tb.as_bytes(),
            compress,
        );
        resources_xobject = format!(" /XObject << /TB {form} 0 R >>");
        c.push_str("/TB Do\n");
        record(truth, &dwg, "titleblock_xobject@0".into(), page);
    } else {
        c.push_str(&tb);
        record(truth, &dwg, "titleblock@0".into(), page);
    }
    // Bill of materials with tag codes.
    let (bx, by) = (w - 30.0 - 560.0, h - 50.0);
    let nrows = if opts.small {
        rng.random_range(4..10)
    } else {
        rng.random_range(8..22)
    };
    for (col, hd) in [
        (0.0, "PT"),
        (30.0, "DESCRIPTION"),
        (300.0, "SIZE"),
        (360.0, "QTY"),
        (420.0, "TAG"),
    ] {
        draw_text(
            &mut c,
            font,
            &Item {
                s: hd.into(),
                x: bx + col,
                y: by,
                size: 8.0,
                angle: 0,
                mode: "plain",
            },
            rng,
        );
    }
    for r in 0..nrows {
        let y = by - 14.0 * (r as f32 + 1.0);
        let _ = writeln!(
            c,
            "0.3 w {:.2} {:.2} m {:.2} {:.2} l S",
            bx - 4.0,
            y - 4.0,
            bx + 556.0,
            y - 4.0
        );
        let desc = BOM_DESC[rng.random_range(0..BOM_DESC.len())];
        for (col, s) in [
            (0.0, (r + 1).to_string()),
            (30.0, desc.to_string()),
            (360.0, "2".to_string()),
        ] {
            draw_text(
                &mut c,
                font,
                &Item {
                    s,
                    x: bx + col,
                    y,
                    size: 7.0,
                    angle: 0,
                    mode: "plain",
                },
                rng,
            );
        }
        if rng.random_bool(0.45) {
            let code = codes.new_code(None);
            draw_text(
                &mut c,
                font,
                &Item {
                    s: code.clone(),
                    x: bx + 420.0,
                    y,
                    size: 7.0,
                    angle: 0,
                    mode: "plain",
                },
                rng,
            );
            record(truth, &code, "bom@0".into(), page);
            let width = font.string_width(&code, 7.0);
            if crosses(&pipe_segments, bx + 420.0, y, 0, width, 7.0) {
                truth.crossed.push(code);
            }
        }
    }
    // Annotations at every angle, in every text form; some look-alikes.
    let mut placer = Placer {
        boxes: vec![
            [bx - 10.0, by - 14.0 * (nrows as f32 + 1.0) - 10.0, w, h],
            [tx - 10.0, 0.0, w, ty + tbh + 10.0],
        ],
        w,
        h,
    };
    let n_ann = if opts.small {
        rng.random_range(20..40)
    } else {
        rng.random_range(30..80)
    };
    for _ in 0..n_ann {
        let angle = ANGLES[rng.random_range(0..ANGLES.len())];
        let size = [6.0, 7.0, 8.0, 9.0, 10.0, 12.0][rng.random_range(0..6)];
        let (angle, size) = if opts.upright {
            (0, f32::max(size, 8.0))
        } else {
            (angle, size)
        };
        let Some((x, y)) = placer.place(rng, angle, size, 28) else {
            continue;
        };
        let roll = rng.random_range(0..100);
        if roll < 45 {
            let code = codes.new_code(None);
            let mode = MODES[rng.random_range(0..MODES.len())];
            let s = if mode == "plain_long" {
                // A full line number with the code inside: 6"-HC-1042-A1A-IH.
                format!(
                    "{}\"-{code}-{}",
                    ["2", "3", "4", "6", "8"][rng.random_range(0..5)],
                    ["A1A", "B2C", "A1A-IH", "D1F-PP"][rng.random_range(0..4)]
                )
            } else {
                code.clone()
            };
            // The whole string, a little wider for the modes that space its characters.
            let width = font.string_width(&s, size) * 1.2 + 2.0 * size;
            draw_text(
                &mut c,
                font,
                &Item {
                    s,
                    x,
                    y,
                    size,
                    angle,
                    mode,
                },
                rng,
            );
            record(truth, &code, format!("{mode}@{angle}"), page);
            if crosses(&pipe_segments, x, y, angle, width, size) {
                truth.crossed.push(code);
            }
        } else if roll < 53 {
            // A look-alike: a longer or prefixed string whose base code is not on the drawing.
            let base = codes.new_code(None);
            let s = match rng.random_range(0..3) {
                0 => format!("{base}7"),
                1 => format!("X{base}"),
                _ => format!("{base}A"),
            };
            let mode = ["plain", "chars", "split", "tj_kern", "charspace"][rng.random_range(0..5)];
            draw_text(
                &mut c,
                font,
                &Item {
                    s,
                    x,
                    y,
                    size,
                    angle,
                    mode,
                },
                rng,
            );
            truth.absent.push(base);
        } else {
            let s = DECOYS[rng.random_range(0..DECOYS.len())].to_string();
            let mode = ["plain", "chars", "split"][rng.random_range(0..3)];
            draw_text(
                &mut c,
                font,
                &Item {
                    s,
                    x,
                    y,
                    size,
                    angle,
                    mode,
                },
                rng,
            );
        }
    }
    let content = pdf.add_stream("", c.as_bytes(), compress);
    let rotate = [0, 0, 0, 0, 0, 90, 180, 270][rng.random_range(0..8)];
    // Markups: FreeText annotations an engineer adds on top of the drawing (their own random
    // stream, so that the rest of the drawing does not depend on them). A hidden one holds a
    // code that is not on the drawing as seen.
    let mut mrng = StdRng::seed_from_u64(seed ^ 0xa11e ^ u64::from(page) << 32);
    let mut annots = vec![];
    if mrng.random_bool(0.3) {
        for k in 0..mrng.random_range(1..3) {
            let code = codes.new_code(None);
            let hidden = k == 1 && mrng.random_bool(0.5);
            let size = [8.0f32, 10.0, 12.0][mrng.random_range(0..3)];
            let Some((x, y)) = placer.place(&mut mrng, 0, size, code.len() + 4) else {
                continue;
            };
            let (bw, bh) = (font.string_width(&code, size) + 4.0, size * 1.5);
            let scale = [1.0f32, 1.5][mrng.random_range(0..2)];
            let ap = pdf.add_stream(
                &format!("/Type /XObject /Subtype /Form /BBox [0 0 {bw:.2} {bh:.2}] /Resources << /Font << /F1 {} 0 R >> >>", font.id),
                format!("0 0 1 RG 0 0 {bw:.2} {bh:.2} re S BT /F1 {size} Tf 2 {:.2} Td {} Tj ET", size * 0.4, font.encode(&code)).as_bytes(),
                compress,
            );
            let flags = if hidden { 2 + 4 } else { 4 };
            annots.push(pdf.add(format!(
                "<< /Type /Annot /Subtype /FreeText /F {flags} /Rect [{x:.2} {y:.2} {:.2} {:.2}] /Contents ({code}) \
                 /DA (/Helv {size} Tf 0 g) /AP << /N {ap} 0 R >> >>",
                x + bw * scale,
                y + bh * scale
            )));
            if hidden {
                truth.absent.push(code);
            } else {
                record(truth, &code, "markup@0".into(), page);
                let (bw, bh) = (bw * scale, bh * scale);
                if crosses(&pipe_segments, x, y + 0.2 * bh, 0, bw, bh / 0.95) {
                    truth.crossed.push(code);
                }
            }
        }
    }
    let annots = if annots.is_empty() {
        String::new()
    } else {
        format!(
            " /Annots [{}]",
            annots
                .iter()
                .map(|a| format!("{a} 0 R"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    let page_id = pdf.add(format!(
        "<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 {w:.2} {h:.2}] /Rotate {rotate} \
         /Resources << /Font << /F1 {} 0 R >>{resources_xobject} >> /Contents {content} 0 R{annots} >>",
        font.id
    ));
    page_id
}
