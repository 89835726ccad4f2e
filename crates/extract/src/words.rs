//! Glyphs to words and lines, at any angle.
//!
//! Glyphs are grouped by writing direction (half-degree buckets) and baseline, ordered along the
//! direction, and joined while the gap to the previous glyph's advance is small against the
//! font size. Character spacing (`Tc`) is part of the advance, so letter-spaced text stays one
//! word; a space glyph or a visible gap splits.

use crate::interp::Glyph;

/// A gap over this share of the font size is a word break. Space glyphs of the common fonts
/// are 0.25–0.6 em; kerning and per-glyph placement jitter stay under 0.1 em.
const SPLIT_GAP: f32 = 0.15;
/// Glyphs overlapping the previous one by more than this share of the size start a new word.
const OVERLAP: f32 = 0.35;
/// Baselines closer than this share of the size are one line.
const SAME_LINE: f32 = 0.3;

struct Placed {
    bucket: i32,
    u: f32,
    v: f32,
    g: Glyph,
}

/// Lays the page's glyphs out as text: words joined by spaces, lines by newlines.
pub fn layout(glyphs: &[Glyph]) -> String {
    let mut placed: Vec<Placed> = glyphs
        .iter()
        .filter(|g| g.x.is_finite() && g.y.is_finite() && g.size.is_finite())
        .map(|g| {
            let angle = g.dy.atan2(g.dx).to_degrees();
            let mut bucket = (angle * 2.0).round() as i32;
            if bucket <= -360 {
                bucket += 720;
            }
            let rad = (bucket as f32 / 2.0).to_radians();
            let (s, c) = rad.sin_cos();
            Placed {
                bucket,
                u: g.x * c + g.y * s,
                v: -g.x * s + g.y * c,
                g: *g,
            }
        })
        .collect();
    // Direction, then baseline from the top of the page down.
    placed.sort_by(|a, b| a.bucket.cmp(&b.bucket).then(b.v.total_cmp(&a.v)));
    let mut out = String::with_capacity(glyphs.len() + glyphs.len() / 4);
    let mut i = 0;
    while i < placed.len() {
        // One line: same bucket, baselines chained within tolerance.
        let mut j = i + 1;
        while j < placed.len()
            && placed[j].bucket == placed[i].bucket
            && placed[j - 1].v - placed[j].v
                <= SAME_LINE * placed[j].g.size.max(placed[j - 1].g.size).max(0.5)
        {
            j += 1;
        }
        let line = &mut placed[i..j];
        line.sort_by(|a, b| a.u.total_cmp(&b.u));
        write_line(line, &mut out);
        out.push('\n');
        i = j;
    }
    out
}

fn write_line(line: &[Placed], out: &mut String) {
    let mut prev: Option<&Placed> = None;
    let mut pending_space = false;
    for p in line {
        if p.g.ch.is_whitespace() || p.g.ch.is_control() {
            pending_space = true;
            continue;
        }
        if let Some(q) = prev {
            let size = p.g.size.max(q.g.size).max(0.01);
            let gap = p.u - (q.u + q.g.adv);
            if p.g.ch == q.g.ch
                && (p.u - q.u).abs() < 0.05 * size
                && (p.v - q.v).abs() < 0.05 * size
            {
                // The same glyph drawn twice (fake bold, overprint): keep one.
                continue;
            }
            if pending_space || gap > SPLIT_GAP * size || gap < -OVERLAP * size {
                out.push(' ');
            }
        }
        out.push(p.g.ch);
        pending_space = false;
        prev = Some(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &str, x0: f32, angle: f32, gap_after: &[(usize, f32)]) -> Vec<Glyph> {
        let (dy, dx) = angle.to_radians().sin_cos();
        let mut u = x0;
        let mut v = vec![];
        for (i, ch) in s.chars().enumerate() {
            v.push(Glyph {
                ch,
                x: u * dx,
                y: u * dy + 100.0,
                dx,
                dy,
                adv: 6.0,
                size: 10.0,
            });
            u += 6.0
                + gap_after
                    .iter()
                    .find(|(k, _)| *k == i)
                    .map(|g| g.1)
                    .unwrap_or(0.0);
        }
        v
    }

    #[test]
    fn joins_touching_glyphs_and_splits_at_gaps() {
        for angle in [0.0, 90.0, 270.0, 30.0, 150.0, 330.0, 45.0] {
            let g = run("HC-1042AB", 0.0, angle, &[(6, 3.0)]);
            assert_eq!(layout(&g).trim(), "HC-1042 AB", "angle {angle}");
            let g = run("HC-1042", 0.0, angle, &[(2, 0.5), (3, -0.2)]);
            assert_eq!(layout(&g).trim(), "HC-1042", "angle {angle}");
        }
    }

    #[test]
    fn separate_lines_and_directions_do_not_mix() {
        let mut g = run("AB", 0.0, 0.0, &[]);
        let mut other = run("CD", 0.0, 0.0, &[]);
        for o in &mut other {
            o.y -= 14.0;
        }
        g.extend(other);
        g.extend(run("EF", 0.0, 90.0, &[]));
        let text = layout(&g);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines.contains(&"AB") && lines.contains(&"CD") && lines.contains(&"EF"),
            "{text}"
        );
    }
}
