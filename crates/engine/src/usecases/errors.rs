//! What a use case fails with, whether the job may be retried, and what a client is told.

use isoscan_core::protocol::{ErrorCode, ServerMessage};

use crate::ports::*;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("unknown session {0}")]
    UnknownSession(String),
    #[error("session {0} belongs to another user")]
    Forbidden(String),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Report(#[from] ReportStoreError),
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error("the report of session {0} is not ready: the scan has not completed")]
    NotReady(String),
    /// A per-user limit: the message names it and what to do.
    #[error("{0}")]
    Quota(String),
    #[error("{0}")]
    Extractor(String),
}

impl EngineError {
    /// Whether the same job may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            EngineError::Store(StoreError::Unavailable(_))
                | EngineError::Queue(QueueError::Unavailable(_))
                | EngineError::Source(SourceError::Transient(_))
                | EngineError::Report(_)
                | EngineError::Extractor(_)
                | EngineError::Upload(UploadError::Unavailable(_))
        )
    }

    /// The `code` of the ERROR a client gets.
    pub fn client_code(&self) -> ErrorCode {
        match self {
            EngineError::InvalidRequest(_) => ErrorCode::BadRequest,
            EngineError::UnknownSession(_) => ErrorCode::UnknownSession,
            EngineError::Forbidden(_) | EngineError::Upload(UploadError::Forbidden(_)) => {
                ErrorCode::Forbidden
            }
            EngineError::Source(SourceError::Invalid(_)) => ErrorCode::BadSource,
            EngineError::Source(SourceError::NotFound(_)) => ErrorCode::SourceNotFound,
            EngineError::Source(SourceError::Forbidden(_)) => ErrorCode::SourceForbidden,
            EngineError::Upload(UploadError::NotFound(_)) => ErrorCode::UnknownUpload,
            EngineError::Upload(UploadError::Invalid(_)) => ErrorCode::BadUpload,
            EngineError::NotReady(_) => ErrorCode::NotReady,
            EngineError::Quota(_) | EngineError::Upload(UploadError::Quota(_)) => ErrorCode::Quota,
            _ => ErrorCode::Unavailable,
        }
    }
}

impl EngineError {
    /// The ERROR a client gets: a clear message; a failure of ours is logged in full and
    /// summarized.
    pub fn to_client(&self) -> ServerMessage {
        let message = if self.is_retryable() {
            tracing::error!(error = %self, "request failed");
            "the server could not do this now; try again".to_string()
        } else {
            self.to_string()
        };
        ServerMessage::Error {
            message,
            code: self.client_code(),
        }
    }
}
