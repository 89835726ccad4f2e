//! Fax-coded (CCITT Group 3 and 4) bilevel images.

use super::*;

/// A fax-coded (CCITT Group 4, or Group 3 one-dimensional) bilevel image, as scanners store
/// black-and-white sheets.
pub(super) fn ccitt(
    ctx: &doc::Ctx,
    s: &Stream,
    w: usize,
    h: usize,
) -> Result<Option<Gray>, ExtractError> {
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
