//! Text items: drawn in a font's frame at any angle, and placed clear of pipe lines.

use super::*;

pub(super) struct Item {
    pub(super) s: String,
    pub(super) x: f32,
    pub(super) y: f32,
    pub(super) size: f32,
    pub(super) angle: i32,
    pub(super) mode: &'static str,
}

/// Writes one text item into `c`, in the frame of `font`.
pub(super) fn draw_text(c: &mut String, font: &mut FontRes, it: &Item, rng: &mut StdRng) {
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
pub(super) fn crosses(
    pipes: &[[f32; 4]],
    x: f32,
    y: f32,
    angle: i32,
    width: f32,
    size: f32,
) -> bool {
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

pub(super) struct Placer {
    pub(super) boxes: Vec<[f32; 4]>,
    pub(super) w: f32,
    pub(super) h: f32,
}

impl Placer {
    pub(super) fn place(
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
