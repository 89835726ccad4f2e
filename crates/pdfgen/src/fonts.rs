//! The fonts a generated drawing uses, with the metrics the generator places glyphs by and the
//! encoding it writes strings in. Metrics of the standard fonts are Adobe's AFM widths for
//! printable ASCII; the embedded TrueType fonts are built here (tables head, hhea, maxp, cmap,
//! hmtx, loca, glyf with empty outlines): enough for a reader to map glyph ids to Unicode.

use crate::writer::Pdf;

pub const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
pub const TIMES: [u16; 95] = [
    250, 333, 408, 500, 500, 833, 778, 180, 333, 333, 500, 564, 250, 333, 250, 278, 500, 500, 500,
    500, 500, 500, 500, 500, 500, 500, 278, 278, 564, 564, 564, 444, 921, 722, 667, 667, 722, 611,
    556, 722, 722, 333, 389, 722, 611, 889, 722, 722, 556, 722, 667, 556, 611, 722, 722, 944, 722,
    722, 611, 333, 278, 333, 469, 500, 333, 444, 500, 444, 500, 444, 333, 500, 500, 278, 278, 500,
    278, 778, 500, 500, 500, 500, 333, 389, 278, 500, 500, 722, 500, 500, 444, 480, 200, 480, 541,
];

/// How a drawing's text font is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FontKind {
    /// A standard 14 font without /Widths (readers must know its metrics).
    Standard(&'static str),
    /// A Type1 font whose /Differences put every character at a scrambled code, named by glyph name.
    Differences,
    /// A simple TrueType subset: codes in order of first use, a ToUnicode map, /Widths.
    TrueTypeSubset,
    /// Type0, Identity-H, glyph ids permuted, with a ToUnicode map.
    Type0ToUnicode,
    /// Type0, Identity-H, glyph ids permuted, no ToUnicode: only the embedded font's cmap tells.
    Type0NoToUnicode,
}

impl FontKind {
    pub fn label(&self) -> String {
        match self {
            FontKind::Standard(n) => format!("type1_{}", n.to_ascii_lowercase().replace('-', "_")),
            FontKind::Differences => "type1_differences".into(),
            FontKind::TrueTypeSubset => "truetype_subset".into(),
            FontKind::Type0ToUnicode => "type0_identity_h".into(),
            FontKind::Type0NoToUnicode => "type0_no_tounicode".into(),
        }
    }
}

/// Characters a generated drawing may use.
pub fn charset() -> impl Iterator<Item = char> {
    (32u8..127).map(char::from)
}

/// Glyph ids of the embedded fonts: a fixed permutation of the charset, so that a glyph id is
/// never the character code.
fn gid_of(c: char) -> u16 {
    let i = (c as u32 - 32) as u16; // 0..95
    1 + (i * 37 + 11) % 95
}

/// Name of a character's glyph in the Differences font.
fn glyph_name(c: char) -> String {
    const NAMES: [&str; 95] = [
        "space",
        "exclam",
        "quotedbl",
        "numbersign",
        "dollar",
        "percent",
        "ampersand",
        "quotesingle",
        "parenleft",
        "parenright",
        "asterisk",
        "plus",
        "comma",
        "hyphen",
        "period",
        "slash",
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "colon",
        "semicolon",
        "less",
        "equal",
        "greater",
        "question",
        "at",
        "A",
        "B",
        "C",
        "D",
        "E",
        "F",
        "G",
        "H",
        "I",
        "J",
        "K",
        "L",
        "M",
        "N",
        "O",
        "P",
        "Q",
        "R",
        "S",
        "T",
        "U",
        "V",
        "W",
        "X",
        "Y",
        "Z",
        "bracketleft",
        "backslash",
        "bracketright",
        "asciicircum",
        "underscore",
        "grave",
        "a",
        "b",
        "c",
        "d",
        "e",
        "f",
        "g",
        "h",
        "i",
        "j",
        "k",
        "l",
        "m",
        "n",
        "o",
        "p",
        "q",
        "r",
        "s",
        "t",
        "u",
        "v",
        "w",
        "x",
        "y",
        "z",
        "braceleft",
        "bar",
        "braceright",
        "asciitilde",
    ];
    NAMES[(c as u32 - 32) as usize].to_string()
}

fn diff_code(c: char) -> u8 {
    // Printable ASCII moved to 128..=222, space kept at 32 so word spacing still applies.
    if c == ' ' {
        32
    } else {
        128 + (c as u8 - 32)
    }
}

