//! Server messages of the protocol (DESIGN.md), as the dashboard and `--events` read them.
//! Every message travels in an [`Envelope`] with the session id and its per-session `seq`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::result::{status_text, FileResult, Outcome};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchData {
    /// Codes joined with ", ", as the original dashboard shows them.
    pub hole_code: String,
    pub file_name: String,
    pub status: String,
    pub pdf_link: String,
    pub path: String,
    pub codes: Vec<String>,
    pub pages: BTreeMap<String, Vec<u32>>,
    pub ocr: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileErrorData {
    pub path: String,
    pub file_name: String,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServerMessage {
    Started {
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        total_files: Option<u64>,
    },
    Progress {
        value: u8,
        processed: u64,
        total: u64,
        matches: u64,
        errors: u64,
    },
    MatchFound {
        data: MatchData,
    },
    FileError {
        data: FileErrorData,
    },
    Complete {
        download_url: String,
        total_matches: u64,
        total_processed: u64,
        message: String,
        total_files: u64,
        errors: u64,
        skipped: u64,
        codes_found: Vec<String>,
        codes_not_found: Vec<String>,
        /// Files read that have pages without a text layer (only OCR could read those pages).
        #[serde(default)]
        needs_ocr: u64,
    },
    Cancelled {
        message: String,
    },
    Error {
        message: String,
        code: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub session_id: String,
    pub seq: u64,
    #[serde(flatten)]
    pub message: ServerMessage,
}

impl ServerMessage {
    /// MATCH_FOUND for a file with codes, FILE_ERROR for an unreadable one, nothing otherwise.
    pub fn for_result(r: &FileResult) -> Option<ServerMessage> {
        match &r.outcome {
            Outcome::Read {
                codes, pages, ocr, ..
            } if !codes.is_empty() => Some(ServerMessage::MatchFound {
                data: MatchData {
                    hole_code: codes.join(", "),
                    file_name: r.file.file_name().to_string(),
                    status: status_text(codes.len()),
                    pdf_link: first_page_link(&r.file.link, codes, pages),
                    path: r.file.path.clone(),
                    codes: codes.clone(),
                    pages: pages.clone(),
                    ocr: *ocr,
                },
            }),
            Outcome::Read { .. } => None,
            Outcome::Error { reason } => Some(ServerMessage::FileError {
                data: FileErrorData {
                    path: r.file.path.clone(),
                    file_name: r.file.file_name().to_string(),
                    error: reason.clone(),
                },
            }),
        }
    }
}

/// The drawing's link, opened at the first page a code is on.
pub fn first_page_link(link: &str, codes: &[String], pages: &BTreeMap<String, Vec<u32>>) -> String {
    let first = codes
        .iter()
        .filter_map(|c| pages.get(c).and_then(|p| p.first()))
        .min();
    match first {
        Some(p) if !link.is_empty() && !link.contains('#') => format!("{link}#page={p}"),
        _ => link.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::FileRef;

    #[test]
    fn wire_shape() {
        let r = FileResult {
            file: FileRef {
                path: "a/b/ISO-1.pdf".into(),
                size: None,
                link: "file:///x/a/b/ISO-1.pdf".into(),
            },
            outcome: Outcome::Read {
                codes: vec!["B".into(), "A".into()],
                pages: [("A".to_string(), vec![1]), ("B".to_string(), vec![1, 3])]
                    .into_iter()
                    .collect(),
                ocr: false,
                needs_ocr: vec![],
            },
        };
        let env = Envelope {
            session_id: "s1".into(),
            seq: 7,
            message: ServerMessage::for_result(&r).unwrap(),
        };
        let v: serde_json::Value = serde_json::to_value(&env).unwrap();
        assert_eq!(v["type"], "MATCH_FOUND");
        assert_eq!(v["seq"], 7);
        assert_eq!(v["data"]["hole_code"], "B, A");
        assert_eq!(v["data"]["status"], "2 Codes");
        assert_eq!(v["data"]["file_name"], "ISO-1.pdf");
        assert_eq!(v["data"]["pdf_link"], "file:///x/a/b/ISO-1.pdf#page=1");
        assert_eq!(v["data"]["pages"]["B"], serde_json::json!([1, 3]));
        let back: Envelope = serde_json::from_value(v).unwrap();
        assert_eq!(back, env);
    }
}
