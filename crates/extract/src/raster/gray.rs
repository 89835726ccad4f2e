//! An 8-bit gray picture and what OCR needs done to it: scaling, filtering, cropping,
//! turning and placing it as the page shows it.

/// An 8-bit gray picture, rows top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct Gray {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
    /// Pixels per inch on the page (0: not known).
    pub dpi: f32,
}

impl Gray {
    /// Turned clockwise by `degrees` (a multiple of 90).
    pub fn rotated(self, degrees: i64) -> Gray {
        match degrees.rem_euclid(360) {
            // A step right goes down, a step down goes left.
            90 => self.placed((0, 1), (-1, 0)),
            180 => {
                let mut data = self.data;
                data.reverse();
                Gray { data, ..self }
            }
            270 => self.placed((0, -1), (1, 0)),
            _ => self,
        }
    }

    /// The picture laid out again: a step right in it becomes a step `col` in the result, a step
    /// down becomes a step `row` (each one of (±1, 0) and (0, ±1), at right angles): any turn by
    /// a multiple of 90 degrees, with or without a mirror.
    pub fn placed(self, col: (i8, i8), row: (i8, i8)) -> Gray {
        let (w, h) = (self.width, self.height);
        if col == (1, 0) && row == (0, 1) {
            return self;
        }
        // Axes must be at right angles; anything else is left as it is.
        if col.0 * row.0 + col.1 * row.1 != 0 || col.0.abs() + col.1.abs() != 1 {
            return self;
        }
        let (ow, oh) = if col.0 != 0 { (w, h) } else { (h, w) };
        // Where pixel (0, 0) lands, and the step in the output buffer for a step right and down.
        let coord = |step: i8, n: usize| if step < 0 { n - 1 } else { 0 };
        let x0 = coord(col.0, w).max(coord(row.0, h));
        let y0 = coord(col.1, w).max(coord(row.1, h));
        let stride = |v: (i8, i8)| v.0 as isize + v.1 as isize * ow as isize;
        let (dc, dr) = (stride(col), stride(row));
        let mut out = vec![0u8; w * h];
        let start = (x0 + y0 * ow) as isize;
        for y in 0..h {
            let mut at = start + dr * y as isize;
            for x in 0..w {
                out[at as usize] = self.data[y * w + x];
                at += dc;
            }
        }
        Gray {
            width: ow,
            height: oh,
            data: out,
            dpi: self.dpi,
        }
    }

    /// The part of the picture from (`x`, `y`), `w` by `h` pixels (cut at the picture's edges).
    pub fn crop(&self, x: usize, y: usize, w: usize, h: usize) -> Gray {
        let (x, y) = (x.min(self.width), y.min(self.height));
        let (w, h) = (w.min(self.width - x), h.min(self.height - y));
        let mut data = Vec::with_capacity(w * h);
        for row in self.data.chunks_exact(self.width.max(1)).skip(y).take(h) {
            data.extend_from_slice(&row[x..x + w]);
        }
        Gray {
            width: w,
            height: h,
            data,
            dpi: self.dpi,
        }
    }

    /// Half the size each way, each pixel the mean of four.
    pub fn halved(&self) -> Gray {
        let (w, h) = (self.width / 2, self.height / 2);
        let mut data = Vec::with_capacity(w * h);
        for y in 0..h {
            let (r0, r1) = (2 * y * self.width, (2 * y + 1) * self.width);
            for x in 0..w {
                let sum = self.data[r0 + 2 * x] as u32
                    + self.data[r0 + 2 * x + 1] as u32
                    + self.data[r1 + 2 * x] as u32
                    + self.data[r1 + 2 * x + 1] as u32;
                data.push(((sum + 2) / 4) as u8);
            }
        }
        Gray {
            width: w,
            height: h,
            data,
            dpi: self.dpi / 2.0,
        }
    }

