//! Ports: the small async traits the use cases run over. They take and return domain types;
//! no adapter's types cross them. Every port has an in-memory adapter ([`crate::memory`]) and a
//! shared suite ([`crate::suite`]) that every adapter must pass.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use isoscan_core::protocol::{Envelope, ServerMessage};
use isoscan_core::result::{FileRef, FileResult};
use isoscan_core::text::DocText;
use serde::{Deserialize, Serialize};

pub use isoscan_core::protocol::SessionStatus;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    /// The principal that started it.
    pub owner: String,
    /// The source as the user gave it.
    pub source: String,
    /// Codes in the target list (the list itself is read with [`SessionStore::targets`]);
    /// 0 when codes are discovered by `pattern`.
    pub target_count: u64,
    pub duplicates: u64,
    pub pattern: Option<String>,
    pub status: SessionStatus,
    pub listing_done: bool,
    /// Files to process (skipped files excluded).
    pub total: u64,
    pub processed: u64,
    pub matches: u64,
    pub errors: u64,
    pub skipped: u64,
    pub started_at_ms: u64,
    pub finished_at_ms: Option<u64>,
    pub report_url: Option<String>,
    /// When the status last changed (creation, FINALIZING, a final status): how long a scan
    /// has waited in it, for the sweeper.
    #[serde(default)]
    pub status_since_ms: u64,
}

impl Session {
    pub fn new(
        id: String,
        owner: String,
        source: String,
        target_count: u64,
        duplicates: u64,
        pattern: Option<String>,
        now_ms: u64,
    ) -> Self {
        Session {
            id,
            owner,
            source,
            target_count,
            duplicates,
            pattern,
            status: SessionStatus::Running,
            listing_done: false,
            total: 0,
            processed: 0,
            matches: 0,
            errors: 0,
            skipped: 0,
            started_at_ms: now_ms,
            finished_at_ms: None,
            report_url: None,
            status_since_ms: now_ms,
        }
    }

    /// Listing is done and every listed file has a result.
    pub fn all_processed(&self) -> bool {
        self.listing_done && self.processed >= self.total
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("session {0} not found")]
    NotFound(String),
    #[error("session {0} already exists")]
    AlreadyExists(String),
    /// The store could not answer now; the caller may retry.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored item this version cannot read (an unknown status): not retried.
    #[error("stored data cannot be read: {0}")]
    Corrupt(String),
}

/// What recording a file's result did.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// First result for this path: counters moved; the session as it is now.
    Inserted(Session),
    /// The path already had a result (a redelivery): nothing changed.
    Duplicate(Session),
}

/// Results one [`SessionStore::record_many`] writes in one transaction (DynamoDB's 100 items,
/// less the session's).
pub const RECORD_MAX: usize = 99;

/// What recording results did.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedMany {
    /// For each result given, whether it was new (counted); `false`: the path had a result
    /// already (a redelivery, or twice in one call) and nothing changed for it.
    pub inserted: Vec<bool>,
    /// The session as the write left it.
    pub session: Session,
}

/// What counting a listing page did.
#[derive(Debug, Clone, PartialEq)]
pub enum Listed {
    /// The page's first count: the session as it is now.
    Counted(Session),
    /// The page was counted before (a retried listing job): nothing changed; `next` is the
    /// cursor recorded with that count, so the listing goes on from where the first attempt
    /// went, never on a second chain of pages.
    Repeated { next: Option<String> },
}

/// Sessions and their file results, with the conditional writes that keep counts exact.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Creates a session with its target list; fails if the id exists.
    async fn create(&self, session: &Session, targets: &[String]) -> Result<(), StoreError>;
    /// The session's target list, in list order.
    async fn targets(&self, id: &str) -> Result<Vec<String>, StoreError>;
    async fn get(&self, id: &str) -> Result<Option<Session>, StoreError>;
    /// Adds one listing page's files to the total and skipped counts, records the page's
    /// `next` cursor, and marks listing done when there is none; once per `page` key (a cursor
    /// of any length), so a retried page never counts twice.
    async fn add_listed(
        &self,
        id: &str,
        page: &str,
        next: Option<&str>,
        files: u64,
        skipped: u64,
    ) -> Result<Listed, StoreError>;
    /// Writes results once per (session, path) and, in the same transaction, adds the new
    /// ones to the session's counters: one contended write for a job's files, not one each.
    /// Up to [`RECORD_MAX`] results go in one transaction; more in several, each whole.
    async fn record_many(
        &self,
        id: &str,
        results: &[FileResult],
    ) -> Result<RecordedMany, StoreError>;
    /// [`SessionStore::record_many`] of one result.
    async fn record(&self, id: &str, result: &FileResult) -> Result<Recorded, StoreError> {
        let r = self.record_many(id, std::slice::from_ref(result)).await?;
        Ok(if r.inserted.first() == Some(&true) {
            Recorded::Inserted(r.session)
        } else {
            Recorded::Duplicate(r.session)
        })
    }
    /// Whether the path (of any length) already has a result.
    async fn has_result(&self, id: &str, path: &str) -> Result<bool, StoreError>;
    /// Moves the session from RUNNING to FINALIZING if listing is done and every file is
    /// processed. Exactly one caller gets `true`.
    async fn try_begin_finalize(&self, id: &str, now_ms: u64) -> Result<bool, StoreError>;
    /// Moves the session from `from` to `to`; `false` when it was not in `from`.
    async fn transition(
        &self,
        id: &str,
        from: SessionStatus,
        to: SessionStatus,
        now_ms: u64,
        report_url: Option<String>,
    ) -> Result<bool, StoreError>;
    /// Results in path order, after `after`, at most `limit`.
    async fn results(
        &self,
        id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FileResult>, StoreError>;
    /// How many of `owner`'s sessions have not ended (running or finalizing).
    async fn active(&self, owner: &str) -> Result<u64, StoreError>;
    /// Every session that has not ended (running or finalizing), whoever started it: what the
    /// sweeper looks over.
    async fn unfinished(&self) -> Result<Vec<Session>, StoreError>;
    /// Claims the right to send PROGRESS now: `true` (and the claim recorded) when the last
    /// claim is at least `min_interval_ms` old.
    async fn claim_progress(
        &self,
        id: &str,
        now_ms: u64,
        min_interval_ms: u64,
    ) -> Result<bool, StoreError>;
}

