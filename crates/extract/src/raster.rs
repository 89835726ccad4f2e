//! The picture of a scanned page, for OCR: the page's largest image, decoded to 8-bit gray and
//! placed as the page shows it: turned or mirrored by the matrix it is drawn with, then turned by
//! the page's `/Rotate`. Scans are one image per page: a scanner's JPEG, a fax
//! coded sheet, or raw samples under Flate or LZW (with or without predictors; 1 to 16 bits;
//! gray, RGB, CMYK, ICC-based or indexed colour).

use lopdf::{Dictionary, Object, Stream};
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use crate::interp::{mul, Matrix, IDENTITY};
use crate::{doc, load, page_list, ExtractError, Limits};

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

/// Pixels a picture may have (an A0 sheet at 600 ppi is about 300 million).
const MAX_PIXELS: usize = 400_000_000;

fn filters(s: &Stream) -> Vec<Vec<u8>> {
    match s.dict.get(b"Filter") {
        Ok(Object::Name(n)) => vec![n.clone()],
        Ok(Object::Array(a)) => a
            .iter()
            .filter_map(|o| o.as_name().ok().map(<[u8]>::to_vec))
            .collect(),
        _ => vec![],
    }
}

fn int(ctx: &doc::Ctx, d: &Dictionary, key: &[u8]) -> Option<i64> {
    d.get(key)
        .ok()
        .and_then(|o| ctx.resolve(o).ok())
        .and_then(|o| o.as_i64().ok())
}

/// Decodes one image XObject to gray, where its encoding is one a scan uses.
fn decode(ctx: &doc::Ctx, s: &Stream) -> Result<Option<Gray>, ExtractError> {
    let (Some(w), Some(h)) = (int(ctx, &s.dict, b"Width"), int(ctx, &s.dict, b"Height")) else {
        return Ok(None);
    };
    let (w, h) = (
        usize::try_from(w).unwrap_or(0),
        usize::try_from(h).unwrap_or(0),
    );
    if w == 0 || h == 0 || w.saturating_mul(h) > MAX_PIXELS {
        return Ok(None);
    }
    let f = filters(s);
    if f.last().map(Vec::as_slice) == Some(b"DCTDecode") {
        // Filters before DCT (rare) are undone first.
        let jpeg = if f.len() == 1 {
            s.content.clone()
        } else {
            ctx.stream_data(s)?
        };
        let opts = DecoderOptions::default()
            .jpeg_set_out_colorspace(ColorSpace::Luma)
            .set_max_width(w.max(1) * 2)
            .set_max_height(h.max(1) * 2);
        let mut dec = JpegDecoder::new_with_options(ZCursor::new(&jpeg), opts);
        let data = dec
            .decode()
            .map_err(|e| ExtractError::Malformed(format!("scanned image: {e:?}")))?;
        let info = dec
            .info()
            .ok_or_else(|| ExtractError::Malformed("scanned image: no size".into()))?;
        let (iw, ih) = (info.width as usize, info.height as usize);
        if data.len() != iw * ih {
            return Ok(None);
        }
        return Ok(Some(Gray {
            width: iw,
            height: ih,
            data,
            dpi: 0.0,
        }));
    }
    if f.last().map(Vec::as_slice) == Some(b"CCITTFaxDecode") {
        return ccitt(ctx, s, w, h);
    }
    let bpc = int(ctx, &s.dict, b"BitsPerComponent").unwrap_or(8);
    if !matches!(bpc, 1 | 2 | 4 | 8 | 16) {
        return Ok(None);
    }
    let Some(space) = s
        .dict
        .get(b"ColorSpace")
        .ok()
        .and_then(|o| color_space(ctx, o))
    else {
        return Ok(None);
    };
    // Raw samples under Flate or LZW (predictors are undone by the stream decoder); anything
    // else (JPEG 2000, JBIG2) is not read here.
    if !f
        .iter()
        .all(|n| matches!(n.as_slice(), b"FlateDecode" | b"LZWDecode"))
    {
        return Ok(None);
    }
    let raw = if f.is_empty() {
        s.content.clone()
    } else {
        ctx.stream_data(s)?
    };
    // An image whose /Decode starts with 1 shows its samples the other way round.
    let inverted = matches!(
        s.dict.get(b"Decode").ok().and_then(|o| o.as_array().ok()),
        Some(a) if a.first().and_then(|v| v.as_float().ok().or(v.as_i64().ok().map(|i| i as f32))) == Some(1.0)
    ) && !matches!(space, Space::Indexed(..));
    let data = match samples_to_gray(&raw, w, h, bpc as usize, &space) {
        Some(mut d) => {
            if inverted {
                d.iter_mut().for_each(|v| *v = 255 - *v);
            }
            d
        }
        None => return Ok(None),
    };
    Ok(Some(Gray {
        width: w,
        height: h,
        data,
        dpi: 0.0,
    }))
}

/// The colour spaces a scan's raw pixels come in.
#[derive(Debug, Clone, PartialEq)]
enum Space {
    Gray,
    Rgb,
    Cmyk,
    /// A palette: each sample is an index into `table`, entries in the base space.
    Indexed(Box<Space>, Vec<u8>),
}

impl Space {
    fn components(&self) -> usize {
        match self {
            Space::Gray | Space::Indexed(..) => 1,
            Space::Rgb => 3,
            Space::Cmyk => 4,
        }
    }
}