    /// Scaled by `factor` each way, interpolated (bilinear; a factor under ½ skips pixels, so
    /// shrink with [`Gray::halved`] first).
    pub fn scaled(&self, factor: f32) -> Gray {
        let (w, h) = (self.width, self.height);
        let (ow, oh) = (
            ((w as f32 * factor).round() as usize).max(1),
            ((h as f32 * factor).round() as usize).max(1),
        );
        if w == 0 || h == 0 || (ow, oh) == (w, h) {
            return self.clone();
        }
        // Source position of output pixel o, in 1/256 pixel: its centre mapped back.
        let at = |o: usize, n: usize, on: usize| -> (usize, usize, u32) {
            let pos = ((o as f32 + 0.5) * n as f32 / on as f32 - 0.5).max(0.0);
            let fixed = (pos * 256.0) as usize;
            let base = (fixed / 256).min(n - 1);
            (base, (base + 1).min(n - 1), (fixed % 256) as u32)
        };
        let xs: Vec<(usize, usize, u32)> = (0..ow).map(|o| at(o, w, ow)).collect();
        let mut data = vec![0u8; ow * oh];
        for oy in 0..oh {
            let (y0, y1, fy) = at(oy, h, oh);
            let (r0, r1) = (
                &self.data[y0 * w..y0 * w + w],
                &self.data[y1 * w..y1 * w + w],
            );
            for (ox, &(x0, x1, fx)) in xs.iter().enumerate() {
                let top = r0[x0] as u32 * (256 - fx) + r0[x1] as u32 * fx;
                let bottom = r1[x0] as u32 * (256 - fx) + r1[x1] as u32 * fx;
                data[oy * ow + ox] = ((top * (256 - fy) + bottom * fy + (1 << 15)) >> 16) as u8;
            }
        }
        Gray {
            width: ow,
            height: oh,
            data,
            dpi: self.dpi * ow as f32 / w as f32,
        }
    }