/// The per-session log of server messages, numbered by `seq` from 1, for replay.
#[async_trait]
pub trait EventLog: Send + Sync {
    async fn append(
        &self,
        session_id: &str,
        message: &ServerMessage,
    ) -> Result<Envelope, StoreError>;
    /// Appends `message` unless a message was appended under `key` before (`None` then), in
    /// one write: a message that must be logged once (COMPLETE) and may be sent again by a
    /// retry.
    async fn append_once(
        &self,
        session_id: &str,
        key: &str,
        message: &ServerMessage,
    ) -> Result<Option<Envelope>, StoreError>;
    /// Messages with `seq` greater than `since`, in order, at most `limit`.
    async fn since(
        &self,
        session_id: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<Envelope>, StoreError>;
}

/// Work on the queue. Jobs carry paths, never file contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    List {
        session: String,
        cursor: Option<String>,
    },
    Files {
        session: String,
        files: Vec<FileRef>,
    },
    Finalize {
        session: String,
    },
}

impl Job {
    /// The job as logs show it: its kind, session and size, never a file's link (a signed
    /// URL) or a listing cursor.
    pub fn describe(&self) -> String {
        match self {
            Job::List { session, cursor } => format!(
                "listing of session {session} ({})",
                if cursor.is_some() {
                    "a later page"
                } else {
                    "the first page"
                }
            ),
            Job::Files { session, files } => {
                format!("{} files of session {session}", files.len())
            }
            Job::Finalize { session } => format!("finalizing session {session}"),
        }
    }

