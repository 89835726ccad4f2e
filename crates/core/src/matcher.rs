//! The matching rule: a code occurs in a text when, after both are normalised (NFKC, case
//! folding, dash-like characters read as `-`), its characters appear consecutively with no
//! letter or digit immediately before or after. All codes are found in one Aho-Corasick pass.
//!
//! Text read by OCR is matched more loosely: characters OCR confuses (`0`/`O`, `1`/`I`/`l`,
//! `5`/`S`, `8`/`B`, `2`/`Z`, and the `$` and `|` it reads for `S` and `l`) are taken as the
//! same character, in the code and the text alike, under the same boundary rule. A dash OCR
//! reads as `.`, `~`, `_`, `=` or `,` is a dash; and a `|` may also be a line beside the text
//! rather than a letter, so OCR text is matched a second time with it as a space.

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

/// One character of normalised text as OCR may have read it: the first of its confusion group.
fn ocr_class(c: char) -> char {
    match c {
        'o' => '0',
        'i' | 'l' | '|' => '1',
        's' | '$' => '5',
        'b' => '8',
        'z' => '2',
        // A thin, short stroke between two characters: what OCR makes of a dash on a scan.
        '.' | '~' | '_' | '=' | ',' => '-',
        other => other,
    }
}

/// Normalised text with every OCR confusion group reduced to one character (same length in
/// characters and bytes: every mapped character is ASCII).
pub fn ocr_normalize(s: &str) -> String {
    normalize(s).chars().map(ocr_class).collect()
}

/// [`ocr_normalize`], with `|` read as a space: a line beside a code that OCR took for a
/// character (`|HC-1042`) is no letter before it.
fn ocr_normalize_bar_as_space(s: &str) -> String {
    normalize(s)
        .chars()
        .map(|c| if c == '|' { ' ' } else { ocr_class(c) })
        .collect()
}

/// An automaton over some patterns, and the code each pattern stands for.
struct Automaton {
    ac: AhoCorasick,
    pattern_code: Vec<usize>,
}

impl Automaton {
    /// Codes that normalise to the same string share one pattern; codes that normalise to
    /// nothing are never found.
    fn build(
        codes: &[String],
        norm: fn(&str) -> String,
    ) -> Result<Option<Automaton>, MatcherError> {
        let mut patterns: Vec<String> = Vec::with_capacity(codes.len());
        let mut pattern_code = Vec::with_capacity(codes.len());
        let mut seen = std::collections::HashSet::new();
        for (i, code) in codes.iter().enumerate() {
            let n = norm(code.trim());
            if n.is_empty() || !seen.insert(n.clone()) {
                continue;
            }
            patterns.push(n);
            pattern_code.push(i);
        }
        if patterns.is_empty() {
            return Ok(None);
        }
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .map_err(|e| MatcherError(e.to_string()))?;
        Ok(Some(Automaton { ac, pattern_code }))
    }
}

