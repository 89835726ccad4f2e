//! A zero-copy tokenizer for content streams and CMaps.
//!
//! Content streams of drawings are mostly path operators; this lexer keeps them cheap (numbers
//! are parsed only when an operator reads them) and bounded (nesting of arrays and
//! dictionaries is capped, so hostile input cannot recurse).

use std::borrow::Cow;

/// Arrays and dictionaries nested deeper than this are flattened into `Operand::Other`.
const MAX_NESTING: usize = 32;
/// Elements kept per array; the rest are counted but dropped.
const MAX_ARRAY: usize = 65_536;

#[derive(Debug, Clone, PartialEq)]
pub enum Operand<'a> {
    Num(f32),
    Name(&'a [u8]),
    Str(Cow<'a, [u8]>),
    Array(Vec<Operand<'a>>),
    /// Dictionaries, booleans, null and whatever else no text operator reads.
    Other,
}

impl Operand<'_> {
    pub fn num(&self) -> Option<f32> {
        match self {
            Operand::Num(n) => Some(*n),
            _ => None,
        }
    }
}

#[derive(Debug, PartialEq)]
pub enum Token<'a> {
    Operand(Operand<'a>),
    /// An operator keyword (`Tj`, `cm`, `begincodespacerange`, ...).
    Op(&'a [u8]),
    /// Binary data of an inline image (between `ID` and `EI`), skipped.
    InlineImage,
}

pub struct Lexer<'a> {
    data: &'a [u8],
    pos: usize,
}

#[inline]
fn is_white(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b'\x0c' | b'\0')
}

#[inline]
fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