    pub fn session(&self) -> &str {
        match self {
            Job::List { session, .. } | Job::Files { session, .. } | Job::Finalize { session } => {
                session
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub job: Job,
    pub receipt: String,
    /// 1 on first delivery.
    pub receive_count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    #[error("unknown or expired receipt")]
    UnknownReceipt,
}

/// An at-least-once queue with visibility timeouts: a received job not acknowledged in time is
/// delivered again.
#[async_trait]
pub trait JobQueue: Send + Sync {
    async fn send(&self, jobs: Vec<Job>) -> Result<(), QueueError>;
    /// Up to `max` visible jobs, each hidden for `visibility`; waits up to `wait` for one.
    async fn receive(
        &self,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<Delivery>, QueueError>;
    /// Done with a job: it is never delivered again.
    async fn ack(&self, receipt: &str) -> Result<(), QueueError>;
    /// Not done: deliver again after `delay`.
    async fn retry(&self, receipt: &str, delay: Duration) -> Result<(), QueueError>;
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListPage {
    pub files: Vec<FileRef>,
    /// Paths of entries that are not drawings (counted as skipped).
    pub skipped: Vec<String>,
    /// Entries that could not be listed or read (symlink loops, permissions): FILE_ERRORs.
    pub errors: Vec<(FileRef, String)>,
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The location is not a source this deployment accepts, or is malformed.
    #[error("{0}")]
    Invalid(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("access denied: {0}")]
    Forbidden(String),
    /// One file cannot be read: a FILE_ERROR, not a retry.
    #[error("{0}")]
    File(String),
    /// Try again later.
    #[error("source unavailable: {0}")]
    Transient(String),
}

/// Where drawings come from: a folder, an archive, a bucket, a Drive folder.
#[async_trait]
pub trait Source: Send + Sync {
    /// Checks that the location can be listed, before a scan starts.
    async fn check(&self, location: &str) -> Result<(), SourceError>;
    async fn list(&self, location: &str, cursor: Option<&str>) -> Result<ListPage, SourceError>;
    async fn fetch(
        &self,
        location: &str,
        file: &FileRef,
        max_bytes: u64,
    ) -> Result<Vec<u8>, SourceError>;
    /// A fresh link to a file where the listed one expires (a presigned URL), signed when a
    /// report is written or a client asks; `None` keeps the listed link.
    async fn relink(&self, _location: &str, _file: &FileRef) -> Option<String> {
        None
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractFailure {
    /// The file cannot be read: a FILE_ERROR with this reason.
    #[error("{0}")]
    File(String),
    /// The extractor could not run now; the job is retried.
    #[error("extractor unavailable: {0}")]
    Transient(String),
}

/// Text out of a drawing's bytes: its text layer, with the pages that have none marked.
#[async_trait]
pub trait Extractor: Send + Sync {
    async fn extract(&self, file: &FileRef, bytes: Arc<Vec<u8>>)
        -> Result<DocText, ExtractFailure>;
}

/// Text of pages that have no text layer, by OCR: the file's bytes, how many pages it has, and
/// the pages (1-based) to read; the answer holds text of those pages only (a page it could not
/// read is left out). The engine puts it into the document and marks the pages.
#[async_trait]
pub trait Ocr: Send + Sync {
    async fn read(
        &self,
        file: &FileRef,
        bytes: Arc<Vec<u8>>,
        page_count: usize,
        pages: &[u32],
    ) -> Result<BTreeMap<u32, String>, ExtractFailure>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("notifier: {0}")]
pub struct NotifyError(pub String);

/// Delivers server messages to whoever follows the session (sockets, an events file).
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn publish(&self, envelope: &Envelope) -> Result<(), NotifyError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("report store: {0}")]
pub struct ReportStoreError(pub String);

/// One report being written: the report builder writes the workbook into it, then
/// [`ReportWriter::store`] keeps it (replacing an earlier one) and answers with the URL a
/// client downloads from. Dropped without `store`, nothing is kept.
#[async_trait]
pub trait ReportWriter: std::io::Write + std::io::Seek + Send {
    async fn store(self: Box<Self>) -> Result<String, ReportStoreError>;
}

/// Where finished reports go. The engine writes through [`ReportStore::writer`] and never
/// touches a file itself.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// A folder for the report builder's spill files, when the store has one (so that a
    /// 100,000-row report is never held in memory whole).
    fn scratch_dir(&self) -> Option<std::path::PathBuf>;
    /// A writer for `session_id`'s report.
    async fn writer(&self, session_id: &str) -> Result<Box<dyn ReportWriter>, ReportStoreError>;
    /// A download URL for a stored report, signed anew, and how long it lives in seconds.
    async fn link(&self, session_id: &str) -> Result<(String, u64), ReportStoreError>;
}

/// Time and identifiers.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> u64;
    fn new_id(&self) -> String;
}

/// Where an upload goes: the URL the client PUTs the file to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadTicket {
    pub url: String,
    pub key: String,
    pub expires_in: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("{0}")]
    Invalid(String),
    #[error("unknown upload {0}")]
    NotFound(String),
    #[error("upload {0} belongs to another user")]
    Forbidden(String),
    /// A per-user limit of the store (uploads waiting, bytes kept): the message names it.
    #[error("{0}")]
    Quota(String),
    #[error("upload storage unavailable: {0}")]
    Unavailable(String),
}

/// Who an upload belongs to and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadMeta {
    pub owner: String,
    pub purpose: isoscan_core::protocol::UploadPurpose,
    /// The size the client announced for its first file, counted until the file arrives.
    #[serde(default)]
    pub announced: u64,
}

/// What one user keeps in uploads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UploadUsage {
    /// Uploads whose first file has not arrived.
    pub waiting: usize,
    /// Bytes stored, and announced for the uploads still waiting.
    pub bytes: u64,
}

/// Where uploaded files are kept: records, signed URLs and bytes. What may be uploaded, by
/// whom, and how much, is the engine's upload policy (`usecases/uploads.rs`), not the store's.
#[async_trait]
pub trait UploadStore: Send + Sync {
    /// Records a new upload under a fresh key.
    async fn create(&self, meta: &UploadMeta) -> Result<String, UploadError>;
    /// An upload's record; `NotFound` for a key that names none.
    async fn meta(&self, key: &str) -> Result<UploadMeta, UploadError>;
    /// Where the client PUTs the file `name` (a plain name) of `size` bytes into the upload.
    async fn ticket(&self, key: &str, name: &str, size: u64) -> Result<UploadTicket, UploadError>;
    /// The files that have arrived, (name, bytes), in name order.
    async fn files(&self, key: &str) -> Result<Vec<(String, u64)>, UploadError>;
    /// One file that has arrived.
    async fn read(&self, key: &str, name: &str) -> Result<Vec<u8>, UploadError>;
    /// What `owner` keeps, for a store that can tell cheaply (`None` otherwise); uploads whose
    /// link expired before anything arrived are dropped on the way.
    async fn usage(&self, owner: &str) -> Result<Option<UploadUsage>, UploadError>;
}

/// The S3 locations a principal is held to, beyond what the deployment lets anyone read (on
/// AWS: the `sources` of its API tokens). Asked at every `start_scan`; answered from memory.
pub trait Scopes: Send + Sync + std::fmt::Debug {
    /// `s3://bucket/prefix` locations, each with everything under it; `None`: no restriction.
    fn sources(&self, principal: &str) -> Option<Vec<String>>;
}