/// Finds a fixed list of codes in texts.
pub struct Matcher {
    exact: Option<Automaton>,
    /// Built on the first OCR page: a scan of vector drawings never pays for it.
    ocr: std::sync::OnceLock<Option<Automaton>>,
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
        Ok(Matcher {
            exact: Automaton::build(codes, normalize)?,
            ocr: std::sync::OnceLock::new(),
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

    fn find_normalized(&self, norm: &str, f: impl FnMut(usize)) {
        if let Some(a) = &self.exact {
            Self::find_with(a, norm, f);
        }
    }

    fn find_with(a: &Automaton, norm: &str, mut f: impl FnMut(usize)) {
        for m in a.ac.find_overlapping_iter(norm) {
            let before = norm[..m.start()].chars().next_back();
            let after = norm[m.end()..].chars().next();
            if before.is_some_and(is_word_char) || after.is_some_and(is_word_char) {
                continue;
            }
            f(a.pattern_code[m.pattern().as_usize()]);
        }
    }

    fn ocr_automaton(&self) -> Option<&Automaton> {
        // The same patterns, shorter or equal: if the exact automaton was built, so is this one.
        self.ocr
            .get_or_init(|| Automaton::build(&self.codes, ocr_normalize).ok().flatten())
            .as_ref()
    }

    /// Codes of a whole document with the pages each is on. Pages read by OCR are matched
    /// within OCR's confusions.
    pub fn find_in_doc(&self, doc: &DocText) -> DocMatches {
        let mut out: DocMatches = BTreeMap::new();
        for (i, page) in doc.pages.iter().enumerate() {
            let page_no = i as u32 + 1;
            let add = |code: usize, out: &mut DocMatches| {
                let pages = out.entry(code).or_default();
                if pages.last() != Some(&page_no) {
                    pages.push(page_no);
                }
            };
            if page.ocr {
                if let Some(a) = self.ocr_automaton() {
                    let norm = ocr_normalize(&page.text);
                    Self::find_with(a, &norm, |code| add(code, &mut out));
                    if page.text.contains('|') {
                        let norm = ocr_normalize_bar_as_space(&page.text);
                        Self::find_with(a, &norm, |code| add(code, &mut out));
                    }
                }
            } else {
                let norm = normalize(&page.text);
                self.find_normalized(&norm, |code| add(code, &mut out));
            }
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

    fn doc(pages: &[(&str, bool)]) -> DocText {
        DocText {
            pages: pages
                .iter()
                .map(|(t, ocr)| PageText {
                    text: t.to_string(),
                    needs_ocr: false,
                    ocr: *ocr,
                })
                .collect(),
        }
    }

    #[test]
    fn ocr_text_matches_within_the_confusion_groups_only() {
        let codes = [
            "S4-3-250-126-LT",
            "PIPM0000119",
            "BLTS0014856",
            "HC-1042",
            "Z2-80",
        ];
        let mm = m(&codes);
        let found = |t: &str, ocr: bool| -> Vec<&str> {
            mm.find_in_doc(&doc(&[(t, ocr)]))
                .keys()
                .map(|i| codes[*i])
                .collect()
        };
        // What Tesseract reads on the real scanned ISO.
        assert_eq!(found("$4-3-250-126-LT", true), vec!["S4-3-250-126-LT"]);
        assert_eq!(found("PIPMOOOO119", true), vec!["PIPM0000119"]);
        assert_eq!(found("8LT5OO1485G", true), Vec::<&str>::new(), "G is not 6");
        assert_eq!(
            found("BLTSOOl4856 and hc-lO42", true),
            vec!["BLTS0014856", "HC-1042"]
        );
        assert_eq!(found("22-8O", true), vec!["Z2-80"]);
        // The boundary rule still holds, after the groups are applied.
        assert_eq!(found("XHC-1042", true), Vec::<&str>::new());
        assert_eq!(found("HC-10425", true), Vec::<&str>::new());
        assert_eq!(
            found("HC-1042S", true),
            Vec::<&str>::new(),
            "S is 5: a digit after"
        );
        // Other characters are not confused: 9 is not 8, 7 is not 1.
        assert_eq!(found("PIPM0000118 HC-7042", true), Vec::<&str>::new());
        // A dash read as a dot, a tilde, a low line, an equals sign or a comma is a dash; a
        // missing one is not.
        for t in ["HC.1042", "HC~1042", "HC_1042", "HC=1042", "HC,1042"] {
            assert_eq!(found(t, true), vec!["HC-1042"], "{t}");
        }
        assert_eq!(found("HC 1042 HC1042", true), Vec::<&str>::new());
        // A bar before or after a code is a line beside it, or the letter it looks like.
        assert_eq!(found("|HC-1042| x", true), vec!["HC-1042"]);
        assert_eq!(
            found("P|PM0000119", true),
            vec!["PIPM0000119"],
            "a bar that is I"
        );
        assert_eq!(found("H|C-1042", true), Vec::<&str>::new());
        assert_eq!(
            found("HC.1042", false),
            Vec::<&str>::new(),
            "text layers: exact"
        );
        // A text layer is matched exactly.
        assert_eq!(
            found("$4-3-250-126-LT PIPMOOOO119", false),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn pages_are_recorded() {
        let c = m(&["A-1", "B-2"]);
        let doc = DocText {
            pages: vec![
                PageText {
                    ocr: false,
                    text: "A-1 B-2".into(),
                    needs_ocr: false,
                },
                PageText {
                    ocr: false,
                    text: "nothing".into(),
                    needs_ocr: false,
                },
                PageText {
                    ocr: false,
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
                    ocr: false,
                    text: "HOLE-12 near HC\u{2013}7 and XHC-9 HC-7".into(),
                    needs_ocr: false,
                },
                PageText {
                    ocr: false,
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
