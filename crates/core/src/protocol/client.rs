//! Client messages (the `action` field): the wire forms the dashboard sends, parsed into
//! [`ClientMessage`] with an error that names what is wrong.

use serde::{Deserialize, Serialize};

use super::ErrorCode;

/// How the client gives the code list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TargetsInput {
    /// Codes as an array.
    pub codes: Option<Vec<String>>,
    /// A workbook, base64.
    pub file_content: Option<String>,
    /// A workbook uploaded with `request_upload`.
    pub upload: Option<String>,
    pub sheet: Option<String>,
    pub column: Option<String>,
}

impl TargetsInput {
    pub fn is_empty(&self) -> bool {
        self.codes.is_none() && self.file_content.is_none() && self.upload.is_none()
    }
}

/// What the client asks (the `action` field).
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    StartScan {
        source: String,
        targets: TargetsInput,
        pattern: Option<String>,
    },
    RequestUpload {
        file_name: String,
        size: u64,
        purpose: UploadPurpose,
        /// Adds the file to an earlier upload of drawings (several files, one folder).
        key: Option<String>,
    },
    CheckTargets {
        targets: TargetsInput,
    },
    Subscribe {
        session_id: String,
        since: Option<u64>,
        /// Sent as the original dashboard's `reconnect`: SYNC_STATE carries its fields too.
        original: bool,
    },
    CancelScan {
        session_id: String,
    },
    GetReport {
        session_id: String,
    },
    Ping,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadPurpose {
    Targets,
    Drawings,
}

/// Largest client message, in bytes.
pub const MAX_CLIENT_MESSAGE: usize = 128 * 1024;
/// The largest message API Gateway's WebSocket API takes ("128 KB"; read as the smaller 128,000).
pub const API_GATEWAY_MESSAGE: usize = 128_000;
/// Largest `file_content`, in bytes of the decoded workbook: base64 makes it a third larger,
/// and with the rest of a `start_scan` it must still fit one API Gateway message (larger lists
/// are uploaded).
pub const MAX_FILE_CONTENT: usize = 88 * 1024;

/// Why a client message was refused; the text is what the client is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("message too large: {0} bytes (at most {MAX_CLIENT_MESSAGE})")]
    TooLarge(usize),
    #[error("not valid JSON: {0}")]
    Malformed(String),
    #[error("a message must be a JSON object with an \"action\" field")]
    NoAction,
    #[error("unknown action \"{0}\" (known: start_scan, request_upload, check_targets, subscribe, cancel_scan, get_report, ping)")]
    UnknownAction(String),
    #[error("{action}: {message}")]
    BadField { action: String, message: String },
}

impl ProtocolError {
    /// The `code` of the ERROR message.
    pub fn code(&self) -> ErrorCode {
        match self {
            ProtocolError::TooLarge(_) => ErrorCode::TooLarge,
            ProtocolError::Malformed(_) => ErrorCode::Malformed,
            ProtocolError::NoAction => ErrorCode::NoAction,
            ProtocolError::UnknownAction(_) => ErrorCode::UnknownAction,
            ProtocolError::BadField { .. } => ErrorCode::BadRequest,
        }
    }
}

// The fields of each action as the client sends them (besides `action` and `req_id`). They
// are public for the TypeScript types of the dashboard, generated from them.

#[derive(Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "StartScanFields"))]
pub struct StartScanWire {
    /// The location: a folder, an archive, `upload:KEY`, `s3://…` or a Drive link.
    drive_link: String,
    #[cfg_attr(feature = "ts", ts(optional))]
    target_hole_codes: Option<Vec<String>>,
    #[cfg_attr(feature = "ts", ts(optional))]
    file_content: Option<String>,
    #[cfg_attr(feature = "ts", ts(optional))]
    targets_upload: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    options: Option<ScanOptionsWire>,
}

#[derive(Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ScanOptions"))]
pub struct ScanOptionsWire {
    #[cfg_attr(feature = "ts", ts(optional))]
    sheet: Option<String>,
    #[cfg_attr(feature = "ts", ts(optional))]
    column: Option<String>,
    #[cfg_attr(feature = "ts", ts(optional))]
    pattern: Option<String>,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "RequestUploadFields"))]
pub struct RequestUploadWire {
    file_name: String,
    size: u64,
    purpose: UploadPurpose,
    #[cfg_attr(feature = "ts", ts(optional))]
    key: Option<String>,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "CheckTargetsFields"))]
pub struct CheckTargetsWire {
    #[cfg_attr(feature = "ts", ts(optional))]
    file_content: Option<String>,
    #[cfg_attr(feature = "ts", ts(optional))]
    targets_upload: Option<String>,
    #[cfg_attr(feature = "ts", ts(optional))]
    target_hole_codes: Option<Vec<String>>,
    #[cfg_attr(feature = "ts", ts(optional))]
    sheet: Option<String>,
    #[cfg_attr(feature = "ts", ts(optional))]
    column: Option<String>,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "SessionFields"))]
pub struct SessionWire {
    session_id: String,
    #[cfg_attr(feature = "ts", ts(optional))]
    since: Option<u64>,
}

/// Every action, with the fields it takes (`None`: none): what the parser knows, and what the
/// dashboard's types are generated from.
pub const ACTIONS: [(&str, Option<&str>); 8] = [
    ("start_scan", Some("StartScanFields")),
    ("request_upload", Some("RequestUploadFields")),
    ("check_targets", Some("CheckTargetsFields")),
    ("subscribe", Some("SessionFields")),
    ("reconnect", Some("SessionFields")),
    ("cancel_scan", Some("SessionFields")),
    ("get_report", Some("SessionFields")),
    ("ping", None),
];