fn color_space(ctx: &doc::Ctx, o: &Object) -> Option<Space> {
    match ctx.resolve(o).ok()? {
        Object::Name(n) => match n.as_slice() {
            b"DeviceGray" | b"CalGray" | b"G" => Some(Space::Gray),
            b"DeviceRGB" | b"CalRGB" | b"RGB" => Some(Space::Rgb),
            b"DeviceCMYK" | b"CMYK" => Some(Space::Cmyk),
            _ => None,
        },
        Object::Array(a) => {
            let kind = a.first().and_then(|k| k.as_name().ok())?;
            match kind {
                b"CalGray" => Some(Space::Gray),
                b"CalRGB" => Some(Space::Rgb),
                // An ICC profile stands for as many components as it says (/N).
                b"ICCBased" => {
                    let Object::Stream(p) = ctx.resolve(a.get(1)?).ok()? else {
                        return None;
                    };
                    match int(ctx, &p.dict, b"N")? {
                        1 => Some(Space::Gray),
                        3 => Some(Space::Rgb),
                        4 => Some(Space::Cmyk),
                        _ => None,
                    }
                }
                b"Indexed" | b"I" => {
                    let base = color_space(ctx, a.get(1)?)?;
                    if matches!(base, Space::Indexed(..)) {
                        return None;
                    }
                    let table = match ctx.resolve(a.get(3)?).ok()? {
                        Object::String(t, _) => t.clone(),
                        Object::Stream(t) => ctx.stream_data(t).ok()?,
                        _ => return None,
                    };
                    Some(Space::Indexed(Box::new(base), table))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// One colour in `space` (components scaled to 0–255) as a gray level.
fn luma(space: &Space, c: &[u8]) -> u8 {
    match (space, c) {
        (Space::Rgb, [r, g, b, ..]) => {
            ((*r as u32 * 299 + *g as u32 * 587 + *b as u32 * 114) / 1000) as u8
        }
        (Space::Cmyk, [cy, m, y, k, ..]) => {
            let ink = (*cy as u32 * 30 + *m as u32 * 59 + *y as u32 * 11) / 100 + *k as u32;
            255 - ink.min(255) as u8
        }
        (_, [v, ..]) => *v,
        _ => 255,
    }
}

/// Packed samples (`bpc` bits each, rows padded to whole bytes) to 8-bit gray.
fn samples_to_gray(raw: &[u8], w: usize, h: usize, bpc: usize, space: &Space) -> Option<Vec<u8>> {
    let comps = space.components();
    let stride = (w.checked_mul(comps)?.checked_mul(bpc)?).div_ceil(8);
    if raw.len() < stride.checked_mul(h)? {
        return None;
    }
    let max = (1u32 << bpc.min(16)) - 1;
    let sample = |row: &[u8], i: usize| -> u32 {
        match bpc {
            8 => row[i] as u32,
            16 => u16::from_be_bytes([row[2 * i], row[2 * i + 1]]) as u32,
            _ => {
                let bit = i * bpc;
                let byte = row[bit / 8] as u32;
                (byte >> (8 - bpc - bit % 8)) & max
            }
        }
    };
    let mut out = Vec::with_capacity(w * h);
    let mut px = [0u8; 4];
    for row in raw.chunks_exact(stride).take(h) {
        for x in 0..w {
            let v = match space {
                Space::Indexed(base, table) => {
                    let n = base.components();
                    let at = sample(row, x) as usize * n;
                    match table.get(at..at + n) {
                        Some(entry) => luma(base, entry),
                        None => 255,
                    }
                }
                _ => {
                    for (c, p) in px.iter_mut().enumerate().take(comps) {
                        let v = sample(row, x * comps + c);
                        // 16 bits: the high byte, as viewers show it.
                        *p = if bpc == 16 { v >> 8 } else { v * 255 / max } as u8;
                    }
                    luma(space, &px[..comps])
                }
            };
            out.push(v);
        }
    }
    Some(out)
}

/// A fax-coded (CCITT Group 4, or Group 3 one-dimensional) bilevel image, as scanners store
/// black-and-white sheets.
fn ccitt(ctx: &doc::Ctx, s: &Stream, w: usize, h: usize) -> Result<Option<Gray>, ExtractError> {
    let parms = s
        .dict
        .get(b"DecodeParms")
        .ok()
        .and_then(|o| ctx.resolve(o).ok())
        .and_then(|o| match o {
            Object::Dictionary(d) => Some(d.clone()),
            Object::Array(a) => a
                .last()
                .and_then(|o| ctx.resolve(o).ok()?.as_dict().ok().cloned()),
            _ => None,
        })
        .unwrap_or_default();
    let k = int(ctx, &parms, b"K").unwrap_or(0);
    let columns = int(ctx, &parms, b"Columns").unwrap_or(1728) as usize;
    let black_is_1 = matches!(parms.get(b"BlackIs1"), Ok(Object::Boolean(true)));
    // An image whose /Decode is [1 0] shows its samples the other way round.
    let inverted = matches!(
        s.dict.get(b"Decode").ok().and_then(|o| o.as_array().ok()),
        Some(a) if a.first().and_then(|v| v.as_i64().ok().or(v.as_float().ok().map(|f| f as i64))) == Some(1)
    );
    let (Ok(width32), true) = (u32::try_from(columns), columns >= w) else {
        return Ok(None);
    };
    let mut data = Vec::with_capacity(w * h);
    let mut line = |transitions: &[u32]| {
        if data.len() >= w * h {
            return;
        }
        for (x, c) in fax::decoder::pels(transitions, width32).enumerate() {
            if x >= w {
                break;
            }
            let black = c == fax::Color::Black;
            // Samples as the filter gives them: 0 for black unless BlackIs1; 1 shows white.
            let sample_white = black == black_is_1;
            let white = sample_white != inverted;
            data.push(if white { 255 } else { 0 });
        }
    };
    // The filter's input is the raw stream (nothing before it in the filter chain).
    let input = s.content.iter().copied();
    let done = if k < 0 {
        fax::decoder::decode_g4(input, width32, u32::try_from(h).ok(), &mut line)
    } else if k == 0 {
        fax::decoder::decode_g3(input, &mut line)
    } else {
        // Two-dimensional Group 3 is not read.
        return Ok(None);
    };
    if done.is_none() && data.is_empty() {
        return Err(ExtractError::Malformed(
            "fax-coded image cannot be decoded".into(),
        ));
    }
    // A short image (a damaged stream) is completed in white.
    data.resize(w * h, 255);
    Ok(Some(Gray {
        width: w,
        height: h,
        data,
        dpi: 0.0,
    }))
}

/// Picture files: PNG, JPEG and TIFF (one page per TIFF image).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RasterKind {
    Png,
    Jpeg,
    Tiff,
}

/// What kind of picture file `bytes` is, by its signature.
pub fn raster_kind(bytes: &[u8]) -> Option<RasterKind> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(RasterKind::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(RasterKind::Jpeg)
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Some(RasterKind::Tiff)
    } else {
        None
    }
}

fn bad(e: impl std::fmt::Debug) -> ExtractError {
    ExtractError::Malformed(format!("picture: {e:?}"))
}

fn too_big(w: usize, h: usize) -> Result<(), ExtractError> {
    if w.saturating_mul(h) > MAX_PIXELS {
        return Err(ExtractError::LimitExceeded(format!(
            "a picture of {w} x {h} pixels"
        )));
    }
    Ok(())
}

/// Any 8-bit pixels of `channels` samples to gray (alpha dropped).
fn to_gray(data: &[u8], channels: usize) -> Vec<u8> {
    match channels {
        1 => data.to_vec(),
        2 => data.chunks_exact(2).map(|p| p[0]).collect(),
        _ => data
            .chunks_exact(channels)
            .map(|p| luma(&Space::Rgb, p))
            .collect(),
    }
}

/// The size in pixels (width, height) of each page of a picture file, from its headers alone.
pub fn raster_page_sizes(bytes: &[u8]) -> Result<Vec<(usize, usize)>, ExtractError> {
    match raster_kind(bytes) {
        Some(RasterKind::Jpeg) => {
            let mut dec = JpegDecoder::new(ZCursor::new(bytes));
            dec.decode_headers().map_err(bad)?;
            let info = dec.info().ok_or_else(|| bad("no size"))?;
            Ok(vec![(info.width as usize, info.height as usize)])
        }
        Some(RasterKind::Png) => {
            let mut dec = zune_png::PngDecoder::new(ZCursor::new(bytes));
            dec.decode_headers().map_err(bad)?;
            Ok(vec![dec.dimensions().ok_or_else(|| bad("no size"))?])
        }
        Some(RasterKind::Tiff) => {
            let mut d = tiff::decoder::Decoder::new(std::io::Cursor::new(bytes)).map_err(bad)?;
            let mut sizes = vec![];
            loop {
                let (w, h) = d.dimensions().map_err(bad)?;
                sizes.push((w as usize, h as usize));
                if !d.more_images() || sizes.len() >= 10_000 {
                    return Ok(sizes);
                }
                d.next_image().map_err(bad)?;
            }
        }
        None => Err(ExtractError::NotPdf("not a picture".into())),
    }
}

/// The pages of a picture file (a TIFF has one per image).
pub fn raster_pages(bytes: &[u8]) -> Result<u32, ExtractError> {
    match raster_kind(bytes) {
        Some(RasterKind::Tiff) => {
            let mut d = tiff::decoder::Decoder::new(std::io::Cursor::new(bytes)).map_err(bad)?;
            let mut n = 1;
            while d.more_images() && n < 10_000 {
                d.next_image().map_err(bad)?;
                n += 1;
            }
            Ok(n)
        }
        Some(_) => Ok(1),
        None => Err(ExtractError::NotPdf("not a picture".into())),
    }
}

/// Page `n` (1-based) of a picture file, in gray.
fn raster_page(bytes: &[u8], n: u32) -> Result<Option<Gray>, ExtractError> {
    match raster_kind(bytes) {
        Some(RasterKind::Jpeg) if n == 1 => {
            let opts = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::Luma);
            let mut dec = JpegDecoder::new_with_options(ZCursor::new(bytes), opts);
            dec.decode_headers().map_err(bad)?;
            let info = dec.info().ok_or_else(|| bad("no size"))?;
            too_big(info.width as usize, info.height as usize)?;
            let data = dec.decode().map_err(bad)?;
            Ok(Some(Gray {
                width: info.width as usize,
                height: info.height as usize,
                data,
                dpi: 0.0,
            }))
        }
        Some(RasterKind::Png) if n == 1 => {
            let opts = DecoderOptions::default()
                .png_set_strip_to_8bit(true)
                .png_set_add_alpha_channel(false);
            let mut dec = zune_png::PngDecoder::new_with_options(ZCursor::new(bytes), opts);
            dec.decode_headers().map_err(bad)?;
            let (w, h) = dec.dimensions().ok_or_else(|| bad("no size"))?;
            too_big(w, h)?;
            let cs = dec.colorspace().ok_or_else(|| bad("no colour space"))?;
            let raw = dec.decode_raw().map_err(bad)?;
            let channels = cs.num_components();
            if raw.len() < w * h * channels {
                return Err(bad("short pixel data"));
            }
            Ok(Some(Gray {
                width: w,
                height: h,
                data: to_gray(&raw[..w * h * channels], channels),
                dpi: 0.0,
            }))
        }
        Some(RasterKind::Tiff) => {
            use tiff::tags::Tag;
            use tiff::ColorType;
            let mut d = tiff::decoder::Decoder::new(std::io::Cursor::new(bytes)).map_err(bad)?;
            for _ in 1..n {
                if !d.more_images() {
                    return Ok(None);
                }
                d.next_image().map_err(bad)?;
            }
            let (w, h) = d.dimensions().map_err(bad)?;
            let (w, h) = (w as usize, h as usize);
            too_big(w, h)?;
            let color = d.colortype().map_err(bad)?;
            // 0: white is zero (faxes).
            let white_is_zero = d.get_tag_u32(Tag::PhotometricInterpretation).ok() == Some(0);
            let tiff::decoder::DecodingResult::U8(raw) = d.read_image().map_err(bad)? else {
                return Ok(None);
            };
            let mut data = match color {
                ColorType::Gray(8) => to_gray(&raw, 1),
                ColorType::GrayA(8) => to_gray(&raw, 2),
                ColorType::RGB(8) => to_gray(&raw, 3),
                ColorType::RGBA(8) => to_gray(&raw, 4),
                ColorType::Gray(1) => {
                    // Rows of packed bits, each row whole bytes; 1 is white here, as in gray.
                    let stride = w.div_ceil(8);
                    let mut out = Vec::with_capacity(w * h);
                    for y in 0..h {
                        for x in 0..w {
                            let byte = raw.get(y * stride + x / 8).copied().unwrap_or(0);
                            let bit = (byte >> (7 - x % 8)) & 1;
                            out.push(if bit == 1 { 255 } else { 0 });
                        }
                    }
                    out
                }
                _ => return Ok(None),
            };
            if white_is_zero {
                for p in data.iter_mut() {
                    *p = 255 - *p;
                }
            }
            if data.len() < w * h {
                return Err(bad("short pixel data"));
            }
            data.truncate(w * h);
            Ok(Some(Gray {
                width: w,
                height: h,
                data,
                dpi: 0.0,
            }))
        }
        _ => Ok(None),
    }
}

/// A page's MediaBox width and height, in points.
fn media_box(ctx: &doc::Ctx, page: &Dictionary) -> Option<(f32, f32)> {
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
        // How the picture is drawn: its matrix at its `Do` in the page's content.
        let matrix = match best {
            Some((name, _)) => crate::page_content(&ctx, page)
                .ok()
                .and_then(|content| image_matrix(&content, name, limits.max_ops_per_page)),
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

/// The matrix in force at the first `Do` of the XObject `name` in a page's content (q, Q and cm
/// followed; at most `max_ops` operators read).
fn image_matrix(content: &[u8], name: &[u8], max_ops: usize) -> Option<Matrix> {
    use crate::lexer::{Lexer, Operand, Token};
    let mut ctm = IDENTITY;
    let mut stack = vec![];
    let mut args: Vec<Operand> = vec![];
    for (ops, tok) in Lexer::new(content).enumerate() {
        if ops > max_ops {
            return None;
        }
        let op = match tok {
            Token::Operand(o) => {
                if args.len() < 8 {
                    args.push(o);
                }
                continue;
            }
            Token::InlineImage => {
                args.clear();
                continue;
            }
            Token::Op(op) => op,
        };
        match op {
            b"q" if stack.len() < 4096 => stack.push(ctm),
            b"Q" => ctm = stack.pop().unwrap_or(ctm),
            b"cm" if args.len() == 6 => {
                let n = |i: usize| args[i].num().unwrap_or(0.0);
                ctm = mul(&[n(0), n(1), n(2), n(3), n(4), n(5)], &ctm);
            }
            b"Do" if matches!(args.first(), Some(Operand::Name(n)) if *n == name) => {
                return Some(ctm);
            }
            _ => {}
        }
        args.clear();
    }
    None
}

/// Where a step right and a step down in a picture go on the upright page (see
/// [`Gray::placed`]), for a picture drawn with `m` on a page turned by `rotate`. A picture's
/// first row is the top of its unit square: its columns run along (a, b), its rows along
/// (-c, -d), in page space (y up); `/Rotate` turns the page clockwise for display.
fn layout(m: Matrix, rotate: i64) -> ((i8, i8), (i8, i8)) {
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

/// A picture file as a one-page PDF showing it, for a reader that takes PDFs of any size but
/// pictures only up to one (Textract: 10 MB for a PNG or JPEG, 500 MB for a PDF). A gray or RGB
/// JPEG of at most `max_side` pixels a side goes in as it is; any other picture as 8-bit gray,
/// made smaller if need be to `max_side`. The page is the picture at 300 dpi, made smaller if
/// need be so that no side is over `max_inches`.
pub fn picture_as_pdf(
    bytes: &[u8],
    max_inches: f32,
    max_side: usize,
) -> Result<Vec<u8>, ExtractError> {
    use lopdf::dictionary;
    let jpeg = match raster_kind(bytes) {
        Some(RasterKind::Jpeg) => {
            let mut dec = JpegDecoder::new(ZCursor::new(bytes));
            dec.decode_headers().map_err(bad)?;
            let info = dec.info().ok_or_else(|| bad("no size"))?;
            let (w, h) = (info.width as i64, info.height as i64);
            match info.components {
                _ if w.max(h) as usize > max_side => None,
                1 => Some((w, h, "DeviceGray")),
                3 => Some((w, h, "DeviceRGB")),
                _ => None,
            }
        }
        Some(_) => None,
        None => return Err(ExtractError::NotPdf("not a picture".into())),
    };
    match jpeg {
        Some((w, h, space)) => {
            let image = Stream::new(
                dictionary! {
                    "Type" => "XObject", "Subtype" => "Image", "Width" => w, "Height" => h,
                    "ColorSpace" => space, "BitsPerComponent" => 8, "Filter" => "DCTDecode",
                },
                bytes.to_vec(),
            );
            one_picture_pdf(image, (w, h), 300.0, max_inches)
        }
        None => {
            let g = raster_page(bytes, 1)?.ok_or_else(|| bad("no picture"))?;
            gray_as_pdf(g, max_inches, max_side)
        }
    }
}

/// A gray picture as a one-page PDF showing it at its resolution (300 dpi when not known), made
/// smaller if need be so that no side is over `max_inches`, and its picture so that no side is
/// over `max_side` pixels.
pub fn gray_as_pdf(g: Gray, max_inches: f32, max_side: usize) -> Result<Vec<u8>, ExtractError> {
    use lopdf::dictionary;
    // Made smaller, the picture keeps its size on the page: its resolution goes down.
    let dpi = if g.dpi > 0.0 { g.dpi } else { 300.0 };
    let g = Gray { dpi, ..g }.fit_within(max_side);
    let mut z = flate2::write::ZlibEncoder::new(vec![], flate2::Compression::fast());
    std::io::Write::write_all(&mut z, &g.data).map_err(bad)?;
    let data = z.finish().map_err(bad)?;
    let (w, h) = (g.width as i64, g.height as i64);
    let image = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => w, "Height" => h,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8, "Filter" => "FlateDecode",
        },
        data,
    );
    one_picture_pdf(image, (w, h), g.dpi, max_inches)
}

/// A one-page PDF showing `image` (`size` pixels) at `dpi`, or smaller so that no side is
/// over `max_inches`.
fn one_picture_pdf(
    image: Stream,
    (w, h): (i64, i64),
    dpi: f32,
    max_inches: f32,
) -> Result<Vec<u8>, ExtractError> {
    let longest = w.max(h).max(1) as f32;
    let inches_per_px = (1.0 / dpi).min(max_inches / longest);
    let (pw, ph) = (
        w as f32 * inches_per_px * 72.0,
        h as f32 * inches_per_px * 72.0,
    );
    let content = format!("q {pw:.3} 0 0 {ph:.3} 0 0 cm /Im0 Do Q").into_bytes();
    picture_page_pdf(image, content, (pw, ph), 0)
}

/// A one-page PDF of `size` points, turned by `rotate`, whose `content` draws `image` as `/Im0`.
fn picture_page_pdf(
    image: Stream,
    content: Vec<u8>,
    (pw, ph): (f32, f32),
    rotate: i64,
) -> Result<Vec<u8>, ExtractError> {
    use lopdf::{dictionary, Document};
    let mut doc = Document::with_version("1.7");
    let pages = doc.new_object_id();
    let image = doc.add_object(image);
    let content = doc.add_object(Stream::new(dictionary! {}, content));
    let page = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages,
        "MediaBox" => vec![0.into(), 0.into(), Object::Real(pw), Object::Real(ph)],
        "Rotate" => rotate,
        "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => image } },
        "Contents" => content,
    });
    doc.objects.insert(
        pages,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages });
    doc.trailer.set("Root", catalog);
    let mut out = vec![];
    doc.save_to(&mut out).map_err(bad)?;
    Ok(out)
}

