//! CMaps: ToUnicode maps (`bfchar`, `bfrange`) and character-code to CID maps (`cidchar`,
//! `cidrange`), with their codespace ranges. Ranges are kept as ranges, never expanded, so a
//! hostile `<0000> <FFFFFFFF>` costs nothing.

use std::collections::HashMap;

use crate::lexer::{Lexer, Operand, Token};

/// Entries kept per CMap; a larger one is truncated (no real font has that many).
const MAX_ENTRIES: usize = 200_000;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodeRange {
    pub len: u8,
    pub lo: u32,
    pub hi: u32,
}

#[derive(Debug, Clone)]
enum RangeDest {
    /// UTF-16BE bytes of the first code's text; the last unit increments along the range.
    Start(Vec<u16>),
    List(Vec<String>),
    Cid(u32),
}

#[derive(Debug, Clone, Default)]
pub struct CMap {
    pub codespace: Vec<CodeRange>,
    chars: HashMap<(u8, u32), String>,
    cids: HashMap<(u8, u32), u32>,
    /// (len, lo, hi, dest), sorted by (len, lo).
    ranges: Vec<(u8, u32, u32, RangeDest)>,
}

fn code_of(bytes: &[u8]) -> Option<(u8, u32)> {
    if bytes.is_empty() || bytes.len() > 4 {
        return None;
    }
    let mut v = 0u32;
    for b in bytes {
        v = v << 8 | u32::from(*b);
    }
    Some((bytes.len() as u8, v))
}

pub fn utf16be(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks(2)
        .map(|c| {
            if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from(c[0])
            }
        })
        .collect()
}

fn utf16_string(units: &[u16]) -> String {
    char::decode_utf16(units.iter().copied())
        .map(|r| r.unwrap_or('\u{FFFD}'))
        .filter(|c| *c != '\0')
        .collect()
}

impl CMap {
    pub fn parse(data: &[u8]) -> CMap {
        let mut cmap = CMap::default();
        let mut stack: Vec<Operand> = Vec::new();
        let mut entries = 0usize;
        for tok in Lexer::new(data) {
            match tok {
                Token::Operand(o) => {
                    if stack.len() < 3 * 100 + 3 {
                        stack.push(o);
                    } else {
                        stack.clear();
                    }
                }
                Token::Op(op) => {
                    match op {
                        b"endcodespacerange" => {
                            for pair in stack.chunks(2) {
                                if let [Operand::Str(lo), Operand::Str(hi)] = pair {
                                    if let (Some((l1, lo)), Some((l2, hi))) =
                                        (code_of(lo), code_of(hi))
                                    {
                                        if l1 == l2 {
                                            cmap.codespace.push(CodeRange { len: l1, lo, hi });
                                        }
                                    }
                                }
                            }
                        }
                        b"endbfchar" => {
                            for pair in stack.chunks(2) {
                                if entries >= MAX_ENTRIES {
                                    break;
                                }
                                if let [Operand::Str(src), dst] = pair {
                                    if let Some(code) = code_of(src) {
                                        let text = match dst {
                                            Operand::Str(d) => utf16_string(&utf16be(d)),
                                            Operand::Name(n) => {
                                                crate::font::glyph_name_to_unicode(n)
                                                    .unwrap_or_default()
                                            }
                                            _ => continue,
                                        };
                                        cmap.chars.insert(code, text);
                                        entries += 1;
                                    }
                                }
                            }
                        }
                        b"endbfrange" => {
                            for tri in stack.chunks(3) {
                                if entries >= MAX_ENTRIES {
                                    break;
                                }
                                if let [Operand::Str(lo), Operand::Str(hi), dst] = tri {
                                    if let (Some((l, lo)), Some((_, hi))) =
                                        (code_of(lo), code_of(hi))
                                    {
                                        if hi < lo {
                                            continue;
                                        }
                                        let dest = match dst {
                                            Operand::Str(d) => RangeDest::Start(utf16be(d)),
                                            Operand::Array(items) => RangeDest::List(
                                                items
                                                    .iter()
                                                    .map(|i| match i {
                                                        Operand::Str(d) => {
                                                            utf16_string(&utf16be(d))
                                                        }
                                                        _ => String::new(),
                                                    })
                                                    .collect(),
                                            ),
                                            _ => continue,
                                        };
                                        cmap.ranges.push((l, lo, hi, dest));
                                        entries += 1;
                                    }
                                }
                            }
                        }
                        b"endcidchar" => {
                            for pair in stack.chunks(2) {
                                if let [Operand::Str(src), Operand::Num(cid)] = pair {
                                    if let Some(code) = code_of(src) {
                                        if entries < MAX_ENTRIES {
                                            cmap.cids.insert(code, *cid as u32);
                                            entries += 1;
                                        }
                                    }
                                }
                            }
                        }
                        b"endcidrange" => {
                            for tri in stack.chunks(3) {
                                if let [Operand::Str(lo), Operand::Str(hi), Operand::Num(cid)] = tri
                                {
                                    if let (Some((l, lo)), Some((_, hi))) =
                                        (code_of(lo), code_of(hi))
                                    {
                                        if hi >= lo && entries < MAX_ENTRIES {
                                            cmap.ranges.push((
                                                l,
                                                lo,
                                                hi,
                                                RangeDest::Cid(*cid as u32),
                                            ));
                                            entries += 1;
                                        }
                                    }
                                }
                            }
                        }
                        _ => {}
                    }
                    stack.clear();
                }
                Token::InlineImage => stack.clear(),
            }
        }
        cmap.ranges.sort_by_key(|r| (r.0, r.1));
        cmap
    }

