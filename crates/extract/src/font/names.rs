//! Names and metrics fonts lean on: glyph names to Unicode (the Adobe Glyph List), the simple
//! encodings, the standard 14 fonts' widths, and an embedded TrueType font's own `cmap`.

use super::*;

/// Unicode text of a glyph name (`A`, `hyphen`, `uni2010`, `u1F600`, `f_i`, `A.sc`).
pub fn glyph_name_to_unicode(name: &[u8]) -> Option<String> {
    let name = std::str::from_utf8(name).ok()?;
    let base = name.split('.').next().unwrap_or(name);
    if base.is_empty() {
        return None;
    }
    if base.contains('_') {
        let parts: Option<String> = base
            .split('_')
            .map(|p| glyph_name_to_unicode(p.as_bytes()))
            .collect();
        return parts;
    }
    if let Ok(i) = tables::GLYPH_LIST.binary_search_by(|(n, _)| n.cmp(&base)) {
        return Some(tables::GLYPH_LIST[i].1.to_string());
    }
    if let Some(hex) = base.strip_prefix("uni") {
        if hex.len() >= 4 && hex.len() % 4 == 0 {
            let units: Option<Vec<u16>> = (0..hex.len() / 4)
                .map(|i| u16::from_str_radix(&hex[i * 4..i * 4 + 4], 16).ok())
                .collect();
            return units.map(|u| char::decode_utf16(u).filter_map(Result::ok).collect());
        }
    }
    if let Some(hex) = base.strip_prefix('u') {
        if (4..=6).contains(&hex.len()) {
            if let Ok(v) = u32::from_str_radix(hex, 16) {
                return char::from_u32(v).map(String::from);
            }
        }
    }
    None
}

pub(super) fn encoding_table(name: &[u8]) -> Option<&'static [&'static str; 256]> {
    match name {
        b"WinAnsiEncoding" => Some(&tables::WINANSI_ENCODING),
        b"MacRomanEncoding" => Some(&tables::MACROMAN_ENCODING),
        b"StandardEncoding" => Some(&tables::STANDARD_ENCODING),
        b"MacExpertEncoding" => Some(&tables::MACEXPERT_ENCODING),
        b"PDFDocEncoding" => Some(&tables::PDFDOC_ENCODING),
        _ => None,
    }
}

/// The standard 14 font a base font name stands for (subset prefixes and common aliases removed).
pub(super) fn standard_font(base: &[u8]) -> Option<&'static [(&'static str, u16)]> {
    let s = String::from_utf8_lossy(base);
    let s = match s.split_once('+') {
        Some((pre, rest)) if pre.len() == 6 => rest.to_string(),
        _ => s.to_string(),
    };
    let lower = s.to_ascii_lowercase().replace([',', ' '], "-");
    let bold = lower.contains("bold");
    let italic = lower.contains("italic") || lower.contains("oblique");
    let family = if lower.starts_with("courier") {
        "Courier"
    } else if lower.starts_with("helvetica") || lower.starts_with("arial") {
        "Helvetica"
    } else if lower.starts_with("times") {
        "Times"
    } else if lower.starts_with("symbol") {
        return find_std("Symbol");
    } else if lower.starts_with("zapfdingbats") {
        return find_std("ZapfDingbats");
    } else {
        return None;
    };
    let name = match (family, bold, italic) {
        ("Times", false, false) => "Times-Roman".to_string(),
        ("Times", true, false) => "Times-Bold".to_string(),
        ("Times", false, true) => "Times-Italic".to_string(),
        ("Times", true, true) => "Times-BoldItalic".to_string(),
        (f, true, true) => format!("{f}-BoldOblique"),
        (f, true, false) => format!("{f}-Bold"),
        (f, false, true) => format!("{f}-Oblique"),
        (f, false, false) => f.to_string(),
    };
    find_std(&name)
}

pub(super) fn find_std(name: &str) -> Option<&'static [(&'static str, u16)]> {
    tables::STANDARD_14
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, w)| *w)
}

pub(super) fn afm_width(table: &[(&str, u16)], glyph: &str) -> Option<f32> {
    table
        .binary_search_by(|(n, _)| n.cmp(&glyph))
        .ok()
        .map(|i| f32::from(table[i].1))
}

pub(super) fn num(o: &Object) -> Option<f32> {
    match o {
        Object::Integer(i) => Some(*i as f32),
        Object::Real(r) => Some(*r),
        _ => None,
    }
}

/// Glyph id to Unicode from a TrueType/OpenType font's Unicode cmap subtables.
pub(super) fn gid_to_unicode(data: &[u8]) -> HashMap<u16, char> {
    let mut map = HashMap::new();
    let Ok(face) = ttf_parser::Face::parse(data, 0) else {
        return map;
    };
    let Some(cmap) = face.tables().cmap else {
        return map;
    };
    for sub in cmap.subtables {
        if !sub.is_unicode() {
            continue;
        }
        sub.codepoints(|cp| {
            if map.len() >= 65_536 {
                return;
            }
            if let (Some(gid), Some(ch)) = (sub.glyph_index(cp), char::from_u32(cp)) {
                map.entry(gid.0).or_insert(ch);
            }
        });
    }
    map
}
