//! One image XObject of a page, decoded to gray when its encoding is one a scan uses: which
//! decoder takes it (`jpeg`, `ccitt` for fax, `samples` for raw samples).

use super::*;

/// Pixels a picture may have (an A0 sheet at 600 ppi is about 300 million).
pub(super) const MAX_PIXELS: usize = 400_000_000;

pub(super) fn filters(s: &Stream) -> Vec<Vec<u8>> {
    match s.dict.get(b"Filter") {
        Ok(Object::Name(n)) => vec![n.clone()],
        Ok(Object::Array(a)) => a
            .iter()
            .filter_map(|o| o.as_name().ok().map(<[u8]>::to_vec))
            .collect(),
        _ => vec![],
    }
}

pub(super) fn int(ctx: &doc::Ctx, d: &Dictionary, key: &[u8]) -> Option<i64> {
    d.get(key)
        .ok()
        .and_then(|o| ctx.resolve(o).ok())
        .and_then(|o| o.as_i64().ok())
}

/// Decodes one image XObject to gray, where its encoding is one a scan uses.
pub(super) fn decode(ctx: &doc::Ctx, s: &Stream) -> Result<Option<Gray>, ExtractError> {
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
        return jpeg(ctx, s, &f, w, h);
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
