//! What a scan learns about one file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A file as a source lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// Path under the scanned folder, `/`-separated; unique within a scan.
    pub path: String,
    pub size: Option<u64>,
    /// Where the drawing opens in a browser or viewer.
    pub link: String,
    /// The source's own handle of the file where its path does not find it (a Drive file ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Whether a file is a drawing by its name: a PDF, or a picture OCR reads (PNG, JPEG, TIFF).
pub fn is_drawing_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"]
        .iter()
        .any(|e| lower.ends_with(e))
}

impl FileRef {
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// The file was read. `codes` is empty when no code is on it.
    Read {
        /// Codes found, in target-list order (or in order found, without a list).
        codes: Vec<String>,
        /// Pages (1-based) each code is on.
        pages: BTreeMap<String, Vec<u32>>,
        /// Some code was matched in OCR text.
        ocr: bool,
        /// Pages without a usable text layer.
        needs_ocr: Vec<u32>,
    },
    /// The file could not be read.
    Error { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileResult {
    pub file: FileRef,
    pub outcome: Outcome,
}

impl FileResult {
    pub fn codes(&self) -> &[String] {
        match &self.outcome {
            Outcome::Read { codes, .. } => codes,
            Outcome::Error { .. } => &[],
        }
    }

    pub fn is_match(&self) -> bool {
        !self.codes().is_empty()
    }

    pub fn is_error(&self) -> bool {
        matches!(self.outcome, Outcome::Error { .. })
    }
}

/// `"1 Code"`, `"N Codes"` or `"No Match"`.
pub fn status_text(n: usize) -> String {
    match n {
        0 => "No Match".to_string(),
        1 => "1 Code".to_string(),
        n => format!("{n} Codes"),
    }
}
