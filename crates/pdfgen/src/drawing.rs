//! Drawing-like PDFs with known codes: pipes, hatching, a title block, a bill of materials and
//! annotations at isometric and other angles, with every code drawn in one of the text forms a
//! CAD exporter uses. The ground truth records each code's form, angle and pages.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::fonts::{declare, finish_font, FontKind, FontRes};
use crate::writer::{Encryption, Pdf};

pub const ANGLES: [i32; 7] = [0, 90, 270, 30, 150, 330, 45];
pub const MODES: [&str; 10] = [
    "plain",
    "chars",
    "chars_tm",
    "split",
    "tj_kern",
    "charspace",
    "hscale",
    "adjacent",
    "tm_rot",
    "plain_long",
];

const LINE_PREFIX: [&str; 16] = [
    "HC", "CW", "ST", "FW", "PW", "IA", "LO", "FG", "NG", "SW", "VT", "DR", "HW", "BFW", "CWR",
    "SC",
];
const DOC_PREFIX: [&str; 8] = ["PEN", "DWG", "ISO", "SUP", "VLV", "INS", "TIE", "SPL"];
const DECOYS: [&str; 24] = [
    "SEE NOTE 3",
    "EL +102.350",
    "2\" SCH 40",
    "FLG 150#",
    "SHOP WELD",
    "FIELD WELD",
    "N 1234.500",
    "E 5678.250",
    "BOP EL +100.200",
    "PIPE SUPPORT",
    "INSULATED",
    "SLOPE 1:100",
    "CONT. ON",
    "FLOW",
    "DN150",
    "GASKET",
    "A106-B",
    "1250",
    "90 ELL",
    "TEE",
    "RED 4\"x2\"",
    "VENT",
    "DRAIN",
    "SPEC A1A",
];
const ADJ_PRE: [&str; 8] = ["SEE", "REF", "TO", "FROM", "CONT", "TAG", "LINE", "DWG"];
const ADJ_POST: [&str; 8] = ["SHT 2", "2 OFF", "A1A", "IH", "PP", "(TYP)", "12", "NEW"];
const BOM_DESC: [&str; 8] = [
    "PIPE, SMLS, BE, ASTM A106-B",
    "ELBOW 90 LR, BW, A234-WPB",
    "TEE EQUAL, BW",
    "FLANGE WN RF 150#",
    "GASKET SPW 150# RF",
    "STUD BOLT A193-B7",
    "GATE VALVE 150# RF",
    "CHECK VALVE SWING",
];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileTruth {
    /// Codes drawn in the file.
    pub codes: Vec<String>,
    /// How each code was drawn: `mode@angle`.
    pub modes: BTreeMap<String, String>,
    /// Pages each code is on.
    pub pages: BTreeMap<String, Vec<u32>>,
    /// Look-alikes: codes that are not on the drawing though a longer or prefixed string is.
    pub absent: Vec<String>,
    pub font: String,
    pub page_count: u32,
    pub size: String,
    pub encrypted: bool,
    /// Codes a pipe line is drawn across (on a scan, part of their characters is under it).
    #[serde(default)]
    pub crossed: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct DrawingOptions {
    /// Small drawings (A3, one page, light graphics), as benchmarks use.
    pub small: bool,
    /// Every code level and 8 pt or larger, in a standard font, as the codes a scanned drawing
    /// is searched for (bills of materials, title blocks, labels) are.
    pub upright: bool,
}

struct Codes<'r> {
    rng: &'r mut StdRng,
    used: HashSet<String>,
}

impl Codes<'_> {
    fn new_code(&mut self, doc: Option<bool>) -> String {
        loop {
            let doc = doc.unwrap_or_else(|| self.rng.random_bool(0.35));
            let c = if doc {
                format!(
                    "{}-{:02}-{:04}",
                    DOC_PREFIX[self.rng.random_range(0..DOC_PREFIX.len())],
                    self.rng.random_range(10..100),
                    self.rng.random_range(0..10000)
                )
            } else {
                format!(
                    "{}-{:04}",
                    LINE_PREFIX[self.rng.random_range(0..LINE_PREFIX.len())],
                    self.rng.random_range(1000..10000)
                )
            };
            if self.used.insert(c.clone()) {
                return c;
            }
        }
    }
}