    /// Turned clockwise by any angle, on a canvas large enough to hold the whole picture; the
    /// corners it uncovers are white. Interpolated (bilinear), so text keeps its strokes.
    pub fn turned_by(&self, degrees: f64) -> Gray {
        let (w, h) = (self.width, self.height);
        let (sin, cos) = degrees.to_radians().sin_cos();
        // Sides a hair over a whole pixel count are rounding, not a column of their own.
        let side = |a: f64, b: f64| ((a + b) - 1e-6).ceil().max(1.0) as usize;
        let ow = side(w as f64 * cos.abs(), h as f64 * sin.abs());
        let oh = side(w as f64 * sin.abs(), h as f64 * cos.abs());
        let mut data = vec![255u8; ow * oh];
        let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
        let (ocx, ocy) = (ow as f64 / 2.0, oh as f64 / 2.0);
        for oy in 0..oh {
            let dy = oy as f64 + 0.5 - ocy;
            let row = &mut data[oy * ow..(oy + 1) * ow];
            for (ox, px) in row.iter_mut().enumerate() {
                let dx = ox as f64 + 0.5 - ocx;
                // Turning clockwise (y down) takes a step right to (cos, sin): back the other way.
                let sx = dx * cos + dy * sin + cx - 0.5;
                let sy = -dx * sin + dy * cos + cy - 0.5;
                if sx <= -1.0 || sy <= -1.0 || sx >= w as f64 || sy >= h as f64 {
                    continue;
                }
                let (x0, y0) = (sx.floor(), sy.floor());
                let (fx, fy) = (sx - x0, sy - y0);
                // Outside the picture counts as white, so its edges fade into the canvas.
                let at = |x: f64, y: f64| -> f64 {
                    if x < 0.0 || y < 0.0 || x >= w as f64 || y >= h as f64 {
                        255.0
                    } else {
                        self.data[y as usize * w + x as usize] as f64
                    }
                };
                let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1.0, y0) * fx;
                let bottom = at(x0, y0 + 1.0) * (1.0 - fx) + at(x0 + 1.0, y0 + 1.0) * fx;
                *px = (top * (1.0 - fy) + bottom * fy).round() as u8;
            }
        }
        Gray {
            width: ow,
            height: oh,
            data,
            dpi: self.dpi,
        }
    }

    /// Each pixel the median of its 3 × 3 neighbourhood (edges kept): takes out a scanner's
    /// specks and grain, keeps strokes. Done in place: only the two rows above the one being
    /// filtered are kept as they were, so a large sheet is not copied for it.
    pub fn median3(mut self) -> Gray {
        let (w, h) = (self.width, self.height);
        if w < 3 || h < 3 {
            return self;
        }
        let sort3 = |a: u8, b: u8, c: u8| {
            let (a, b) = (a.min(b), a.max(b));
            let (b, c) = (b.min(c), b.max(c));
            (a.min(b), a.max(b), c)
        };
        let med3 = |a: u8, b: u8, c: u8| sort3(a, b, c).1;
        // Each column of three sorted once; the median of nine is then the median of the
        // largest low, the middle middle and the smallest high of three columns.
        let mut cols = vec![(0u8, 0u8, 0u8); w];
        // The unfiltered row above the one being filtered, and that row itself.
        let mut up = self.data[..w].to_vec();
        let mut row = self.data[w..2 * w].to_vec();
        for y in 1..h - 1 {
            let down = &self.data[(y + 1) * w..(y + 2) * w];
            for (x, c) in cols.iter_mut().enumerate() {
                *c = sort3(up[x], row[x], down[x]);
            }
            let out = &mut self.data[y * w..(y + 1) * w];
            for x in 1..w - 1 {
                let (a, b, c) = (cols[x - 1], cols[x], cols[x + 1]);
                out[x] = med3(
                    a.0.max(b.0).max(c.0),
                    med3(a.1, b.1, c.1),
                    a.2.min(b.2).min(c.2),
                );
            }
            std::mem::swap(&mut up, &mut row);
            row.copy_from_slice(&self.data[(y + 1) * w..(y + 2) * w]);
        }
        self
    }

    /// Made smaller, if need be, so that no side is over `max_side` pixels (halved while twice
    /// too large, then scaled).
    pub fn fit_within(self, max_side: usize) -> Gray {
        let mut g = self;
        while g.width.max(g.height) > 2 * max_side.max(1) {
            g = g.halved();
        }
        let longest = g.width.max(g.height);
        if longest > max_side {
            // Rounding could leave a pixel over: aim a little under.
            g = g.scaled((max_side as f32 - 0.5) / longest as f32);
        }
        g
    }

    /// Twice the size each way, interpolated (bilinear).
    pub fn doubled(&self) -> Gray {
        let (w, h) = (self.width, self.height);
        let (ow, oh) = (w * 2, h * 2);
        let mut data = vec![0u8; ow * oh];
        // Output pixel o samples the source at (o - 0.5) / 2: in quarter pixels, 2o - 1.
        let at = |o: usize, n: usize| -> (usize, usize, u32) {
            let q = (o * 2).saturating_sub(1);
            let base = q / 4;
            let frac = (q % 4) as u32;
            (base.min(n - 1), (base + 1).min(n - 1), frac)
        };
        for oy in 0..oh {
            let (y0, y1, fy) = at(oy, h);
            for ox in 0..ow {
                let (x0, x1, fx) = at(ox, w);
                let p = |x: usize, y: usize| self.data[y * w + x] as u32;
                let top = p(x0, y0) * (4 - fx) + p(x1, y0) * fx;
                let bottom = p(x0, y1) * (4 - fx) + p(x1, y1) * fx;
                data[oy * ow + ox] = ((top * (4 - fy) + bottom * fy + 8) / 16) as u8;
            }
        }
        Gray {
            width: ow,
            height: oh,
            data,
            dpi: self.dpi * 2.0,
        }
    }

    /// The picture as a binary PGM file.
    pub fn to_pgm(&self) -> Vec<u8> {
        let mut out = pgm_header(self.width, self.height);
        out.extend_from_slice(&self.data);
        out
    }
}

/// The header of a `width` × `height` picture as a binary PGM file (P5, which every OCR engine
/// reads); the pixels follow it row by row, one byte each.
pub fn pgm_header(width: usize, height: usize) -> Vec<u8> {
    format!("P5\n{width} {height}\n255\n").into_bytes()
}
