//! Server messages of the protocol (DESIGN.md), as the dashboard and `--events` read them.
//! Every message travels in an [`Envelope`] with the session id and its per-session `seq`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::result::{status_text, FileResult, Outcome};

mod client;
mod vocab;

pub use client::*;
pub use vocab::*;

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileErrorData {
    pub path: String,
    pub file_name: String,
    pub error: String,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServerMessage {
    Started {
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
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
        /// At most [`COMPLETE_CODES_MAX`] codes each; the counts and the report have them all.
        codes_found: Vec<String>,
        codes_not_found: Vec<String>,
        #[serde(default)]
        codes_found_count: u64,
        #[serde(default)]
        codes_not_found_count: u64,
        /// Whether a list was cut to [`COMPLETE_CODES_MAX`].
        #[serde(default)]
        codes_truncated: bool,
        /// Files read that have pages without a text layer (only OCR could read those pages).
        #[serde(default)]
        needs_ocr: u64,
    },
    Cancelled {
        message: String,
    },
    Error {
        message: String,
        code: ErrorCode,
    },
    /// The answer to `subscribe`: the session as it is, every match and file error so far, and
    /// the `seq` this snapshot goes up to.
    SyncState {
        session: SessionState,
        matches: Vec<MatchData>,
        errors: Vec<FileErrorData>,
        last_seq: u64,
        /// The original dashboard's fields, for its `reconnect`.
        #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(skip))]
        original: Option<Box<OriginalSync>>,
    },
    Targets {
        count: u64,
        duplicates: u64,
        sample: Vec<String>,
        sheet: String,
        column: String,
    },
    UploadUrl {
        url: String,
        key: String,
        expires_in: u64,
    },
    ReportUrl {
        download_url: String,
        expires_in: u64,
    },
    Pong {},
}

/// What the original dashboard reads from SYNC_STATE when it reloads (`reconnect`), beside
/// isoscan's own fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OriginalSync {
    /// `IN_PROGRESS` while the scan runs, then `COMPLETE`, `CANCELLED` or `FAILED`.
    pub status: String,
    pub processed_count: u64,
    pub total_files: u64,
    /// 0 to 100.
    pub progress: u64,
    pub results: Vec<OriginalResult>,
    pub message: String,
    /// The report, once the scan has completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
}

/// One row of the original dashboard's table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OriginalResult {
    pub hole_code: String,
    pub file_name: String,
    pub status: String,
    pub pdf_link: String,
}

impl From<&MatchData> for OriginalResult {
    fn from(m: &MatchData) -> Self {
        OriginalResult {
            hole_code: m.hole_code.clone(),
            file_name: m.file_name.clone(),
            status: m.status.clone(),
            pdf_link: m.pdf_link.clone(),
        }
    }
}

/// A session's counters as SYNC_STATE carries them.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionState {
    pub status: SessionStatus,
    pub source: String,
    pub processed: u64,
    pub total: u64,
    pub matches: u64,
    pub errors: u64,
    pub skipped: u64,
    pub listing_done: bool,
    pub target_count: u64,
    /// Unix time in milliseconds.
    pub started_at: u64,
    pub finished_at: Option<u64>,
    pub download_url: Option<String>,
    /// From COMPLETE, once the scan has completed: as cut there, with the full counts.
    #[serde(default)]
    pub codes_found: Vec<String>,
    #[serde(default)]
    pub codes_not_found: Vec<String>,
    #[serde(default)]
    pub codes_found_count: u64,
    #[serde(default)]
    pub codes_not_found_count: u64,
    #[serde(default)]
    pub codes_truncated: bool,
    /// The last message that ended the scan (COMPLETE's, CANCELLED's or ERROR's), if any.
    #[serde(default)]
    pub message: Option<String>,
}

/// The largest message a client is sent, in bytes of JSON: API Gateway's WebSocket frame.
/// What does not fit is paged, never dropped.
pub const MESSAGE_MAX: usize = 128 * 1024;

/// The most codes each of COMPLETE's two lists carries. Lists of 50,000 codes would not fit
/// one WebSocket message (API Gateway's 128 KB) nor one DynamoDB item (400 KB); the report
/// lists every code.
pub const COMPLETE_CODES_MAX: usize = 1_000;