/// Longest `req_id` echoed.
pub const MAX_REQ_ID: usize = 64;

/// Parses one client message with its `req_id`. The id comes back with a refusal too, when
/// the message had a readable one.
pub fn parse_request(text: &str) -> (Option<String>, Result<ClientMessage, ProtocolError>) {
    let req_id = (text.len() <= MAX_CLIENT_MESSAGE)
        .then(|| serde_json::from_str::<serde_json::Value>(text).ok())
        .flatten()
        .and_then(|v| v.get("req_id").and_then(|r| r.as_str()).map(str::to_string))
        .filter(|r| r.len() <= MAX_REQ_ID);
    (req_id, parse_client(text))
}

fn field<T: serde::de::DeserializeOwned>(
    action: &str,
    v: serde_json::Value,
) -> Result<T, ProtocolError> {
    // The error names the field it is about ("session_id: invalid type ...").
    serde_path_to_error::deserialize(v).map_err(|e| ProtocolError::BadField {
        action: action.to_string(),
        message: match e.path().to_string().as_str() {
            "." => e.inner().to_string(),
            path => format!("{path}: {}", e.inner()),
        },
    })
}

fn bad(action: &str, message: &str) -> ProtocolError {
    ProtocolError::BadField {
        action: action.to_string(),
        message: message.to_string(),
    }
}

fn one_list(action: &str, t: &TargetsInput) -> Result<(), ProtocolError> {
    let given = [
        t.codes.is_some(),
        t.file_content.is_some(),
        t.upload.is_some(),
    ]
    .iter()
    .filter(|g| **g)
    .count();
    if given > 1 {
        return Err(bad(
            action,
            "give the codes one way: target_hole_codes, file_content or targets_upload",
        ));
    }
    Ok(())
}

/// Parses one client message, telling apart what is wrong with it.
pub fn parse_client(text: &str) -> Result<ClientMessage, ProtocolError> {
    if text.len() > MAX_CLIENT_MESSAGE {
        return Err(ProtocolError::TooLarge(text.len()));
    }
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
    let action = match v.get("action").and_then(|a| a.as_str()) {
        Some(a) => a.to_string(),
        None => return Err(ProtocolError::NoAction),
    };
    let a = action.as_str();
    Ok(match a {
        "start_scan" => {
            let w: StartScanWire = field(a, v)?;
            if w.drive_link.trim().is_empty() {
                return Err(bad(a, "drive_link is empty: give a folder, link or upload"));
            }
            let options = w.options.unwrap_or_default();
            let targets = TargetsInput {
                codes: w.target_hole_codes,
                file_content: w.file_content,
                upload: w.targets_upload,
                sheet: options.sheet,
                column: options.column,
            };
            one_list(a, &targets)?;
            if !targets.is_empty() && options.pattern.is_some() {
                return Err(bad(
                    a,
                    "a discovery pattern is for scans without a code list",
                ));
            }
            ClientMessage::StartScan {
                source: w.drive_link.trim().to_string(),
                targets,
                pattern: options.pattern,
            }
        }
        "request_upload" => {
            let w: RequestUploadWire = field(a, v)?;
            if w.file_name.trim().is_empty() {
                return Err(bad(a, "file_name is empty"));
            }
            ClientMessage::RequestUpload {
                file_name: w.file_name,
                size: w.size,
                purpose: w.purpose,
                key: w.key,
            }
        }
        "check_targets" => {
            let w: CheckTargetsWire = field(a, v)?;
            let targets = TargetsInput {
                codes: w.target_hole_codes,
                file_content: w.file_content,
                upload: w.targets_upload,
                sheet: w.sheet,
                column: w.column,
            };
            one_list(a, &targets)?;
            if targets.is_empty() {
                return Err(bad(a, "give file_content or targets_upload"));
            }
            ClientMessage::CheckTargets { targets }
        }
        "subscribe" | "reconnect" | "cancel_scan" | "get_report" => {
            let w: SessionWire = field(a, v)?;
            if w.session_id.is_empty() {
                return Err(bad(a, "session_id is empty"));
            }
            match a {
                "subscribe" | "reconnect" => ClientMessage::Subscribe {
                    session_id: w.session_id,
                    since: w.since,
                    original: a == "reconnect",
                },
                "cancel_scan" => ClientMessage::CancelScan {
                    session_id: w.session_id,
                },
                _ => ClientMessage::GetReport {
                    session_id: w.session_id,
                },
            }
        }
        "ping" => ClientMessage::Ping,
        other => return Err(ProtocolError::UnknownAction(other.to_string())),
    })
}

#[cfg(test)]
mod size_tests {
    use super::*;

    #[test]
    fn the_largest_inline_workbook_fits_one_api_gateway_message() {
        // Base64 (padded): four characters for every three bytes begun.
        let encoded = "A".repeat(4 * MAX_FILE_CONTENT.div_ceil(3));
        let message = serde_json::json!({
            "action": "start_scan",
            "req_id": "r".repeat(MAX_REQ_ID),
            "drive_link": format!("s3://{}/{}", "b".repeat(63), "p/".repeat(1000)),
            "file_content": encoded,
            "sheet": "s".repeat(256),
            "column": "c".repeat(64),
            "pattern": "x".repeat(256),
        })
        .to_string();
        assert!(
            message.len() <= API_GATEWAY_MESSAGE,
            "{} bytes",
            message.len()
        );
        const { assert!(API_GATEWAY_MESSAGE <= MAX_CLIENT_MESSAGE) };
    }
}