pub struct FontRes {
    pub kind: FontKind,
    pub id: u32,
    widths: [u16; 95],
    /// TrueTypeSubset: code of each char (assigned on first use).
    subset: Vec<char>,
}

impl FontRes {
    /// Width of a character in thousandths of the font size.
    pub fn width(&self, c: char) -> f32 {
        let i = (c as u32).clamp(32, 126) - 32;
        f32::from(self.widths[i as usize])
    }

    pub fn string_width(&self, s: &str, size: f32) -> f32 {
        s.chars().map(|c| self.width(c)).sum::<f32>() * size / 1000.0
    }

    pub fn two_byte(&self) -> bool {
        matches!(
            self.kind,
            FontKind::Type0ToUnicode | FontKind::Type0NoToUnicode
        )
    }

    /// The string operand showing `s`, as a PDF hex string.
    pub fn encode(&mut self, s: &str) -> String {
        let mut out = String::from("<");
        for c in s.chars() {
            let c = if (' '..='~').contains(&c) { c } else { '?' };
            match self.kind {
                FontKind::Standard(_) => out.push_str(&format!("{:02X}", c as u8)),
                FontKind::Differences => out.push_str(&format!("{:02X}", diff_code(c))),
                FontKind::TrueTypeSubset => {
                    let code = match self.subset.iter().position(|x| *x == c) {
                        Some(i) => i,
                        None => {
                            self.subset.push(c);
                            self.subset.len() - 1
                        }
                    };
                    out.push_str(&format!("{:02X}", code + 1));
                }
                FontKind::Type0ToUnicode | FontKind::Type0NoToUnicode => {
                    out.push_str(&format!("{:04X}", gid_of(c)))
                }
            }
        }
        out.push('>');
        out
    }

    /// Whether `c` is shown with the single-byte code 32 (word spacing applies).
    pub fn is_space_code(&self, c: char) -> bool {
        c == ' ' && matches!(self.kind, FontKind::Standard(_) | FontKind::Differences)
    }
}

fn ttf_widths() -> [u16; 95] {
    // A sans font a little wider than Helvetica, so the embedded fonts' metrics differ.
    let mut w = HELVETICA;
    for x in w.iter_mut() {
        *x = (*x as u32 * 108 / 100) as u16;
    }
    w
}

/// Declares the font object now; its dictionary is written by [`finish_font`] once every
/// string has been encoded (a subset font only knows its codes then).
pub fn declare(pdf: &mut Pdf, kind: FontKind) -> FontRes {
    let widths = match kind {
        FontKind::Standard(n) if n.starts_with("Times") => TIMES,
        FontKind::Standard(n) if n.starts_with("Courier") => [600; 95],
        FontKind::Standard(_) | FontKind::Differences => HELVETICA,
        _ => ttf_widths(),
    };
    FontRes {
        kind,
        id: pdf.alloc(),
        widths,
        subset: vec![],
    }
}

