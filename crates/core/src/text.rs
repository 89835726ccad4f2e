//! The text of a drawing as the matcher reads it: one string per page.

use serde::{Deserialize, Serialize};

/// Text of one page: words separated by spaces, lines (runs of words sharing a baseline and a
/// writing direction) separated by newlines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageText {
    pub text: String,
    /// The page has no usable text layer (no glyphs, or only glyphs that decode to nothing):
    /// only OCR could read it.
    pub needs_ocr: bool,
    /// The text was read by OCR: codes match it within OCR's confusions (see the matcher).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ocr: bool,
}

/// Text of a whole drawing, page by page (page 1 first).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocText {
    pub pages: Vec<PageText>,
}

impl DocText {
    /// Pages (1-based) that have no usable text layer and were not read by OCR.
    pub fn pages_needing_ocr(&self) -> Vec<u32> {
        self.pages
            .iter()
            .enumerate()
            .filter(|(_, p)| p.needs_ocr && !p.ocr)
            .map(|(i, _)| i as u32 + 1)
            .collect()
    }

    /// Puts in the text OCR read of pages (1-based), marking them read by OCR; pages out of
    /// range are ignored.
    pub fn apply_ocr(&mut self, texts: impl IntoIterator<Item = (u32, String)>) {
        for (n, text) in texts {
            if let Some(p) = n
                .checked_sub(1)
                .and_then(|i| self.pages.get_mut(i as usize))
            {
                p.text = text;
                p.ocr = true;
            }
        }
    }

    /// Whether page `n` (1-based) was read by OCR.
    pub fn is_ocr_page(&self, n: u32) -> bool {
        n >= 1 && self.pages.get(n as usize - 1).is_some_and(|p| p.ocr)
    }
}
