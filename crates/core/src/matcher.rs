//! The matching rule: a code occurs in a text when, after both are normalised (NFKC, case
//! folding, dash-like characters read as `-`), its characters appear consecutively with no
//! letter or digit immediately before or after. All codes are found in one Aho-Corasick pass.

use std::collections::BTreeMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use unicode_normalization::UnicodeNormalization;

use crate::text::DocText;

fn is_dash(c: char) -> bool {
    matches!(
        c,
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' | '\u{FF0D}'
    )
}

/// Normalises text or a code for matching.
pub fn normalize(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.nfkc() {
        if is_dash(c) {
            out.push('-');
        } else {
            out.extend(c.to_lowercase());
        }
    }
    // Lower-casing can leave text that is not NFKC again (rare); a second pass settles it.
    if out.is_ascii() {
        out
    } else {
        out.nfkc().collect()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot build the matcher: {0}")]
pub struct MatcherError(String);

/// Finds a fixed list of codes in texts.
pub struct Matcher {
    ac: Option<AhoCorasick>,
    /// For each automaton pattern, the index of its code in the list given to [`Matcher::new`].
    pattern_code: Vec<usize>,
    codes: Vec<String>,
}

/// Codes found in one document: index into the code list, and the 1-based pages.
pub type DocMatches = BTreeMap<usize, Vec<u32>>;

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

impl Matcher {
    /// Codes that normalise to the same string share one pattern; codes that normalise to
    /// nothing are never found.
    pub fn new(codes: &[String]) -> Result<Matcher, MatcherError> {
        let mut patterns: Vec<String> = Vec::with_capacity(codes.len());
        let mut pattern_code = Vec::with_capacity(codes.len());
        let mut seen = std::collections::HashMap::new();
        for (i, code) in codes.iter().enumerate() {
            let n = normalize(code.trim());
            if n.is_empty() || seen.contains_key(&n) {
                continue;
            }
            seen.insert(n.clone(), i);
            patterns.push(n);
            pattern_code.push(i);
        }
        let ac = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)
                    .map_err(|e| MatcherError(e.to_string()))?,
            )
        };
        Ok(Matcher {
            ac,
            pattern_code,
            codes: codes.to_vec(),
        })
    }

    pub fn codes(&self) -> &[String] {
        &self.codes
    }

    /// Indexes of the codes that occur in `text`, each once, in code-list order.
    pub fn find(&self, text: &str) -> Vec<usize> {
        let mut found = vec![];
        let norm = normalize(text);
        self.find_normalized(&norm, |i| found.push(i));
        found.sort_unstable();
        found.dedup();
        found
    }

    fn find_normalized(&self, norm: &str, mut f: impl FnMut(usize)) {
        let Some(ac) = &self.ac else { return };
        for m in ac.find_overlapping_iter(norm) {
            let before = norm[..m.start()].chars().next_back();
            let after = norm[m.end()..].chars().next();
            if before.is_some_and(is_word_char) || after.is_some_and(is_word_char) {
                continue;
            }
            f(self.pattern_code[m.pattern().as_usize()]);
        }
    }

    /// Codes of a whole document with the pages each is on.
    pub fn find_in_doc(&self, doc: &DocText) -> DocMatches {
        let mut out: DocMatches = BTreeMap::new();
        for (i, page) in doc.pages.iter().enumerate() {
            let norm = normalize(&page.text);
            let page_no = i as u32 + 1;
            self.find_normalized(&norm, |code| {
                let pages = out.entry(code).or_default();
                if pages.last() != Some(&page_no) {
                    pages.push(page_no);
                }
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::PageText;

    fn m(codes: &[&str]) -> Matcher {
        Matcher::new(&codes.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn examples_of_the_rule() {
        let hc = m(&["HC-1042"]);
        assert_eq!(hc.find("see hc\u{2013}1042 (typ.)"), vec![0]);
        assert_eq!(hc.find("CODE-HC-1042"), vec![0]);
        assert!(hc.find("HC-10421").is_empty());
        assert!(hc.find("XHC-1042").is_empty());
        assert!(hc.find("HC-1042A").is_empty());
        assert_eq!(hc.find("6\"-HC-1042-A1A"), vec![0]);
        assert_eq!(hc.find("HC\u{2212}1042"), vec![0]);
        assert_eq!(hc.find("HC\u{FF0D}1042"), vec![0]);
        // NFKC: full-width letters and digits.
        assert_eq!(
            hc.find("\u{FF28}\u{FF23}-\u{FF11}\u{FF10}\u{FF14}\u{FF12}"),
            vec![0]
        );
        // Letters outside ASCII count as letters at the boundary.
        assert!(hc.find("\u{00C9}HC-1042").is_empty());
    }

    #[test]
    fn prefixes_are_told_apart() {
        let both = m(&["HC-104", "HC-1042"]);
        assert_eq!(both.find("HC-1042"), vec![1]);
        assert_eq!(both.find("HC-104 and HC-1042"), vec![0, 1]);
        assert_eq!(both.find("HC-104"), vec![0]);
    }

    #[test]
    fn codes_normalise_too() {
        let c = m(&["hc\u{2011}1042", "HC-1042", "  ", "mov-001"]);
        assert_eq!(c.find("HC-1042"), vec![0]);
        assert_eq!(c.find("MOV-001"), vec![3]);
    }

    #[test]
    fn pages_are_recorded() {
        let c = m(&["A-1", "B-2"]);
        let doc = DocText {
            pages: vec![
                PageText {
                    text: "A-1 B-2".into(),
                    needs_ocr: false,
                },
                PageText {
                    text: "nothing".into(),
                    needs_ocr: false,
                },
                PageText {
                    text: "B-2\nB-2".into(),
                    needs_ocr: false,
                },
            ],
        };
        let r = c.find_in_doc(&doc);
        assert_eq!(r.get(&0), Some(&vec![1]));
        assert_eq!(r.get(&1), Some(&vec![1, 3]));
    }
}

/// Codes found by a pattern, for scans without a target list.
pub struct Discoverer {
    re: regex::Regex,
}

impl Discoverer {
    /// The default discovery pattern of DESIGN.md.
    pub const DEFAULT: &'static str = r"\b(?:HOLE|HC)-\d+\b";

    pub fn new(pattern: &str) -> Result<Discoverer, MatcherError> {
        regex::RegexBuilder::new(pattern)
            .size_limit(1 << 22)
            .build()
            .map(|re| Discoverer { re })
            .map_err(|e| MatcherError(format!("invalid pattern: {e}")))
    }

    /// Distinct codes in order of first appearance, with their pages.
    pub fn find_in_doc(&self, doc: &DocText) -> Vec<(String, Vec<u32>)> {
        let mut out: Vec<(String, Vec<u32>)> = vec![];
        for (i, page) in doc.pages.iter().enumerate() {
            let page_no = i as u32 + 1;
            // Dashes are read as `-`, as for targets; case is kept as drawn.
            let text: std::borrow::Cow<str> = if page.text.chars().any(is_dash) {
                page.text
                    .chars()
                    .map(|c| if is_dash(c) { '-' } else { c })
                    .collect::<String>()
                    .into()
            } else {
                page.text.as_str().into()
            };
            for m in self.re.find_iter(&text) {
                let code = m.as_str().to_string();
                match out.iter_mut().find(|(c, _)| *c == code) {
                    Some((_, pages)) => {
                        if pages.last() != Some(&page_no) {
                            pages.push(page_no);
                        }
                    }
                    None => out.push((code, vec![page_no])),
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod discover_tests {
    use super::*;
    use crate::text::PageText;

    #[test]
    fn default_pattern_finds_hole_codes() {
        let d = Discoverer::new(Discoverer::DEFAULT).unwrap();
        let doc = DocText {
            pages: vec![
                PageText {
                    text: "HOLE-12 near HC\u{2013}7 and XHC-9 HC-7".into(),
                    needs_ocr: false,
                },
                PageText {
                    text: "HC-7".into(),
                    needs_ocr: false,
                },
            ],
        };
        assert_eq!(
            d.find_in_doc(&doc),
            vec![
                ("HOLE-12".to_string(), vec![1]),
                ("HC-7".to_string(), vec![1, 2])
            ]
        );
        assert!(Discoverer::new("(").is_err());
    }
}
