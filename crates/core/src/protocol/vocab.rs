//! The words client and server share beyond the messages: a scan's status and an error's code.

use serde::{Deserialize, Serialize};

/// Where a scan is. Stored and sent as `RUNNING`, `FINALIZING`, …; an unknown value is an
/// error, never taken for one of these.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionStatus {
    Running,
    Finalizing,
    Complete,
    Cancelled,
    Failed,
}

impl SessionStatus {
    pub const ALL: [SessionStatus; 5] = [
        SessionStatus::Running,
        SessionStatus::Finalizing,
        SessionStatus::Complete,
        SessionStatus::Cancelled,
        SessionStatus::Failed,
    ];

    pub fn is_final(self) -> bool {
        matches!(
            self,
            SessionStatus::Complete | SessionStatus::Cancelled | SessionStatus::Failed
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Running => "RUNNING",
            SessionStatus::Finalizing => "FINALIZING",
            SessionStatus::Complete => "COMPLETE",
            SessionStatus::Cancelled => "CANCELLED",
            SessionStatus::Failed => "FAILED",
        }
    }
}

impl std::fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored status that is none of [`SessionStatus`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown session status {0:?}")]
pub struct UnknownStatus(pub String);

impl std::str::FromStr for SessionStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SessionStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

/// The `code` of an ERROR: what a client acts on (the message is for people).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The message is over [`super::MAX_CLIENT_MESSAGE`].
    TooLarge,
    /// Not JSON.
    Malformed,
    /// No `action` field.
    NoAction,
    UnknownAction,
    /// A field is missing or wrong; the message names it.
    BadRequest,
    /// The connection has no valid token.
    Unauthorized,
    UnknownSession,
    /// The session or upload is another user's.
    Forbidden,
    /// `cancel_scan` of a scan that has already ended.
    NotRunning,
    /// `get_report` before the scan completed.
    NotReady,
    /// A per-user limit (scans running, uploads waiting, bytes kept).
    Quota,
    /// The location is not one this server reads, or is malformed.
    BadSource,
    SourceNotFound,
    SourceForbidden,
    UnknownUpload,
    BadUpload,
    /// The connection fell behind its sessions' messages: subscribe again with `since`.
    Resubscribe,
    /// The scan ended: its source could not be listed.
    Source,
    /// The scan ended: a failure of ours.
    Internal,
    /// The server could not do this now; the request may be sent again.
    Unavailable,
}
