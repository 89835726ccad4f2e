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

mod names;

pub use names::glyph_name_to_unicode;
use names::*;

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

#[cfg(test)]
mod tests;