pub fn finish_font(pdf: &mut Pdf, f: &FontRes) {
    match f.kind {
        FontKind::Standard(name) => {
            pdf.set(f.id, format!("<< /Type /Font /Subtype /Type1 /BaseFont /{name} /Encoding /WinAnsiEncoding >>"));
        }
        FontKind::Differences => {
            let mut diffs = String::from("129");
            for c in charset().skip(1) {
                diffs.push_str(&format!(" /{}", glyph_name(c)));
            }
            let widths: Vec<String> = (32..=222u32)
                .map(|code| {
                    let c = if code == 32 {
                        Some(' ')
                    } else if code >= 128 {
                        char::from_u32(code - 128 + 32)
                    } else {
                        None
                    };
                    c.map(|c| f.width(c) as u32).unwrap_or(0).to_string()
                })
                .collect();
            pdf.set(
                f.id,
                format!(
                    "<< /Type /Font /Subtype /Type1 /BaseFont /DrawingSans /FirstChar 32 /LastChar 222 /Widths [{}] \
                     /Encoding << /Type /Encoding /BaseEncoding /WinAnsiEncoding /Differences [{}] >> >>",
                    widths.join(" "),
                    diffs
                ),
            );
        }
        FontKind::TrueTypeSubset => {
            let program = truetype(
                &f.subset.iter().map(|c| (*c, 0)).collect::<Vec<_>>(),
                &f.widths,
            );
            let desc = embed_truetype(pdf, "ABCDEF+DrawingSans", &program);
            let mut bf = String::new();
            for (i, c) in f.subset.iter().enumerate() {
                bf.push_str(&format!("<{:02X}> <{:04X}>\n", i + 1, *c as u32));
            }
            let cmap = to_unicode_cmap(1, &bf);
            let tu = pdf.add_stream("", cmap.as_bytes(), true);
            let widths: Vec<String> = f
                .subset
                .iter()
                .map(|c| (f.width(*c) as u32).to_string())
                .collect();
            pdf.set(
                f.id,
                format!(
                    "<< /Type /Font /Subtype /TrueType /BaseFont /ABCDEF+DrawingSans /FirstChar 1 /LastChar {} \
                     /Widths [{}] /FontDescriptor {desc} 0 R /ToUnicode {tu} 0 R >>",
                    f.subset.len().max(1),
                    widths.join(" ")
                ),
            );
        }
        FontKind::Type0ToUnicode | FontKind::Type0NoToUnicode => {
            let glyphs: Vec<(char, u16)> = charset().map(|c| (c, gid_of(c))).collect();
            let program = truetype(&glyphs, &f.widths);
            let desc = embed_truetype(pdf, "GHIJKL+DrawingSans", &program);
            let w: Vec<String> = charset()
                .map(|c| format!("{} [{}]", gid_of(c), f.width(c) as u32))
                .collect();
            let cid = pdf.add(format!(
                "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /GHIJKL+DrawingSans \
                 /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
                 /FontDescriptor {desc} 0 R /DW 1000 /W [{}] /CIDToGIDMap /Identity >>",
                w.join(" ")
            ));
            let tu = if f.kind == FontKind::Type0ToUnicode {
                let mut bf = String::new();
                for c in charset() {
                    bf.push_str(&format!("<{:04X}> <{:04X}>\n", gid_of(c), c as u32));
                }
                let cmap = to_unicode_cmap(2, &bf);
                format!(
                    " /ToUnicode {} 0 R",
                    pdf.add_stream("", cmap.as_bytes(), true)
                )
            } else {
                String::new()
            };
            pdf.set(
                f.id,
                format!(
                    "<< /Type /Font /Subtype /Type0 /BaseFont /GHIJKL+DrawingSans /Encoding /Identity-H \
                     /DescendantFonts [{cid} 0 R]{tu} >>"
                ),
            );
        }
    }
}

/// Embeds a TrueType program; returns its font descriptor.
fn embed_truetype(pdf: &mut Pdf, name: &str, program: &[u8]) -> u32 {
    let font_file = pdf.add_stream(&format!("/Length1 {}", program.len()), program, true);
    pdf.add(format!(
        "<< /Type /FontDescriptor /FontName /{name} /Flags 32 /FontBBox [0 -200 1000 900] \
         /ItalicAngle 0 /Ascent 900 /Descent -200 /CapHeight 700 /StemV 80 /FontFile2 {font_file} 0 R >>"
    ))
}

fn to_unicode_cmap(code_bytes: usize, bfchar: &str) -> String {
    let (lo, hi) = if code_bytes == 1 {
        ("00", "FF")
    } else {
        ("0000", "FFFF")
    };
    // bfchar sections hold at most 100 entries each.
    let lines: Vec<&str> = bfchar.lines().collect();
    let mut sections = String::new();
    for chunk in lines.chunks(100) {
        sections.push_str(&format!(
            "{} beginbfchar\n{}\nendbfchar\n",
            chunk.len(),
            chunk.join("\n")
        ));
    }
    format!(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<{lo}> <{hi}>\nendcodespacerange\n{sections}\
         endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    )
}