struct Item {
    s: String,
    x: f32,
    y: f32,
    size: f32,
    angle: i32,
    mode: &'static str,
}

/// Writes one text item into `c`, in the frame of `font`.
fn draw_text(c: &mut String, font: &mut FontRes, it: &Item, rng: &mut StdRng) {
    let (sa, ca) = (it.angle as f32).to_radians().sin_cos();
    let size = it.size;
    let s = it.s.as_str();
    let w = |f: &FontRes, t: &str| f.string_width(t, size);
    if it.mode == "tm_rot" {
        let _ = writeln!(
            c,
            "BT /F1 {size} Tf {ca:.5} {sa:.5} {:.5} {ca:.5} {:.2} {:.2} Tm {} Tj ET",
            -sa,
            it.x,
            it.y,
            font.encode(s)
        );
        return;
    }
    let _ = writeln!(
        c,
        "q {ca:.5} {sa:.5} {:.5} {ca:.5} {:.2} {:.2} cm",
        -sa, it.x, it.y
    );
    match it.mode {
        "chars" | "chars_tm" => {
            let mut dx = 0.0f32;
            for ch in s.chars() {
                let t = ch.to_string();
                if it.mode == "chars" {
                    let _ = writeln!(c, "BT /F1 {size} Tf {dx:.3} 0 Td {} Tj ET", font.encode(&t));
                } else {
                    let _ = writeln!(
                        c,
                        "BT /F1 1 Tf {size} 0 0 {size} {dx:.3} 0 Tm {} Tj ET",
                        font.encode(&t)
                    );
                }
                dx += w(font, &t) + rng.random_range(-0.15..0.25);
            }
        }
        "split" => {
            let k = rng.random_range(1..s.chars().count());
            let (a, b): (String, String) =
                (s.chars().take(k).collect(), s.chars().skip(k).collect());
            let _ = writeln!(c, "BT /F1 {size} Tf 0 0 Td {} Tj ET", font.encode(&a));
            let _ = writeln!(
                c,
                "BT /F1 {size} Tf {:.3} 0 Td {} Tj ET",
                w(font, &a),
                font.encode(&b)
            );
        }
        "tj_kern" => {
            let mut parts = String::new();
            let n = s.chars().count();
            for (i, ch) in s.chars().enumerate() {
                parts.push_str(&font.encode(&ch.to_string()));
                if i + 1 < n {
                    let k = [-60, -40, -25, 15, 30, 45, 80][rng.random_range(0..7)];
                    let _ = write!(parts, " {k} ");
                }
            }
            let _ = writeln!(c, "BT /F1 {size} Tf 0 0 Td [{parts}] TJ ET");
        }
        "charspace" => {
            let tc = [0.8, 1.2, 1.6][rng.random_range(0..3)];
            let _ = writeln!(
                c,
                "BT /F1 {size} Tf {tc} Tc 0 0 Td {} Tj 0 Tc ET",
                font.encode(s)
            );
        }
        "hscale" => {
            let tz = [75, 85, 120][rng.random_range(0..3)];
            let _ = writeln!(
                c,
                "BT /F1 {size} Tf {tz} Tz 0 0 Td {} Tj 100 Tz ET",
                font.encode(s)
            );
        }
        "adjacent" => {
            let pre = ADJ_PRE[rng.random_range(0..ADJ_PRE.len())];
            let post = ADJ_POST[rng.random_range(0..ADJ_POST.len())];
            let gap = w(font, " ");
            let x1 = w(font, pre) + gap;
            let x2 = x1 + w(font, s) + gap;
            let _ = writeln!(c, "BT /F1 {size} Tf 0 0 Td {} Tj ET", font.encode(pre));
            let _ = writeln!(c, "BT /F1 {size} Tf {x1:.3} 0 Td {} Tj ET", font.encode(s));
            let _ = writeln!(
                c,
                "BT /F1 {size} Tf {x2:.3} 0 Td {} Tj ET",
                font.encode(post)
            );
        }
        _ => {
            let _ = writeln!(c, "BT /F1 {size} Tf 0 0 Td {} Tj ET", font.encode(s));
        }
    }
    c.push_str("Q\n");
}