    fn range_for(&self, len: u8, code: u32, want_cid: bool) -> Option<&(u8, u32, u32, RangeDest)> {
        // Last range starting at or before `code`; a few earlier ones too, since ranges may nest.
        let idx = self.ranges.partition_point(|r| (r.0, r.1) <= (len, code));
        self.ranges[..idx]
            .iter()
            .rev()
            .take(8)
            .find(|r| r.0 == len && r.2 >= code && matches!(r.3, RangeDest::Cid(_)) == want_cid)
    }

    /// Text of a character code, if this CMap maps it.
    pub fn lookup_text(&self, len: u8, code: u32) -> Option<String> {
        if let Some(s) = self.chars.get(&(len, code)) {
            return Some(s.clone());
        }
        let (_, lo, _, dest) = self.range_for(len, code, false)?;
        let off = code - lo;
        match dest {
            RangeDest::Start(units) => {
                let mut u = units.clone();
                if let Some(last) = u.last_mut() {
                    *last = last.wrapping_add(off as u16);
                }
                Some(utf16_string(&u))
            }
            RangeDest::List(items) => items.get(off as usize).cloned(),
            RangeDest::Cid(_) => None,
        }
    }

    /// CID of a character code, if this CMap maps it.
    pub fn lookup_cid(&self, len: u8, code: u32) -> Option<u32> {
        if let Some(c) = self.cids.get(&(len, code)) {
            return Some(*c);
        }
        match self.range_for(len, code, true)? {
            (_, lo, _, RangeDest::Cid(start)) => Some(start.wrapping_add(code - lo)),
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty() && self.ranges.is_empty() && self.cids.is_empty()
    }
}

/// Splits a string of character codes by codespace ranges. Without ranges, codes are `default_len`
/// bytes long. A byte sequence matching no range takes the shortest range length, as the spec says.
pub fn split_codes(
    bytes: &[u8],
    codespace: &[CodeRange],
    default_len: u8,
    mut f: impl FnMut(u8, u32),
) {
    let mut i = 0;
    while i < bytes.len() {
        let mut taken = None;
        if codespace.is_empty() {
            taken = Some(default_len as usize);
        } else {
            for len in 1..=4u8 {
                if i + len as usize > bytes.len() {
                    break;
                }
                let Some((_, v)) = code_of(&bytes[i..i + len as usize]) else {
                    break;
                };
                if codespace
                    .iter()
                    .any(|r| r.len == len && r.lo <= v && v <= r.hi)
                {
                    taken = Some(len as usize);
                    break;
                }
            }
            if taken.is_none() {
                taken = Some(codespace.iter().map(|r| r.len as usize).min().unwrap_or(1));
            }
        }
        let n = taken.unwrap_or(1).max(1).min(bytes.len() - i);
        if let Some((len, v)) = code_of(&bytes[i..i + n]) {
            f(len, v);
        }
        i += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bfchar_bfrange_and_codespace() {
        let cm = CMap::parse(
            b"begincmap 1 begincodespacerange <0000> <FFFF> endcodespacerange
              2 beginbfchar <0003> <0020> <0011> <0048> endbfchar
              2 beginbfrange <0020> <0022> <0041> <0030> <0031> [<0061> <00660069>] endbfrange endcmap",
        );
        assert_eq!(
            cm.codespace,
            vec![CodeRange {
                len: 2,
                lo: 0,
                hi: 0xffff
            }]
        );
        assert_eq!(cm.lookup_text(2, 0x11).as_deref(), Some("H"));
        assert_eq!(cm.lookup_text(2, 0x22).as_deref(), Some("C"));
        assert_eq!(cm.lookup_text(2, 0x31).as_deref(), Some("fi"));
        assert_eq!(cm.lookup_text(2, 0x23), None);
        let mut codes = vec![];
        split_codes(&[0, 0x11, 0, 0x20], &cm.codespace, 1, |l, c| {
            codes.push((l, c))
        });
        assert_eq!(codes, vec![(2, 0x11), (2, 0x20)]);
    }

    #[test]
    fn huge_ranges_are_not_expanded() {
        let cm = CMap::parse(b"1 beginbfrange <00000000> <FFFFFFFF> <0041> endbfrange 1 begincidrange <00> <FF> 10 endcidrange");
        assert_eq!(cm.lookup_text(4, 1).as_deref(), Some("B"));
        assert_eq!(cm.lookup_cid(1, 5), Some(15));
    }
}