impl ServerMessage {
    /// Whether a client may miss it without harm (a later one supersedes it).
    pub fn is_droppable(&self) -> bool {
        matches!(self, ServerMessage::Progress { .. })
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub session_id: String,
    pub seq: u64,
    /// When the message was sent live (Unix ms); absent on replays and replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub ts: Option<u64>,
    /// On a reply: the `req_id` of the request it answers, when the request had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub req_id: Option<String>,
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
    fn sync_state_carries_the_original_dashboards_fields_only_when_asked() {
        let session = SessionState {
            status: SessionStatus::Running,
            source: "src".into(),
            processed: 3,
            total: 4,
            matches: 1,
            errors: 0,
            skipped: 0,
            listing_done: true,
            target_count: 2,
            started_at: 1,
            finished_at: None,
            download_url: None,
            codes_found: vec![],
            codes_not_found: vec![],
            codes_found_count: 0,
            codes_not_found_count: 0,
            codes_truncated: false,
            message: None,
        };
        let sync = |original| Envelope {
            session_id: "s1".into(),
            seq: 0,
            ts: None,
            req_id: None,
            message: ServerMessage::SyncState {
                session: session.clone(),
                matches: vec![],
                errors: vec![],
                last_seq: 7,
                original,
            },
        };
        let plain = serde_json::to_value(sync(None)).unwrap();
        assert!(plain.get("processed_count").is_none(), "{plain}");
        let original = Some(Box::new(OriginalSync {
            status: "IN_PROGRESS".into(),
            processed_count: 3,
            total_files: 4,
            progress: 75,
            results: vec![OriginalResult {
                hole_code: "A, B".into(),
                file_name: "x.pdf".into(),
                status: "2 Codes".into(),
                pdf_link: "l".into(),
            }],
            message: "Processing: 3/4 files".into(),
            download_url: None,
        }));
        let v = serde_json::to_value(sync(original.clone())).unwrap();
        assert_eq!(v["type"], "SYNC_STATE");
        assert_eq!(v["status"], "IN_PROGRESS");
        assert_eq!(v["session"]["status"], "RUNNING");
        assert_eq!(
            (
                v["processed_count"].as_u64(),
                v["total_files"].as_u64(),
                v["progress"].as_u64()
            ),
            (Some(3), Some(4), Some(75))
        );
        assert_eq!(v["results"][0]["hole_code"], "A, B");
        assert_eq!(v["results"][0]["pdf_link"], "l");
        assert_eq!(v["message"], "Processing: 3/4 files");
        assert!(v.get("download_url").is_none());
        let back: Envelope = serde_json::from_value(v).unwrap();
        assert_eq!(back, sync(original));
    }

    #[test]
    fn client_messages() {
        assert_eq!(
            parse_client(r#"{"action":"ping"}"#),
            Ok(ClientMessage::Ping)
        );
        assert!(matches!(
            parse_client("{"),
            Err(ProtocolError::Malformed(_))
        ));
        assert_eq!(parse_client("[1]"), Err(ProtocolError::NoAction));
        assert_eq!(
            parse_client(r#"{"action":"fly"}"#),
            Err(ProtocolError::UnknownAction("fly".into()))
        );
        let e = parse_client(r#"{"action":"subscribe"}"#).unwrap_err();
        assert!(e.to_string().contains("session_id"), "{e}");
        // The original dashboard's name for subscribe.
        assert_eq!(
            parse_client(r#"{"action":"reconnect","session_id":"s1"}"#),
            Ok(ClientMessage::Subscribe {
                session_id: "s1".into(),
                since: None,
                original: true
            })
        );
        assert!(matches!(
            parse_client(r#"{"action":"subscribe","session_id":"s1"}"#),
            Ok(ClientMessage::Subscribe {
                original: false,
                ..
            })
        ));
        let e = parse_client(r#"{"action":"subscribe","session_id":5}"#).unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadRequest);
        let big = format!(
            r#"{{"action":"ping","x":"{}"}}"#,
            "a".repeat(MAX_CLIENT_MESSAGE)
        );
        assert!(matches!(
            parse_client(&big),
            Err(ProtocolError::TooLarge(_))
        ));
        let m = parse_client(
            r#"{"action":"start_scan","drive_link":" /d ","target_hole_codes":["A"],"options":{"sheet":"2"}}"#,
        )
        .unwrap();
        assert_eq!(
            m,
            ClientMessage::StartScan {
                source: "/d".into(),
                targets: TargetsInput {
                    codes: Some(vec!["A".into()]),
                    sheet: Some("2".into()),
                    ..Default::default()
                },
                pattern: None
            }
        );
        let e = parse_client(
            r#"{"action":"start_scan","drive_link":"/d","target_hole_codes":["A"],"file_content":"x"}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("one way"), "{e}");
        let e = parse_client(
            r#"{"action":"request_upload","file_name":"a.pdf","size":1,"purpose":"x"}"#,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("purpose") || e.to_string().contains("variant"),
            "{e}"
        );
    }

    #[test]
    fn replies_carry_their_type() {
        let v = serde_json::to_value(ServerMessage::Pong {}).unwrap();
        assert_eq!(v, serde_json::json!({"type": "PONG"}));
    }

    #[test]
    fn wire_shape() {
        let r = FileResult {
            file: FileRef {
                id: None,
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
            ts: None,
            req_id: None,
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
