//! The picture of a scanned page, for OCR: the page's largest image, decoded to 8-bit gray and
//! turned upright by the page's `/Rotate`. Scans are one image per page (a scanner's JPEG, or
//! raw pixels under Flate); pages drawn in vectors have none and are left to a renderer.

use lopdf::{Dictionary, Object, Stream};
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

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
        let (w, h) = (self.width, self.height);
        match degrees.rem_euclid(360) {
            90 => {
                let mut out = vec![0u8; w * h];
                for y in 0..h {
                    for x in 0..w {
                        // (x, y) goes to (h - 1 - y, x) in a picture h wide.
                        out[x * h + (h - 1 - y)] = self.data[y * w + x];
                    }
                }
                Gray {
                    width: h,
                    height: w,
                    data: out,
                    dpi: self.dpi,
                }
            }
            180 => {
                let mut data = self.data;
                data.reverse();
                Gray {
                    width: w,
                    height: h,
                    data,
                    dpi: self.dpi,
                }
            }
            270 => {
                let mut out = vec![0u8; w * h];
                for y in 0..h {
                    for x in 0..w {
                        out[(w - 1 - x) * h + y] = self.data[y * w + x];
                    }
                }
                Gray {
                    width: h,
                    height: w,
                    data: out,
                    dpi: self.dpi,
                }
            }
            _ => self,
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

    /// As a binary PGM (P5), which every OCR engine reads.
    pub fn to_pgm(&self) -> Vec<u8> {
        let mut out = format!("P5\n{} {}\n255\n", self.width, self.height).into_bytes();
        out.extend_from_slice(&self.data);
        out
    }
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
    let bpc = int(ctx, &s.dict, b"BitsPerComponent").unwrap_or(8);
    let cs = s
        .dict
        .get(b"ColorSpace")
        .ok()
        .and_then(|o| ctx.resolve(o).ok())
        .and_then(|o| o.as_name().ok());
    let comps = match cs {
        Some(b"DeviceGray") | Some(b"CalGray") => 1,
        Some(b"DeviceRGB") | Some(b"CalRGB") => 3,
        _ => return Ok(None),
    };
    if bpc != 8 || !f.iter().all(|n| n == b"FlateDecode") {
        return Ok(None);
    }
    let raw = if f.is_empty() {
        s.content.clone()
    } else {
        ctx.stream_data(s)?
    };
    if raw.len() < w * h * comps {
        return Ok(None);
    }
    let data = if comps == 1 {
        raw[..w * h].to_vec()
    } else {
        raw.chunks_exact(3)
            .take(w * h)
            .map(|p| ((p[0] as u32 * 299 + p[1] as u32 * 587 + p[2] as u32 * 114) / 1000) as u8)
            .collect()
    };
    Ok(Some(Gray {
        width: w,
        height: h,
        data,
        dpi: 0.0,
    }))
}

/// The largest image of each page in `wanted` (1-based), decoded and upright, if it has one
/// this reader decodes.
pub fn page_images(
    bytes: &[u8],
    limits: &Limits,
    wanted: &[u32],
) -> Result<Vec<(u32, Option<Gray>)>, ExtractError> {
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
        let mut best: Option<&Stream> = None;
        let mut best_area = 0i64;
        let xobjects = resources
            .as_ref()
            .and_then(|r| r.get(b"XObject").ok())
            .and_then(|x| ctx.resolve(x).ok())
            .and_then(|x| x.as_dict().ok());
        for (_, o) in xobjects.into_iter().flat_map(|d| d.iter()) {
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
                best = Some(s);
            }
        }
        let rotate = int(&ctx, page, b"Rotate").unwrap_or(0);
        // The page's width in inches, as the picture will stand: its resolution follows.
        let media = page
            .get(b"MediaBox")
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
            .map(|v| ((v[2] - v[0]).abs(), (v[3] - v[1]).abs()));
        let img = match best {
            Some(s) => decode(&ctx, s)?.map(|g| {
                let mut g = g.rotated(rotate);
                if let Some((w, h)) = media {
                    let inches = if rotate.rem_euclid(180) == 90 { h } else { w } / 72.0;
                    if inches > 0.5 {
                        g.dpi = g.width as f32 / inches;
                    }
                }
                g
            }),
            None => None,
        };
        out.push((n, img));
    }
    Ok(out)
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
    }
}
