//! Picture files (PNG, JPEG, TIFF) page by page, in gray.

use super::*;

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

pub(super) fn bad(e: impl std::fmt::Debug) -> ExtractError {
    ExtractError::Malformed(format!("picture: {e:?}"))
}

pub(super) fn too_big(w: usize, h: usize) -> Result<(), ExtractError> {
    if w.saturating_mul(h) > MAX_PIXELS {
        return Err(ExtractError::LimitExceeded(format!(
            "a picture of {w} x {h} pixels"
        )));
    }
    Ok(())
}

/// Any 8-bit pixels of `channels` samples to gray (alpha dropped).
pub(super) fn to_gray(data: &[u8], channels: usize) -> Vec<u8> {
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
pub(super) fn raster_page(bytes: &[u8], n: u32) -> Result<Option<Gray>, ExtractError> {
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
