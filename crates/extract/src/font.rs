//! Fonts: character codes to Unicode and glyph widths.
//!
//! The order of trust for text is the one viewers use: the ToUnicode CMap, then the simple
//! font's encoding (glyph names through the Adobe Glyph List), then, for Type0 fonts without a
//! ToUnicode map, the embedded TrueType font's own `cmap` read backwards (glyph id to Unicode).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use lopdf::{Dictionary, Object};

use crate::cmap::{split_codes, CMap, CodeRange};
use crate::doc::Ctx;
use crate::tables;
use crate::ExtractError;

/// One decoded character code.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub text: Option<Rc<str>>,
    /// Width in text space units (already divided by 1000, or scaled by a Type3 FontMatrix).
    pub width: f32,
    /// Single-byte code 32: word spacing (`Tw`) applies.
    pub is_space_code: bool,
}

enum CidMap {
    Identity,
    /// Predefined Unicode CMaps (`Uni…-UCS2-H`, `Uni…-UTF16-H`): the code is the text.
    Unicode,
    Embedded(CMap),
}

pub struct Font {
    codespace: Vec<CodeRange>,
    default_len: u8,
    to_unicode: Option<CMap>,
    simple: bool,
    /// Simple fonts: glyph name of each single-byte code (encoding and /Differences), and its
    /// width from /Widths (NaN where /Widths has none). Both are turned into text and widths
    /// on a code's first use: most fonts show a few dozen of their 256 codes.
    simple_names: Vec<Option<Vec<u8>>>,
    simple_widths: Vec<f32>,
    std_widths: Option<&'static [(&'static str, u16)]>,
    missing_width: Option<f32>,
    width_scale: f32,
    cid_map: CidMap,
    cid_widths: HashMap<u32, f32>,
    cid_width_ranges: Vec<(u32, u32, f32)>,
    default_width: f32,
    gid_text: HashMap<u16, char>,
    cid_to_gid: Option<Vec<u16>>,
    /// Decoded single-byte codes, then longer ones.
    byte_cache: RefCell<Vec<Option<Decoded>>>,
    cache: RefCell<HashMap<(u8, u32), Decoded>>,
}

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

fn encoding_table(name: &[u8]) -> Option<&'static [&'static str; 256]> {
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
fn standard_font(base: &[u8]) -> Option<&'static [(&'static str, u16)]> {
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

fn find_std(name: &str) -> Option<&'static [(&'static str, u16)]> {
    tables::STANDARD_14
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, w)| *w)
}

fn afm_width(table: &[(&str, u16)], glyph: &str) -> Option<f32> {
    table
        .binary_search_by(|(n, _)| n.cmp(&glyph))
        .ok()
        .map(|i| f32::from(table[i].1))
}

fn num(o: &Object) -> Option<f32> {
    match o {
        Object::Integer(i) => Some(*i as f32),
        Object::Real(r) => Some(*r),
        _ => None,
    }
}

impl Font {
    /// A font that decodes nothing, for a `Tf` naming a font that is missing or unreadable.
    pub fn empty() -> Font {
        Font {
            codespace: vec![],
            default_len: 1,
            to_unicode: None,
            simple: true,
            simple_names: vec![None; 256],
            simple_widths: vec![f32::NAN; 256],
            std_widths: None,
            missing_width: None,
            width_scale: 0.001,
            cid_map: CidMap::Identity,
            cid_widths: HashMap::new(),
            cid_width_ranges: vec![],
            default_width: 0.5,
            gid_text: HashMap::new(),
            cid_to_gid: None,
            byte_cache: RefCell::new(vec![None; 256]),
            cache: Default::default(),
        }
    }

    pub fn load(ctx: &Ctx, dict: &Dictionary) -> Result<Font, ExtractError> {
        let subtype = dict
            .get(b"Subtype")
            .ok()
            .and_then(|o| o.as_name().ok())
            .unwrap_or(b"Type1");
        let to_unicode = match dict
            .get(b"ToUnicode")
            .ok()
            .map(|o| ctx.resolve(o))
            .transpose()?
        {
            Some(Object::Stream(s)) => {
                let data = ctx.stream_data(s)?;
                Some(CMap::parse(&data)).filter(|c| !c.is_empty())
            }
            _ => None,
        };
        let mut font = Font::empty();
        font.to_unicode = to_unicode;
        if subtype == b"Type0" {
            font.load_type0(ctx, dict)?;
        } else {
            font.load_simple(ctx, dict, subtype == b"Type3")?;
        }
        Ok(font)
    }

