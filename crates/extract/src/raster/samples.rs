//! Raw samples (1 to 16 bits, gray, RGB, CMYK, ICC-based or indexed colour) to gray.

use super::*;

/// The colour spaces a scan's raw pixels come in.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Space {
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

pub(super) fn color_space(ctx: &doc::Ctx, o: &Object) -> Option<Space> {
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
pub(super) fn luma(space: &Space, c: &[u8]) -> u8 {
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
pub(super) fn samples_to_gray(
    raw: &[u8],
    w: usize,
    h: usize,
    bpc: usize,
    space: &Space,
) -> Option<Vec<u8>> {
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