/// Resolution vector pages are rendered at for OCR.
#[cfg(feature = "render")]
pub const RENDER_DPI: f32 = 300.0;
#[cfg(feature = "render")]
/// Largest rendering (an A0 sheet at 300 dpi is 139 million pixels): bigger pages are rendered
/// at a lower resolution.
const RENDER_MAX_PIXELS: f32 = 150_000_000.0;
#[cfg(feature = "render")]
/// Rows rendered at once: the full page is only ever held in gray, one byte a pixel.
const STRIP: u16 = 512;

#[cfg(feature = "render")]
/// Page `n` (1-based) rendered upright in gray at about `dpi`, by hayro (a PDF renderer in Rust),
/// one strip of rows at a time. None when the page cannot be rendered.
pub fn render_page(bytes: &[u8], n: u32, dpi: f32) -> Option<Gray> {
    use hayro::hayro_interpret::util::TransformExt;
    use hayro::hayro_interpret::InterpreterSettings;
    use hayro::hayro_syntax::Pdf;
    use hayro::kurbo::Affine;
    use hayro::vello_cpu::color::palette::css::WHITE;
    use hayro::vello_cpu::{Pixmap, RasterizerSettings, RenderContext, Resources, TargetInit};

    let pdf = Pdf::new(std::sync::Arc::new(bytes.to_vec())).ok()?;
    let page = pdf.pages().get(usize::try_from(n).ok()?.checked_sub(1)?)?;
    let (wpt, hpt) = page.render_dimensions();
    if !(wpt > 1.0 && hpt > 1.0) {
        return None;
    }
    let mut scale = dpi / 72.0;
    let pixels = wpt * hpt * scale * scale;
    if pixels > RENDER_MAX_PIXELS {
        scale *= (RENDER_MAX_PIXELS / pixels).sqrt();
    }
    let (w, h) = ((wpt * scale) as usize, (hpt * scale) as usize);
    let width = u16::try_from(w).ok()?;
    u16::try_from(h).ok()?;
    let cache = hayro::RenderCache::new();
    let interpreter = InterpreterSettings::default();
    let settings = hayro::RenderSettings::default();
    let base = Affine::scale(scale as f64) * page.initial_transform(true).to_kurbo();
    let mut data = Vec::with_capacity(w * h);
    let mut ctx = RenderContext::new(width, STRIP);
    let mut pixmap = Pixmap::new(width, STRIP);
    let mut resources = Resources::default();
    let mut y0 = 0usize;
    while y0 < h {
        let rows = (h - y0).min(STRIP as usize);
        ctx.reset_and_resize(width, rows as u16);
        pixmap.resize(width, rows as u16);
        let transform = Affine::translate((0.0, -(y0 as f64))) * base;
        // A renderer's bug on a hostile file must not take the reader down with it.
        let drawn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            hayro::render_into(page, &cache, &interpreter, &settings, &mut ctx, transform);
            ctx.flush();
            ctx.render_with(
                &mut pixmap,
                &mut resources,
                RasterizerSettings {
                    target_init: TargetInit::Clear(WHITE),
                    ..Default::default()
                },
            );
        }));
        if drawn.is_err() {
            return None;
        }
        data.extend(
            pixmap
                .data_as_u8_slice()
                .chunks_exact(4)
                .take(w * rows)
                .map(|p| luma(&Space::Rgb, p)),
        );
        y0 += rows;
    }
    Some(Gray {
        width: w,
        height: h,
        data,
        dpi: scale * 72.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotations_turn_the_picture_clockwise() {
        // 3 wide, 2 high:  a b c / d e f
        let g = Gray {
            width: 3,
            height: 2,
            data: b"abcdef".to_vec(),
            dpi: 0.0,
        };
        let r90 = g.clone().rotated(90);
        assert_eq!(
            (r90.width, r90.height, r90.data.as_slice()),
            (2, 3, &b"daebfc"[..])
        );
        let r270 = g.clone().rotated(270);
        assert_eq!(
            (r270.width, r270.height, r270.data.as_slice()),
            (2, 3, &b"cfbead"[..])
        );
        assert_eq!(g.clone().rotated(180).data, b"fedcba".to_vec());
        assert_eq!(g.clone().rotated(-90), r270);
        assert_eq!(g.clone().rotated(0), g);
        assert!(g.to_pgm().starts_with(b"P5\n3 2\n255\n"));
        let c = g.crop(1, 1, 5, 5);
        assert_eq!((c.width, c.height, c.data.as_slice()), (2, 1, &b"ef"[..]));
        let four = Gray {
            width: 4,
            height: 2,
            data: vec![0, 4, 10, 20, 8, 4, 30, 40],
            dpi: 300.0,
        };
        let half = four.halved();
        assert_eq!((half.width, half.height, half.dpi), (2, 1, 150.0));
        assert_eq!(half.data, vec![4, 25]);
        let two = Gray {
            width: 2,
            height: 1,
            data: vec![0, 200],
            dpi: 150.0,
        };
        let d = two.doubled();
        assert_eq!((d.width, d.height, d.dpi), (4, 2, 300.0));
        assert_eq!(d.data, vec![0, 50, 150, 200, 0, 50, 150, 200]);
        let up = two.scaled(1.5);
        assert_eq!((up.width, up.height, up.dpi), (3, 2, 225.0));
        assert_eq!(up.data, vec![0, 100, 200, 0, 100, 200]);
        let down = Gray {
            width: 4,
            height: 1,
            data: vec![0, 100, 200, 40],
            dpi: 400.0,
        }
        .scaled(0.75);
        assert_eq!((down.width, down.dpi), (3, 300.0));
        assert_eq!(down.data, vec![16, 150, 67]);
        // A speck goes, an edge stays.
        let mut speck = vec![200u8; 25];
        speck[12] = 0;
        speck[4] = 0;
        let m = Gray {
            width: 5,
            height: 5,
            data: speck,
            dpi: 0.0,
        }
        .median3();
        assert_eq!(m.data[12], 200);
        assert_eq!(m.data[4], 0, "edges are kept");
        let noisy = Gray {
            width: 7,
            height: 6,
            data: (0..42u32).map(|i| (i * 97 % 251) as u8).collect(),
            dpi: 0.0,
        };
        let fast = noisy.clone().median3();
        for y in 1..5 {
            for x in 1..6 {
                let mut v: Vec<u8> = (0..9)
                    .map(|k| noisy.data[(y + k / 3 - 1) * 7 + x + k % 3 - 1])
                    .collect();
                v.sort_unstable();
                assert_eq!(fast.data[y * 7 + x], v[4], "({x}, {y})");
            }
        }
        // Filtered in place from the unfiltered rows: the border is as it was.
        for i in 0..42 {
            let (x, y) = (i % 7, i / 7);
            if x == 0 || x == 6 || y == 0 || y == 5 {
                assert_eq!(fast.data[i], noisy.data[i], "({x}, {y})");
            }
        }
    }

    #[test]
    fn turning_by_any_angle_keeps_the_picture_on_a_white_canvas() {
        // A quarter turn by angle gives exactly what the quarter turn by layout gives.
        let g = Gray {
            width: 5,
            height: 3,
            data: (0..15u8).map(|v| v * 10).collect(),
            dpi: 200.0,
        };
        assert_eq!(g.turned_by(90.0), g.clone().rotated(90));
        assert_eq!(g.turned_by(-90.0), g.clone().rotated(270));
        assert_eq!(g.turned_by(180.0), g.clone().rotated(180));
        assert_eq!(g.turned_by(0.0), g);
        // A dark bar along a line rising at 30 degrees, turned 30 degrees clockwise, lies level
        // across the canvas's middle; the corners uncovered are white.
        let (w, h) = (201usize, 201usize);
        let mut data = vec![255u8; w * h];
        for t in -60i32..=60 {
            let (s, c) = 30f64.to_radians().sin_cos();
            for thick in -1i32..=1 {
                let x = 100.0 + t as f64 * c - thick as f64 * s;
                let y = 100.0 - t as f64 * s - thick as f64 * c;
                data[y.round() as usize * w + x.round() as usize] = 0;
            }
        }
        let bar = Gray {
            width: w,
            height: h,
            data,
            dpi: 300.0,
        };
        let t = bar.turned_by(30.0);
        let side = (201.0 * (30f64.to_radians().cos() + 30f64.to_radians().sin())).ceil() as usize;
        assert_eq!((t.width, t.height, t.dpi), (side, side, 300.0));
        let dark_in_row = |y: usize| {
            t.data[y * t.width..(y + 1) * t.width]
                .iter()
                .filter(|&&v| v < 128)
                .count()
        };
        let mid = t.height / 2;
        let level = (mid - 2..=mid + 2).map(dark_in_row).max().unwrap_or(0);
        assert!(
            level >= 110,
            "the bar lies along one row: {level} dark pixels"
        );
        assert_eq!(dark_in_row(mid - 8) + dark_in_row(mid + 8), 0);
        assert_eq!((t.data[0], t.data[t.data.len() - 1]), (255, 255));
    }

    /// A one-page PDF whose only picture is `image` (dictionary entries, raw stream data).
    fn pdf_with_image(dict: lopdf::Dictionary, data: Vec<u8>) -> Vec<u8> {
        pdf_with_image_drawn(dict, data, b"q 72 0 0 36 0 0 cm /Im0 Do Q", 0)
    }

    /// The same, with the picture drawn by `content` on a page turned by `rotate`.
    fn pdf_with_image_drawn(
        dict: lopdf::Dictionary,
        data: Vec<u8>,
        content: &[u8],
        rotate: i64,
    ) -> Vec<u8> {
        let image = Stream::new(dict, data);
        picture_page_pdf(image, content.to_vec(), (72.0, 36.0), rotate).expect("save")
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::ZlibEncoder::new(vec![], flate2::Compression::default());
        e.write_all(data).expect("deflate");
        e.finish().expect("deflate")
    }

    fn picture(pdf: &[u8]) -> Gray {
        let got = page_images(pdf, &Limits::default(), &[1]).expect("read");
        got.into_iter()
            .next()
            .and_then(|(_, g)| g)
            .expect("the picture is decoded")
    }

    #[test]
    fn a_picture_file_becomes_a_one_page_pdf_showing_it() {
        let png = isoscan_pdfgen::scan::gray_png(4, 2, &[10, 20, 30, 40, 50, 60, 70, 80]);
        let pdf = picture_as_pdf(&png, 40.0, 10_000).expect("wrapped");
        let g = picture(&pdf);
        assert_eq!((g.width, g.height), (4, 2));
        assert_eq!(g.data, vec![10, 20, 30, 40, 50, 60, 70, 80]);
        let width_in_points = |pdf: &[u8]| {
            let doc = lopdf::Document::load_mem(pdf).expect("a PDF");
            let (_, page) = doc.get_pages().into_iter().next().expect("a page");
            let page = doc.get_dictionary(page).expect("a page");
            let media = page
                .get(b"MediaBox")
                .and_then(Object::as_array)
                .expect("MediaBox");
            media[2].as_float().expect("a width")
        };
        // 300 dpi: 4 pixels are 4/300 inch.
        assert!((width_in_points(&pdf) - 4.0 * 72.0 / 300.0).abs() < 0.01);
        // A sheet wider than the limit is shown smaller: 4 pixels on a page 0.005 inch wide.
        let small = picture_as_pdf(&png, 0.005, 10_000).expect("wrapped");
        assert!((width_in_points(&small) - 0.36).abs() < 0.01);
        assert!(picture_as_pdf(b"%PDF-1.7", 40.0, 10_000).is_err());
        assert_eq!(raster_page_sizes(&png).expect("size"), vec![(4, 2)]);
        // A picture with a side over the pixel limit is made smaller to fit it, on a page of
        // the same size in inches: a band 4 by 2 pixels, at most 3 pixels a side, is 3 by 1.
        let fitted = picture_as_pdf(&png, 40.0, 3).expect("wrapped");
        let g = picture(&fitted);
        assert_eq!((g.width, g.height), (3, 2 * 3 / 4));
        assert!((width_in_points(&fitted) - 4.0 * 72.0 / 300.0).abs() < 0.01);
        let wide = Gray {
            width: 25_001,
            height: 3,
            data: vec![200; 75_003],
            dpi: 400.0,
        }
        .fit_within(10_000);
        assert_eq!((wide.width, wide.height), (10_000, 1));
    }

    #[test]
    fn placing_lays_a_picture_out_along_any_two_axes() {
        // 3 wide, 2 high:  a b c / d e f
        let g = Gray {
            width: 3,
            height: 2,
            data: b"abcdef".to_vec(),
            dpi: 0.0,
        };
        let at = |col, row| {
            let p = g.clone().placed(col, row);
            (p.width, p.height, String::from_utf8(p.data).unwrap())
        };
        assert_eq!(at((1, 0), (0, 1)), (3, 2, "abcdef".into()));
        assert_eq!(at((-1, 0), (0, 1)), (3, 2, "cbafed".into()), "mirrored");
        assert_eq!(
            at((1, 0), (0, -1)),
            (3, 2, "defabc".into()),
            "upside down, mirrored"
        );
        assert_eq!(at((-1, 0), (0, -1)), (3, 2, "fedcba".into()), "turned 180");
        assert_eq!(
            at((0, 1), (-1, 0)),
            (2, 3, "daebfc".into()),
            "a quarter turn"
        );
        assert_eq!(
            at((0, -1), (1, 0)),
            (2, 3, "cfbead".into()),
            "three quarters"
        );
        assert_eq!(at((0, 1), (1, 0)), (2, 3, "adbecf".into()), "transposed");
        assert_eq!(
            at((1, 0), (1, 0)),
            (3, 2, "abcdef".into()),
            "not at right angles"
        );
    }

    #[test]
    fn a_picture_is_placed_by_the_matrix_it_is_drawn_with_and_the_pages_rotate() {
        use lopdf::dictionary;
        // 2 wide, 1 high: dark on the left, light on the right.
        let dict = || {
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image", "Width" => 2, "Height" => 1,
                "BitsPerComponent" => 8, "ColorSpace" => "DeviceGray",
            }
        };
        let shown = |content: &[u8], rotate: i64| {
            let g = picture(&pdf_with_image_drawn(
                dict(),
                vec![10, 200],
                content,
                rotate,
            ));
            (g.width, g.height, g.data)
        };
        // Content, /Rotate, and the picture as shown: width, height, pixels.
        type Case = (&'static [u8], i64, (usize, usize, Vec<u8>));
        let cases: [Case; 6] = [
            (b"q 72 0 0 36 0 0 cm /Im0 Do Q", 0, (2, 1, vec![10, 200])),
            // Mirrored by a negative scale, inside nested q/cm: dark on the right.
            (
                b"q 1 0 0 1 72 0 cm q -72 0 0 36 0 0 cm /Im0 Do Q Q",
                0,
                (2, 1, vec![200, 10]),
            ),
            // Stored lying down and drawn a quarter turn anticlockwise: its columns go up the
            // page, so its left end (dark) is at the bottom.
            (b"q 0 72 -36 0 36 0 cm /Im0 Do Q", 0, (1, 2, vec![200, 10])),
            // The page's /Rotate alone, and with the matrix: turned back upright.
            (b"q 72 0 0 36 0 0 cm /Im0 Do Q", 90, (1, 2, vec![10, 200])),
            (b"q 0 72 -36 0 36 0 cm /Im0 Do Q", 90, (2, 1, vec![10, 200])),
            // A matrix that is not found (the picture drawn in a form) leaves /Rotate alone.
            (b"q 72 0 0 36 0 0 cm /Fm0 Do Q", 180, (2, 1, vec![200, 10])),
        ];
        for (content, rotate, want) in cases {
            assert_eq!(
                shown(content, rotate),
                want,
                "{}",
                String::from_utf8_lossy(content)
            );
        }
    }

    #[test]
    fn raw_pictures_in_every_depth_and_colour_space_a_scanner_writes() {
        use lopdf::dictionary;
        let base = |w: i64, h: i64, bpc: i64| {
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image", "Width" => w, "Height" => h,
                "BitsPerComponent" => bpc,
            }
        };
        // 8-bit gray, PNG predictors (Up on every row): rows 10 20 30 / 15 25 35.
        let mut d = base(3, 2, 8);
        d.set("ColorSpace", "DeviceGray");
        d.set("Filter", "FlateDecode");
        d.set(
            "DecodeParms",
            dictionary! { "Predictor" => 15, "Colors" => 1, "BitsPerComponent" => 8, "Columns" => 3 },
        );
        let rows = [2u8, 10, 20, 30, 2, 5, 5, 5];
        let g = picture(&pdf_with_image(d, zlib(&rows)));
        assert_eq!((g.width, g.height), (3, 2));
        assert_eq!(g.data, vec![10, 20, 30, 15, 25, 35]);
        assert!(
            (g.dpi - 3.0).abs() < 0.01,
            "3 pixels on one inch: {}",
            g.dpi
        );

        // 4-bit indexed over RGB: black, white, pure green (luma 149).
        let mut d = base(3, 1, 4);
        d.set(
            "ColorSpace",
            vec![
                Object::Name(b"Indexed".to_vec()),
                Object::Name(b"DeviceRGB".to_vec()),
                2.into(),
                Object::String(
                    vec![0, 0, 0, 255, 255, 255, 0, 255, 0],
                    lopdf::StringFormat::Hexadecimal,
                ),
            ],
        );
        d.set("Filter", "FlateDecode");
        let g = picture(&pdf_with_image(d, zlib(&[0x01, 0x20])));
        assert_eq!(g.data, vec![0, 255, 149]);

        // 8-bit CMYK: no ink, full black, full cyan (30% gray ink).
        let mut d = base(3, 1, 8);
        d.set("ColorSpace", "DeviceCMYK");
        let g = picture(&pdf_with_image(
            d,
            vec![0, 0, 0, 0, 0, 0, 0, 255, 255, 0, 0, 0],
        ));
        assert_eq!(g.data, vec![255, 0, 179]);

        // 16-bit gray, uncompressed.
        let mut d = base(2, 1, 16);
        d.set("ColorSpace", "DeviceGray");
        let g = picture(&pdf_with_image(d, vec![0xFF, 0xFF, 0x80, 0x00]));
        assert_eq!(g.data, vec![255, 128]);

        // 1-bit gray shown inverted by /Decode [1 0], rows padded to a byte: 1 0 1 / 0 1 0.
        let mut d = base(3, 2, 1);
        d.set("ColorSpace", "DeviceGray");
        d.set("Decode", vec![1.into(), 0.into()]);
        d.set("Filter", "FlateDecode");
        let g = picture(&pdf_with_image(d, zlib(&[0b1010_0000, 0b0100_0000])));
        assert_eq!(g.data, vec![0, 255, 0, 255, 0, 255]);

        // JPEG 2000 is not read here: no picture rather than a wrong one.
        let mut d = base(2, 1, 8);
        d.set("ColorSpace", "DeviceGray");
        d.set("Filter", "JPXDecode");
        let got =
            page_images(&pdf_with_image(d, vec![0; 8]), &Limits::default(), &[1]).expect("read");
        assert_eq!(got, vec![(1, None)]);
    }
}
