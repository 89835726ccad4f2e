//! JPEG (DCT) images, as scanners store gray and colour sheets, decoded straight to gray.

use super::*;

/// A DCT-coded image (after any filters before it) in gray.
pub(super) fn jpeg(
    ctx: &doc::Ctx,
    s: &Stream,
    f: &[Vec<u8>],
    w: usize,
    h: usize,
) -> Result<Option<Gray>, ExtractError> {
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
    Ok(Some(Gray {
        width: iw,
        height: ih,
        data,
        dpi: 0.0,
    }))
}
