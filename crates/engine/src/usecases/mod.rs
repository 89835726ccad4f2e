//! The use cases, on one [`Engine`] over the [`Ports`]. Entry points (the command line, an
//! HTTP route, a Lambda handler) parse, call one of these, and map the result.
//!
//! - [`pipeline`](self::pipeline): start a scan, list its source, read and record files.
//! - [`finalize`](self::finalize): build the report once every file is in; resume a scan a
//!   stopped process left.
//! - [`requests`](self::requests): a client's messages (`answer`), code lists, cancel.
//! - [`uploads`](self::uploads): the upload policy over the [`UploadStore`].
//! - [`sync`](self::sync): the snapshot a client gets when it (re)subscribes.
//! - [`jobs`](self::jobs): one queue delivery, the retry rule, the worker loop.
//!
//! This file holds what they share: the configuration, the ports, the engine and its errors.

mod errors;
mod finalize;
mod jobs;
mod pipeline;
mod requests;
mod sync;
mod uploads;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use isoscan_core::protocol::{ErrorCode, ServerMessage};

use crate::ports::*;

pub use errors::EngineError;
pub use finalize::Swept;
pub use jobs::JobOutcome;
pub use pipeline::ScanRequest;
pub use requests::Step;
pub use sync::REPLAY_PAGE;
pub use uploads::{UploadQuota, MAX_TARGETS_UPLOAD, UPLOAD_LINK_S};

/// Files per queue message (an SQS batch entry holds paths only).
pub const FILES_PER_JOB: usize = 10;

/// The longest a read file's result waits to be recorded with the next ones of its job.
const RECORD_WAIT: std::time::Duration = std::time::Duration::from_secs(1);
/// Receives after which a job's files are recorded as errors (the dead-letter rule).
pub const MAX_RECEIVES: u32 = 5;
const PROGRESS_INTERVAL_MS: u64 = 250;
const RESULTS_PAGE: usize = 1000;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Largest file fetched, in bytes.
    pub max_file_bytes: u64,
    /// Written into reports.
    pub version: String,
    /// First delay before a failed job is tried again; it doubles with every receive.
    pub retry_base: Duration,
    /// Scans one user may have running at once (`None`: no limit).
    pub max_active_scans: Option<u64>,
    /// What one user may keep in uploads (`None`: no limit, or a store that cannot tell).
    pub upload_quota: Option<UploadQuota>,
    /// Code lists parsed at once, each on a blocking thread: the rest wait their turn.
    pub list_parsers: usize,
    /// Principals held to some S3 locations (`None`: every principal may scan what the
    /// source allows).
    pub scopes: Option<Arc<dyn crate::ports::Scopes>>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_file_bytes: 512 * 1024 * 1024,
            version: env!("CARGO_PKG_VERSION").to_string(),
            retry_base: Duration::from_millis(200),
            max_active_scans: None,
            upload_quota: None,
            list_parsers: 2,
            scopes: None,
        }
    }
}

/// Everything a use case needs, behind ports.
#[derive(Clone)]
pub struct Ports {
    pub sessions: Arc<dyn SessionStore>,
    pub events: Arc<dyn EventLog>,
    pub queue: Arc<dyn JobQueue>,
    pub source: Arc<dyn Source>,
    pub extractor: Arc<dyn Extractor>,
    /// OCR of pages without a text layer; `None` leaves them counted as needing it.
    pub ocr: Option<Arc<dyn Ocr>>,
    pub notifier: Arc<dyn Notifier>,
    pub reports: Arc<dyn ReportStore>,
    pub uploads: Arc<dyn UploadStore>,
    pub clock: Arc<dyn Clock>,
}
pub struct Engine {
    pub ports: Ports,
    pub config: EngineConfig,
    finders: Mutex<HashMap<String, Arc<pipeline::Finder>>>,
    /// Held from a message's `seq` to its delivery, so that this process publishes in `seq`
    /// order.
    emit_lock: tokio::sync::Mutex<()>,
    /// One per code list being parsed.
    list_permits: Arc<tokio::sync::Semaphore>,
    /// Held from an upload's quota check to its creation.
    upload_lock: tokio::sync::Mutex<()>,
}

impl Engine {
    pub fn new(ports: Ports, config: EngineConfig) -> Engine {
        Engine {
            ports,
            finders: Mutex::new(HashMap::new()),
            emit_lock: tokio::sync::Mutex::new(()),
            list_permits: Arc::new(tokio::sync::Semaphore::new(config.list_parsers.max(1))),
            upload_lock: tokio::sync::Mutex::new(()),
            config,
        }
    }

    async fn emit(&self, session: &str, message: ServerMessage) -> Result<(), EngineError> {
        let _order = self.emit_lock.lock().await;
        self.number_and_publish(session, &message).await
    }

    /// Logs and delivers `message` unless one was logged under `key` before.
    async fn emit_once(
        &self,
        session: &str,
        key: &str,
        message: ServerMessage,
    ) -> Result<(), EngineError> {
        let _order = self.emit_lock.lock().await;
        let ts = self.ports.clock.now_ms();
        if let Some(mut env) = self
            .ports
            .events
            .append_once(session, key, &message)
            .await?
        {
            env.ts = Some(ts);
            if let Err(e) = self.ports.notifier.publish(&env).await {
                tracing::warn!(session, error = %e, "publish failed");
            }
        }
        Ok(())
    }

    /// Appends to the event log (which numbers the message) and delivers; the caller holds
    /// `emit_lock`.
    async fn number_and_publish(
        &self,
        session: &str,
        message: &ServerMessage,
    ) -> Result<(), EngineError> {
        // `ts` is taken before the log write, so latencies measured from it include the write.
        let ts = self.ports.clock.now_ms();
        let mut env = self.ports.events.append(session, message).await?;
        env.ts = Some(ts);
        if let Err(e) = self.ports.notifier.publish(&env).await {
            // Clients catch up from the event log; a failed push never fails the work.
            tracing::warn!(session, error = %e, "publish failed");
        }
        Ok(())
    }

    async fn session(&self, id: &str) -> Result<Session, EngineError> {
        self.ports
            .sessions
            .get(id)
            .await?
            .ok_or_else(|| EngineError::UnknownSession(id.to_string()))
    }

    /// The session, if `owner` started it.
    pub async fn owned(&self, session_id: &str, owner: &str) -> Result<Session, EngineError> {
        let s = self.session(session_id).await?;
        if s.owner != owner {
            return Err(EngineError::Forbidden(session_id.to_string()));
        }
        Ok(s)
    }

    async fn fail(&self, s: &Session, message: &str, code: ErrorCode) -> Result<(), EngineError> {
        // A scan fails from wherever it is: a finalize that fails for good must end it too.
        let mut moved = false;
        for from in [SessionStatus::Running, SessionStatus::Finalizing] {
            moved = moved
                || self
                    .ports
                    .sessions
                    .transition(
                        &s.id,
                        from,
                        SessionStatus::Failed,
                        self.ports.clock.now_ms(),
                        None,
                    )
                    .await?;
        }
        if moved {
            self.emit(
                &s.id,
                ServerMessage::Error {
                    message: message.to_string(),
                    code,
                },
            )
            .await?;
        }
        Ok(())
    }
}
