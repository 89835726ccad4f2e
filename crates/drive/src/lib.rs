//! Google Drive folders as a source of drawings: the links users paste, breadth-first listing
//! one `files.list` page per call (shared drives, shortcuts, short pages), streamed downloads,
//! retries with backoff, service account credentials. It implements the engine's `Source` port
//! and depends on nothing of the local or AWS adapters; credentials come from whoever builds it
//! (a key file locally, Secrets Manager on AWS).

mod client;
pub mod link;
mod source;
#[cfg(feature = "testing")]
pub mod testing;

pub use client::{Credentials, DriveClient, DriveConfig, FILE_FIELDS};
pub use link::{is_bare_id, is_drive_link, parse as parse_link, DriveRef};
pub use source::DriveSource;

/// What went wrong talking to Drive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriveError {
    /// The credentials cannot be used (unreadable key, refused token exchange).
    #[error("Drive credentials: {0}")]
    Credentials(String),
    /// Drive refused the token (401).
    #[error("Drive refused the credentials: {0}")]
    Unauthorized(String),
    /// The item does not exist or is not shared with these credentials (404).
    #[error("not found: {0}")]
    NotFound(String),
    /// The item exists but may not be read (403 other than a rate limit).
    #[error("access denied: {0}")]
    Forbidden(String),
    #[error("the file is larger than {} MiB", .0 >> 20)]
    TooLarge(u64),
    /// Rate limits or server errors past every retry, or the connection failed: try later.
    #[error("Drive is unavailable: {0}")]
    Unavailable(String),
    /// Any other answer (a bad request, an unreadable response).
    #[error("Drive: {0}")]
    Other(String),
}

impl DriveError {
    pub(crate) fn from_api(e: google_drive3::Error) -> DriveError {
        use google_drive3::Error as E;
        match e {
            E::BadRequest(v) => {
                let code = v
                    .pointer("/error/code")
                    .and_then(|c| c.as_u64())
                    .unwrap_or(400);
                let msg = v
                    .pointer("/error/message")
                    .and_then(|m| m.as_str())
                    .unwrap_or("")
                    .to_string();
                DriveError::from_status(code as u16, msg, Some(&v))
            }
            E::Failure(r) => DriveError::from_status(r.status().as_u16(), String::new(), None),
            E::HttpError(e) => DriveError::Unavailable(e.to_string()),
            E::MissingToken(e) => DriveError::Credentials(e.to_string()),
            E::Io(e) => DriveError::Unavailable(e.to_string()),
            other => DriveError::Other(other.to_string()),
        }
    }

    fn from_status(status: u16, msg: String, body: Option<&serde_json::Value>) -> DriveError {
        let msg = if msg.is_empty() {
            format!("HTTP {status}")
        } else {
            msg
        };
        if client::is_rate_limit(status, body) {
            return DriveError::Unavailable(msg);
        }
        match status {
            401 => DriveError::Unauthorized(msg),
            403 => DriveError::Forbidden(msg),
            404 => DriveError::NotFound(msg),
            _ => DriveError::Other(msg),
        }
    }
}