    fn load_simple(
        &mut self,
        ctx: &Ctx,
        dict: &Dictionary,
        type3: bool,
    ) -> Result<(), ExtractError> {
        self.simple = true;
        let base = dict
            .get(b"BaseFont")
            .ok()
            .and_then(|o| o.as_name().ok())
            .unwrap_or(b"");
        let std = standard_font(base);
        // Base encoding: the named one, else the font's built-in (Symbol / ZapfDingbats), else Standard
        // for Type1 and WinAnsi for TrueType, as most producers assume.
        let mut names: [&str; 256] = if base.ends_with(b"Symbol") {
            tables::SYMBOL_ENCODING
        } else if base.ends_with(b"ZapfDingbats") {
            tables::ZAPFDINGBATS_ENCODING
        } else {
            tables::STANDARD_ENCODING
        };
        let mut differences: Vec<(usize, Vec<u8>)> = vec![];
        match dict
            .get(b"Encoding")
            .ok()
            .map(|o| ctx.resolve(o))
            .transpose()?
        {
            Some(Object::Name(n)) => {
                if let Some(t) = encoding_table(n) {
                    names = *t;
                }
            }
            Some(Object::Dictionary(d)) => {
                if let Some(t) = d
                    .get(b"BaseEncoding")
                    .ok()
                    .and_then(|o| o.as_name().ok())
                    .and_then(encoding_table)
                {
                    names = *t;
                }
                if let Some(Object::Array(diffs)) = d
                    .get(b"Differences")
                    .ok()
                    .map(|o| ctx.resolve(o))
                    .transpose()?
                {
                    let mut code: i64 = 0;
                    for item in diffs.iter().take(4096) {
                        match item {
                            Object::Integer(i) => code = *i,
                            Object::Name(n) => {
                                if (0..256).contains(&code) {
                                    differences.push((code as usize, n.clone()));
                                }
                                code += 1;
                            }
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
        let mut glyph_names: Vec<Option<Vec<u8>>> = names
            .iter()
            .map(|n| {
                if n.is_empty() {
                    None
                } else {
                    Some(n.as_bytes().to_vec())
                }
            })
            .collect();
        for (code, name) in differences {
            glyph_names[code] = Some(name);
        }
        self.simple_names = glyph_names;
        // Widths: /Widths from /FirstChar, else the standard 14 metrics, else /MissingWidth.
        let scale = if type3 {
            match dict
                .get(b"FontMatrix")
                .ok()
                .map(|o| ctx.resolve(o))
                .transpose()?
            {
                Some(Object::Array(m)) => m.first().and_then(num).unwrap_or(0.001),
                _ => 0.001,
            }
        } else {
            0.001
        };
        let descriptor = match dict
            .get(b"FontDescriptor")
            .ok()
            .map(|o| ctx.resolve(o))
            .transpose()?
        {
            Some(Object::Dictionary(d)) => Some(d.clone()),
            _ => None,
        };
        let missing = descriptor
            .as_ref()
            .and_then(|d| d.get(b"MissingWidth").ok().and_then(num))
            .filter(|w| *w > 0.0);
        if let Some(Object::Array(ws)) = dict
            .get(b"Widths")
            .ok()
            .map(|o| ctx.resolve(o))
            .transpose()?
        {
            let first = dict
                .get(b"FirstChar")
                .ok()
                .and_then(|o| ctx.resolve(o).ok())
                .and_then(num)
                .unwrap_or(0.0) as i64;
            for (i, w) in ws.iter().enumerate().take(256) {
                let code = first + i as i64;
                if (0..256).contains(&code) {
                    let w = ctx.resolve(w).ok().and_then(num).unwrap_or(0.0);
                    self.simple_widths[code as usize] = w * scale;
                }
            }
        }
        self.std_widths = std;
        self.missing_width = missing;
        self.width_scale = scale;
        Ok(())
    }

    fn load_type0(&mut self, ctx: &Ctx, dict: &Dictionary) -> Result<(), ExtractError> {
        self.simple = false;
        self.default_len = 2;
        match dict
            .get(b"Encoding")
            .ok()
            .map(|o| ctx.resolve(o))
            .transpose()?
        {
            Some(Object::Name(n)) => {
                if n.starts_with(b"Identity") {
                    self.cid_map = CidMap::Identity;
                    self.codespace = vec![CodeRange {
                        len: 2,
                        lo: 0,
                        hi: 0xffff,
                    }];
                } else if n.starts_with(b"Uni")
                    && (n.ends_with(b"UCS2-H")
                        || n.ends_with(b"UTF16-H")
                        || n.ends_with(b"UCS2-V")
                        || n.ends_with(b"UTF16-V"))
                {
                    self.cid_map = CidMap::Unicode;
                    self.codespace = vec![CodeRange {
                        len: 2,
                        lo: 0,
                        hi: 0xffff,
                    }];
                } else {
                    // Other predefined CMaps are not shipped; codes still split as two bytes.
                    self.cid_map = CidMap::Identity;
                }
            }
            Some(Object::Stream(s)) => {
                let data = ctx.stream_data(s)?;
                let cm = CMap::parse(&data);
                self.codespace = cm.codespace.clone();
                self.cid_map = CidMap::Embedded(cm);
            }
            _ => {}
        }
        let descendant = match dict
            .get(b"DescendantFonts")
            .ok()
            .map(|o| ctx.resolve(o))
            .transpose()?
        {
            Some(Object::Array(a)) => match a.first().map(|o| ctx.resolve(o)).transpose()? {
                Some(Object::Dictionary(d)) => Some(d.clone()),
                _ => None,
            },
            _ => None,
        };
        let Some(desc) = descendant else {
            return Ok(());
        };
        self.default_width = desc.get(b"DW").ok().and_then(num).unwrap_or(1000.0) * 0.001;
        if let Some(Object::Array(w)) = desc.get(b"W").ok().map(|o| ctx.resolve(o)).transpose()? {
            let items: Vec<Object> = w
                .iter()
                .take(200_000)
                .map(|o| ctx.resolve(o).cloned().unwrap_or(Object::Null))
                .collect();
            let mut i = 0;
            while i < items.len() {
                let Some(first) = num(&items[i]) else { break };
                match items.get(i + 1) {
                    Some(Object::Array(ws)) => {
                        for (k, w) in ws.iter().enumerate().take(65_536) {
                            if let Some(w) = ctx.resolve(w).ok().and_then(num) {
                                self.cid_widths.insert(first as u32 + k as u32, w * 0.001);
                            }
                        }
                        i += 2;
                    }
                    Some(last) => {
                        if let (Some(last), Some(w)) = (num(last), items.get(i + 2).and_then(num)) {
                            self.cid_width_ranges
                                .push((first as u32, last as u32, w * 0.001));
                        }
                        i += 3;
                    }
                    None => break,
                }
            }
        }
        if self.to_unicode.is_some() {
            return Ok(());
        }
        // No ToUnicode: read the embedded TrueType font's cmap backwards.
        if let Some(Object::Stream(m)) = desc
            .get(b"CIDToGIDMap")
            .ok()
            .map(|o| ctx.resolve(o))
            .transpose()?
        {
            let data = ctx.stream_data(m)?;
            self.cid_to_gid = Some(
                data.chunks(2)
                    .map(|c| {
                        if c.len() == 2 {
                            u16::from_be_bytes([c[0], c[1]])
                        } else {
                            0
                        }
                    })
                    .collect(),
            );
        }
        let descriptor = match desc
            .get(b"FontDescriptor")
            .ok()
            .map(|o| ctx.resolve(o))
            .transpose()?
        {
            Some(Object::Dictionary(d)) => d.clone(),
            _ => return Ok(()),
        };
        for key in [&b"FontFile2"[..], b"FontFile3"] {
            if let Some(Object::Stream(s)) = descriptor
                .get(key)
                .ok()
                .map(|o| ctx.resolve(o))
                .transpose()?
            {
                let data = ctx.stream_data(s)?;
                self.gid_text = gid_to_unicode(&data);
                break;
            }
        }
        Ok(())
    }

    fn simple_code(&self, len: u8, code: u32) -> Decoded {
        let c = (code & 0xff) as usize;
        let name = self.simple_names[c].as_deref();
        let text = self
            .to_unicode
            .as_ref()
            .and_then(|t| t.lookup_text(len, code))
            .or_else(|| match name {
                Some(n) => glyph_name_to_unicode(n),
                // No name for this code: printable ASCII reads as itself, as producers intend.
                None if (0x21..0x7f).contains(&c) => Some((c as u8 as char).to_string()),
                None => None,
            });
        // /Widths, else the standard 14 metrics, else /MissingWidth.
        let mut width = self.simple_widths[c];
        if width.is_nan() {
            let from_std = self
                .std_widths
                .zip(name.and_then(|n| std::str::from_utf8(n).ok()))
                .and_then(|(t, n)| afm_width(t, n));
            width = match (from_std, self.missing_width) {
                (Some(w), _) => w * 0.001,
                (None, Some(m)) => m * self.width_scale,
                (None, None) => 0.5,
            };
        }
        Decoded {
            text: text.map(Rc::from),
            width,
            is_space_code: len == 1 && code == 32,
        }
    }

    fn composite_code(&self, len: u8, code: u32) -> Decoded {
        let cid = match &self.cid_map {
            CidMap::Identity | CidMap::Unicode => code,
            CidMap::Embedded(cm) => cm.lookup_cid(len, code).unwrap_or(0),
        };
        let text = self
            .to_unicode
            .as_ref()
            .and_then(|t| t.lookup_text(len, code))
            .or_else(|| match self.cid_map {
                CidMap::Unicode => char::from_u32(code).map(String::from),
                _ => None,
            })
            .or_else(|| {
                let gid = match &self.cid_to_gid {
                    Some(map) => *map.get(cid as usize)?,
                    None => u16::try_from(cid).ok()?,
                };
                self.gid_text.get(&gid).map(|c| c.to_string())
            });
        let width = self.cid_widths.get(&cid).copied().unwrap_or_else(|| {
            self.cid_width_ranges
                .iter()
                .find(|(a, b, _)| *a <= cid && cid <= *b)
                .map(|r| r.2)
                .unwrap_or(self.default_width)
        });
        Decoded {
            text: text.map(Rc::from),
            width,
            is_space_code: len == 1 && code == 32,
        }
    }

    fn decode_code(&self, len: u8, code: u32) -> Decoded {
        let decode = |len, code| {
            if self.simple {
                self.simple_code(len, code)
            } else {
                self.composite_code(len, code)
            }
        };
        if len == 1 {
            let mut cache = self.byte_cache.borrow_mut();
            let slot = &mut cache[(code & 0xff) as usize];
            return slot.get_or_insert_with(|| decode(len, code)).clone();
        }
        if let Some(d) = self.cache.borrow().get(&(len, code)) {
            return d.clone();
        }
        let d = decode(len, code);
        let mut cache = self.cache.borrow_mut();
        if cache.len() < 65_536 {
            cache.insert((len, code), d.clone());
        }
        d
    }

    /// Decodes a shown string into codes, calling `f` for each.
    pub fn decode(&self, bytes: &[u8], mut f: impl FnMut(Decoded)) {
        // Simple fonts are one byte a code, whatever a ToUnicode map's codespace says.
        let codespace: &[CodeRange] = if self.simple { &[] } else { &self.codespace };
        let default_len = if self.simple { 1 } else { self.default_len };
        split_codes(bytes, codespace, default_len, |len, code| {
            f(self.decode_code(len, code))
        });
    }
}

/// Glyph id to Unicode from a TrueType/OpenType font's Unicode cmap subtables.
fn gid_to_unicode(data: &[u8]) -> HashMap<u16, char> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyph_names() {
        assert_eq!(glyph_name_to_unicode(b"hyphen").as_deref(), Some("-"));
        assert_eq!(
            glyph_name_to_unicode(b"uni2010").as_deref(),
            Some("\u{2010}")
        );
        assert_eq!(
            glyph_name_to_unicode(b"u1F600").as_deref(),
            Some("\u{1F600}")
        );
        assert_eq!(glyph_name_to_unicode(b"f_i").as_deref(), Some("fi"));
        assert_eq!(glyph_name_to_unicode(b"A.sc").as_deref(), Some("A"));
        assert_eq!(glyph_name_to_unicode(b"g123"), None);
    }

    #[test]
    fn standard_fonts_have_metrics() {
        let h = standard_font(b"Helvetica").unwrap();
        assert_eq!(afm_width(h, "space"), Some(278.0));
        assert_eq!(
            afm_width(standard_font(b"ABCDEF+Courier-Bold").unwrap(), "A"),
            Some(600.0)
        );
        assert_eq!(
            afm_width(standard_font(b"Arial,Bold").unwrap(), "A"),
            Some(722.0)
        );
    }
}