/// Whether a pipe line (1.8 pt wide) of `pipes` runs across text drawn at (`x`, `y`) at `angle`
/// degrees, `width` long and `size` high.
fn crosses(pipes: &[[f32; 4]], x: f32, y: f32, angle: i32, width: f32, size: f32) -> bool {
    let (sa, ca) = (-(angle as f32).to_radians()).sin_cos();
    // The text's box in its own frame, widened by half a pipe.
    let (x0, x1, y0, y1) = (-1.0, width + 1.0, -0.2 * size - 0.9, 0.75 * size + 0.9);
    pipes.iter().any(|seg| {
        let to_frame = |px: f32, py: f32| {
            let (dx, dy) = (px - x, py - y);
            (dx * ca - dy * sa, dx * sa + dy * ca)
        };
        let (ax, ay) = to_frame(seg[0], seg[1]);
        let (bx, by) = to_frame(seg[2], seg[3]);
        // Liang-Barsky: the part of the segment inside the box.
        let (mut t0, mut t1) = (0.0f32, 1.0f32);
        let (dx, dy) = (bx - ax, by - ay);
        for (p, q) in [(-dx, ax - x0), (dx, x1 - ax), (-dy, ay - y0), (dy, y1 - ay)] {
            if p == 0.0 {
                if q < 0.0 {
                    return false;
                }
            } else {
                let r = q / p;
                if p < 0.0 {
                    t0 = t0.max(r);
                } else {
                    t1 = t1.min(r);
                }
            }
        }
        t0 <= t1
    })
}

struct Placer {
    boxes: Vec<[f32; 4]>,
    w: f32,
    h: f32,
}

impl Placer {
    fn place(
        &mut self,
        rng: &mut StdRng,
        angle: i32,
        size: f32,
        nchars: usize,
    ) -> Option<(f32, f32)> {
        let len = nchars as f32 * size * 0.75 + 6.0 * size + 10.0;
        let (sa, ca) = (angle as f32).to_radians().sin_cos();
        for _ in 0..60 {
            let x = rng.random_range(60.0..self.w - 60.0);
            let y = rng.random_range(60.0..self.h - 60.0);
            let pts: Vec<(f32, f32)> = [
                (-3.0 * size, -size),
                (len, -size),
                (-3.0 * size, 1.8 * size),
                (len, 1.8 * size),
            ]
            .iter()
            .map(|(dx, dy)| (x + dx * ca - dy * sa, y + dx * sa + dy * ca))
            .collect();
            let bb = [
                pts.iter().map(|p| p.0).fold(f32::MAX, f32::min),
                pts.iter().map(|p| p.1).fold(f32::MAX, f32::min),
                pts.iter().map(|p| p.0).fold(f32::MIN, f32::max),
                pts.iter().map(|p| p.1).fold(f32::MIN, f32::max),
            ];
            if bb[0] < 45.0 || bb[1] < 45.0 || bb[2] > self.w - 45.0 || bb[3] > self.h - 45.0 {
                continue;
            }
            if self
                .boxes
                .iter()
                .any(|o| !(bb[2] < o[0] || bb[0] > o[2] || bb[3] < o[1] || bb[1] > o[3]))
            {
                continue;
            }
            self.boxes.push(bb);
            return Some((x, y));
        }
        None
    }
}