/// A minimal TrueType font: `glyphs` maps characters to glyph ids (0 means "next free id").
pub fn truetype(glyphs: &[(char, u16)], widths: &[u16; 95]) -> Vec<u8> {
    let mut map: Vec<(u16, u16)> = glyphs
        .iter()
        .enumerate()
        .map(|(i, (c, g))| (*c as u16, if *g == 0 { i as u16 + 1 } else { *g }))
        .collect();
    map.sort();
    let num_glyphs = map.iter().map(|m| m.1).max().unwrap_or(0) + 1;
    let be16 = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_be_bytes());
    let be32 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_be_bytes());
    // cmap: one format 4 subtable (3,1), one segment per character plus the final 0xFFFF.
    let mut seg_end = vec![];
    let mut seg_start = vec![];
    let mut delta = vec![];
    for (c, g) in &map {
        seg_start.push(*c);
        seg_end.push(*c);
        delta.push(g.wrapping_sub(*c));
    }
    seg_start.push(0xFFFF);
    seg_end.push(0xFFFF);
    delta.push(1);
    let segs = seg_end.len() as u16;
    let mut f4 = vec![];
    be16(&mut f4, 4);
    be16(&mut f4, 0); // length, patched below
    be16(&mut f4, 0);
    be16(&mut f4, segs * 2);
    let mut sr = 1u16;
    let mut es = 0u16;
    while sr * 2 <= segs {
        sr *= 2;
        es += 1;
    }
    be16(&mut f4, sr * 2);
    be16(&mut f4, es);
    be16(&mut f4, segs * 2 - sr * 2);
    for e in &seg_end {
        be16(&mut f4, *e);
    }
    be16(&mut f4, 0);
    for s in &seg_start {
        be16(&mut f4, *s);
    }
    for d in &delta {
        be16(&mut f4, *d);
    }
    for _ in 0..segs {
        be16(&mut f4, 0);
    }
    let len = f4.len() as u16;
    f4[2..4].copy_from_slice(&len.to_be_bytes());
    let mut cmap = vec![];
    be16(&mut cmap, 0);
    be16(&mut cmap, 1);
    be16(&mut cmap, 3);
    be16(&mut cmap, 1);
    be32(&mut cmap, 12);
    cmap.extend_from_slice(&f4);

    let mut head = vec![];
    be32(&mut head, 0x0001_0000);
    be32(&mut head, 0x0001_0000);
    be32(&mut head, 0); // checksum adjustment
    be32(&mut head, 0x5F0F_3CF5);
    be16(&mut head, 0);
    be16(&mut head, 1000); // unitsPerEm
    head.extend_from_slice(&[0u8; 16]); // created, modified
    for v in [0i16, -200, 1000, 900] {
        be16(&mut head, v as u16);
    }
    be16(&mut head, 0);
    be16(&mut head, 8);
    be16(&mut head, 2);
    be16(&mut head, 0); // indexToLocFormat: short
    be16(&mut head, 0);

    let mut hhea = vec![];
    be32(&mut hhea, 0x0001_0000);
    be16(&mut hhea, 900);
    be16(&mut hhea, (-200i16) as u16);
    be16(&mut hhea, 0);
    be16(&mut hhea, 1000);
    for _ in 0..11 {
        be16(&mut hhea, 0);
    }
    be16(&mut hhea, num_glyphs);

    let mut maxp = vec![];
    be32(&mut maxp, 0x0001_0000);
    be16(&mut maxp, num_glyphs);
    for _ in 0..13 {
        be16(&mut maxp, 0);
    }

    let mut hmtx = vec![];
    let mut adv = vec![500u16; num_glyphs as usize];
    for (c, g) in &map {
        let i = (*c as u32).clamp(32, 126) - 32;
        adv[*g as usize] = widths[i as usize];
    }
    for a in adv {
        be16(&mut hmtx, a);
        be16(&mut hmtx, 0);
    }
    let mut loca = vec![];
    for _ in 0..=num_glyphs {
        be16(&mut loca, 0);
    }
    let glyf = vec![0u8; 4];

    let tables: Vec<(&[u8; 4], Vec<u8>)> = vec![
        (b"cmap", cmap),
        (b"glyf", glyf),
        (b"head", head),
        (b"hhea", hhea),
        (b"hmtx", hmtx),
        (b"loca", loca),
        (b"maxp", maxp),
    ];
    let mut out = vec![];
    be32(&mut out, 0x0001_0000);
    be16(&mut out, tables.len() as u16);
    be16(&mut out, 64);
    be16(&mut out, 2);
    be16(&mut out, tables.len() as u16 * 16 - 64);
    let mut offset = 12 + 16 * tables.len();
    let mut body = vec![];
    for (tag, data) in &tables {
        out.extend_from_slice(*tag);
        let sum = data.chunks(4).fold(0u32, |acc, c| {
            let mut b = [0u8; 4];
            b[..c.len()].copy_from_slice(c);
            acc.wrapping_add(u32::from_be_bytes(b))
        });
        be32(&mut out, sum);
        be32(&mut out, offset as u32);
        be32(&mut out, data.len() as u32);
        let mut d = data.clone();
        while d.len() % 4 != 0 {
            d.push(0);
        }
        offset += d.len();
        body.extend_from_slice(&d);
    }
    out.extend_from_slice(&body);
    out
}