#[inline]
fn is_regular(b: u8) -> bool {
    !is_white(b) && !is_delim(b)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Parses a PDF number (`12`, `-3.5`, `.5`, `4.`); malformed numbers read as 0, as viewers do.
pub fn parse_num(s: &[u8]) -> f32 {
    let mut i = 0;
    let mut neg = false;
    while i < s.len() && (s[i] == b'-' || s[i] == b'+') {
        neg = s[i] == b'-';
        i += 1;
    }
    let mut int: f64 = 0.0;
    while i < s.len() && s[i].is_ascii_digit() {
        int = int * 10.0 + f64::from(s[i] - b'0');
        i += 1;
    }
    if i < s.len() && s[i] == b'.' {
        i += 1;
        let mut scale = 0.1;
        while i < s.len() && s[i].is_ascii_digit() {
            int += f64::from(s[i] - b'0') * scale;
            scale *= 0.1;
            i += 1;
        }
    }
    let v = if neg { -int } else { int };
    if v.is_finite() {
        v as f32
    } else {
        0.0
    }
}

impl<'a> Lexer<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Lexer { data, pos: 0 }
    }

    fn skip_ws(&mut self) {
        while self.pos < self.data.len() {
            let b = self.data[self.pos];
            if is_white(b) {
                self.pos += 1;
            } else if b == b'%' {
                while self.pos < self.data.len() && !matches!(self.data[self.pos], b'\n' | b'\r') {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn regular_run(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.pos < self.data.len() && is_regular(self.data[self.pos]) {
            self.pos += 1;
        }
        &self.data[start..self.pos]
    }

    fn literal_string(&mut self) -> Cow<'a, [u8]> {
        // self.pos is just after '('
        let start = self.pos;
        let mut depth = 1usize;
        let mut plain = true;
        let mut i = self.pos;
        while i < self.data.len() {
            match self.data[i] {
                b'\\' => {
                    plain = false;
                    i += 2;
                    continue;
                }
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                b'\r' => plain = false,
                _ => {}
            }
            i += 1;
        }
        let end = i.min(self.data.len());
        self.pos = (end + 1).min(self.data.len());
        let raw = &self.data[start..end];
        if plain {
            return Cow::Borrowed(raw);
        }
        let mut out = Vec::with_capacity(raw.len());
        let mut j = 0;
        while j < raw.len() {
            let b = raw[j];
            if b == b'\\' && j + 1 < raw.len() {
                j += 1;
                let e = raw[j];
                match e {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'\r' => {
                        if j + 1 < raw.len() && raw[j + 1] == b'\n' {
                            j += 1;
                        }
                    }
                    b'\n' => {}
                    b'0'..=b'7' => {
                        let mut v: u32 = 0;
                        let mut k = 0;
                        while k < 3 && j < raw.len() && (b'0'..=b'7').contains(&raw[j]) {
                            v = v * 8 + u32::from(raw[j] - b'0');
                            j += 1;
                            k += 1;
                        }
                        out.push((v & 0xff) as u8);
                        continue;
                    }
                    other => out.push(other),
                }
                j += 1;
            } else if b == b'\r' {
                out.push(b'\n');
                if j + 1 < raw.len() && raw[j + 1] == b'\n' {
                    j += 1;
                }
                j += 1;
            } else {
                out.push(b);
                j += 1;
            }
        }
        Cow::Owned(out)
    }

    fn hex_string(&mut self) -> Cow<'a, [u8]> {
        // self.pos is just after '<'
        let mut out = Vec::new();
        let mut hi: Option<u8> = None;
        while self.pos < self.data.len() {
            let b = self.data[self.pos];
            self.pos += 1;
            if b == b'>' {
                break;
            }
            if let Some(v) = hex_val(b) {
                match hi.take() {
                    Some(h) => out.push(h << 4 | v),
                    None => hi = Some(v),
                }
            }
        }
        if let Some(h) = hi {
            out.push(h << 4);
        }
        Cow::Owned(out)
    }

    /// Skips a dictionary body (after `<<`), balancing nested dictionaries and strings.
    fn skip_dict(&mut self) {
        let mut depth = 1usize;
        while self.pos < self.data.len() && depth > 0 {
            let b = self.data[self.pos];
            match b {
                b'(' => {
                    self.pos += 1;
                    self.literal_string();
                }
                b'<' if self.data.get(self.pos + 1) == Some(&b'<') => {
                    depth += 1;
                    self.pos += 2;
                }
                b'>' if self.data.get(self.pos + 1) == Some(&b'>') => {
                    depth -= 1;
                    self.pos += 2;
                }
                b'<' => {
                    self.pos += 1;
                    self.hex_string();
                }
                _ => self.pos += 1,
            }
        }
    }

    fn operand(&mut self, depth: usize) -> Option<Token<'a>> {
        self.skip_ws();
        if self.pos >= self.data.len() {
            return None;
        }
        let b = self.data[self.pos];
        let tok = match b {
            b'/' => {
                self.pos += 1;
                Token::Operand(Operand::Name(self.regular_run()))
            }
            b'(' => {
                self.pos += 1;
                Token::Operand(Operand::Str(self.literal_string()))
            }
            b'<' => {
                if self.data.get(self.pos + 1) == Some(&b'<') {
                    self.pos += 2;
                    self.skip_dict();
                    Token::Operand(Operand::Other)
                } else {
                    self.pos += 1;
                    Token::Operand(Operand::Str(self.hex_string()))
                }
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.pos >= self.data.len() {
                        break;
                    }
                    if self.data[self.pos] == b']' {
                        self.pos += 1;
                        break;
                    }
                    if depth >= MAX_NESTING && self.data[self.pos] == b'[' {
                        // Too deep: skip this element's bracket without recursing.
                        self.pos += 1;
                        continue;
                    }
                    match self.operand(depth + 1) {
                        Some(Token::Operand(o)) => {
                            if items.len() < MAX_ARRAY {
                                items.push(o);
                            }
                        }
                        Some(_) => {}
                        None => break,
                    }
                }
                Token::Operand(Operand::Array(items))
            }
            b']' | b'>' | b')' | b'{' | b'}' => {
                self.pos += 1;
                Token::Operand(Operand::Other)
            }
            b'+' | b'-' | b'.' | b'0'..=b'9' => {
                let run = self.regular_run();
                Token::Operand(Operand::Num(parse_num(run)))
            }
            _ => {
                let run = self.regular_run();
                if run.is_empty() {
                    self.pos += 1;
                    return Some(Token::Operand(Operand::Other));
                }
                match run {
                    b"true" | b"false" | b"null" => Token::Operand(Operand::Other),
                    b"ID" => {
                        self.skip_inline_image();
                        Token::InlineImage
                    }
                    _ => Token::Op(run),
                }
            }
        };
        Some(tok)
    }

    /// After `ID`: skips binary data up to an `EI` that stands alone between whitespace.
    fn skip_inline_image(&mut self) {
        if self.pos < self.data.len() && is_white(self.data[self.pos]) {
            self.pos += 1;
        }
        let d = self.data;
        let mut i = self.pos;
        while i + 1 < d.len() {
            if d[i] == b'E'
                && d[i + 1] == b'I'
                && (i == 0 || is_white(d[i - 1]))
                && (i + 2 >= d.len() || is_white(d[i + 2]))
            {
                self.pos = i + 2;
                return;
            }
            i += 1;
        }
        self.pos = d.len();
    }

    pub fn next_token(&mut self) -> Option<Token<'a>> {
        self.operand(0)
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Token<'a>;
    fn next(&mut self) -> Option<Token<'a>> {
        self.next_token()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_of_a_text_object() {
        let toks: Vec<_> = Lexer::new(
            b"BT /F1 12 Tf 1 0 0 1 -3.5 .5 Tm (a\\(b\\)\\101) Tj [(x) -120 <4142>] TJ ET",
        )
        .collect();
        assert_eq!(toks[0], Token::Op(b"BT"));
        assert_eq!(toks[1], Token::Operand(Operand::Name(b"F1")));
        assert_eq!(toks[2], Token::Operand(Operand::Num(12.0)));
        assert_eq!(toks[8], Token::Operand(Operand::Num(-3.5)));
        assert_eq!(toks[9], Token::Operand(Operand::Num(0.5)));
        assert_eq!(
            toks[11],
            Token::Operand(Operand::Str(Cow::Owned(b"a(b)A".to_vec())))
        );
        match &toks[13] {
            Token::Operand(Operand::Array(a)) => {
                assert_eq!(a.len(), 3);
                assert_eq!(a[2], Operand::Str(Cow::Owned(b"AB".to_vec())));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn inline_images_and_deep_arrays_are_skipped() {
        let toks: Vec<_> = Lexer::new(b"BI /W 1 ID \x00EI\x01 EI Q").collect();
        assert!(toks.contains(&Token::InlineImage));
        assert_eq!(toks.last(), Some(&Token::Op(b"Q")));
        let deep = "[".repeat(100_000);
        assert!(Lexer::new(deep.as_bytes()).count() >= 1);
    }
}