/// Generates one drawing from a seed.
pub fn drawing(seed: u64, opts: DrawingOptions) -> (Vec<u8>, FileTruth) {
    let mut rng = StdRng::seed_from_u64(seed);
    let kind = match rng.random_range(0..100) {
        0..=29 => FontKind::Standard("Helvetica"),
        30..=39 => FontKind::Standard("Times-Roman"),
        40..=49 => FontKind::Standard("Courier"),
        50..=61 => FontKind::Differences,
        62..=75 => FontKind::TrueTypeSubset,
        76..=89 => FontKind::Type0ToUnicode,
        _ => FontKind::Type0NoToUnicode,
    };
    // The embedded test fonts draw placeholder shapes, not letters: a drawing meant to be
    // rendered (and read by OCR) uses a standard font, which renderers draw with real letters.
    let kind = match kind {
        FontKind::Standard(_) => kind,
        _ if opts.upright => FontKind::Standard("Helvetica"),
        _ => kind,
    };
    let (w, h, size_name) = if opts.small || rng.random_bool(0.4) {
        (1190.55, 841.89, "A3")
    } else {
        (2383.94, 1683.78, "A1")
    };
    let page_count: u32 = if opts.small {
        1
    } else {
        [1, 1, 1, 1, 1, 1, 1, 2, 2, 3][rng.random_range(0..10)]
    };
    let encrypted = rng.random_bool(0.06);
    let compress = rng.random_bool(0.85);
    let mut pdf = Pdf::new();
    let mut font = declare(&mut pdf, kind);
    let mut truth = FileTruth {
        font: kind.label(),
        page_count,
        size: size_name.into(),
        encrypted,
        ..Default::default()
    };
    let mut codes = Codes {
        rng: &mut StdRng::seed_from_u64(seed ^ 0x5eed),
        used: HashSet::new(),
    };
    let pages_id = pdf.alloc();
    let mut kids = vec![];
    let record = |truth: &mut FileTruth, code: &str, how: String, page: u32| {
        if !truth.modes.contains_key(code) {
            truth.codes.push(code.to_string());
            truth.modes.insert(code.to_string(), how);
        }
        let p = truth.pages.entry(code.to_string()).or_default();
        if !p.contains(&page) {
            p.push(page);
        }
    };
    for page in 1..=page_count {
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
                    &mut font,
                    &Item {
                        s: (i + 1).to_string(),
                        x,
                        y,
                        size: 6.0,
                        angle: 0,
                        mode: "plain",
                    },
                    &mut rng,
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
                let a = [30.0f32, 150.0, 90.0, 210.0, 330.0, 270.0][rng.random_range(0..6)]
                    .to_radians();
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
                &mut font,
                &Item {
                    s,
                    x,
                    y,
                    size,
                    angle: 0,
                    mode: "plain",
                },
                &mut rng,
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
            record(&mut truth, &dwg, "titleblock_xobject@0".into(), page);
        } else {
            c.push_str(&tb);
            record(&mut truth, &dwg, "titleblock@0".into(), page);
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
                &mut font,
                &Item {
                    s: hd.into(),
                    x: bx + col,
                    y: by,
                    size: 8.0,
                    angle: 0,
                    mode: "plain",
                },
                &mut rng,
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
                    &mut font,
                    &Item {
                        s,
                        x: bx + col,
                        y,
                        size: 7.0,
                        angle: 0,
                        mode: "plain",
                    },
                    &mut rng,
                );
            }
            if rng.random_bool(0.45) {
                let code = codes.new_code(None);
                draw_text(
                    &mut c,
                    &mut font,
                    &Item {
                        s: code.clone(),
                        x: bx + 420.0,
                        y,
                        size: 7.0,
                        angle: 0,
                        mode: "plain",
                    },
                    &mut rng,
                );
                record(&mut truth, &code, "bom@0".into(), page);
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
            let Some((x, y)) = placer.place(&mut rng, angle, size, 28) else {
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
                    &mut font,
                    &Item {
                        s,
                        x,
                        y,
                        size,
                        angle,
                        mode,
                    },
                    &mut rng,
                );
                record(&mut truth, &code, format!("{mode}@{angle}"), page);
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
                let mode =
                    ["plain", "chars", "split", "tj_kern", "charspace"][rng.random_range(0..5)];
                draw_text(
                    &mut c,
                    &mut font,
                    &Item {
                        s,
                        x,
                        y,
                        size,
                        angle,
                        mode,
                    },
                    &mut rng,
                );
                truth.absent.push(base);
            } else {
                let s = DECOYS[rng.random_range(0..DECOYS.len())].to_string();
                let mode = ["plain", "chars", "split"][rng.random_range(0..3)];
                draw_text(
                    &mut c,
                    &mut font,
                    &Item {
                        s,
                        x,
                        y,
                        size,
                        angle,
                        mode,
                    },
                    &mut rng,
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
                    record(&mut truth, &code, "markup@0".into(), page);
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
        kids.push(page_id);
    }
    finish_font(&mut pdf, &font);
    let kids_s: Vec<String> = kids.iter().map(|k| format!("{k} 0 R")).collect();
    pdf.set(
        pages_id,
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids_s.join(" "),
            kids.len()
        ),
    );
    let root = pdf.add(format!("<< /Type /Catalog /Pages {pages_id} 0 R >>"));
    let enc = Encryption {
        user_password: String::new(),
        owner_password: "owner-secret".into(),
    };
    let bytes = pdf.finish(root, if encrypted { Some(&enc) } else { None });
    (bytes, truth)
}
