//! The use cases: start a scan, list its source, process file batches, finalize, cancel.
//! Entry points (the command line, an HTTP route, a Lambda handler) parse, call one of these,
//! and map the result.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use isoscan_core::matcher::{Discoverer, Matcher};
use isoscan_core::protocol::{
    ClientMessage, OriginalResult, OriginalSync, ServerMessage, SessionState, TargetsInput,
    UploadPurpose, MAX_FILE_CONTENT,
};
use isoscan_core::report::{ReportBuilder, ReportSummary};
use isoscan_core::result::{FileRef, FileResult, Outcome};
use isoscan_core::targets::{read_targets, TargetList};
use isoscan_core::text::DocText;

use crate::ports::*;

/// Files per queue message (an SQS batch entry holds paths only).
pub const FILES_PER_JOB: usize = 10;
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
    /// Code lists parsed at once, each on a blocking thread: the rest wait their turn.
    pub list_parsers: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_file_bytes: 512 * 1024 * 1024,
            version: env!("CARGO_PKG_VERSION").to_string(),
            retry_base: Duration::from_millis(200),
            max_active_scans: None,
            list_parsers: 2,
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
    pub notifier: Arc<dyn Notifier>,
    pub reports: Arc<dyn ReportStore>,
    pub uploads: Arc<dyn Uploads>,
    pub clock: Arc<dyn Clock>,
}

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
    pub fn client_code(&self) -> &'static str {
        match self {
            EngineError::InvalidRequest(_) => "bad_request",
            EngineError::UnknownSession(_) => "unknown_session",
            EngineError::Forbidden(_) | EngineError::Upload(UploadError::Forbidden(_)) => {
                "forbidden"
            }
            EngineError::Source(SourceError::Invalid(_)) => "bad_source",
            EngineError::Source(SourceError::NotFound(_)) => "source_not_found",
            EngineError::Source(SourceError::Forbidden(_)) => "source_forbidden",
            EngineError::Upload(UploadError::NotFound(_)) => "unknown_upload",
            EngineError::Upload(UploadError::Invalid(_)) => "bad_upload",
            EngineError::NotReady(_) => "not_ready",
            EngineError::Quota(_) | EngineError::Upload(UploadError::Quota(_)) => "quota",
            _ => "unavailable",
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
            code: self.client_code().to_string(),
        }
    }
}

/// What an entry point does with a client's message, in order.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // a handful per request, never stored
pub enum Step {
    /// Send this to the client, outside any session's log (`seq` 0), about `session` (or "").
    Reply {
        session: String,
        message: ServerMessage,
    },
    /// Deliver the session's log after `since` to the client, then every new message.
    Follow { session: String, since: u64 },
}

fn reply(session: &str, message: ServerMessage) -> Vec<Step> {
    vec![Step::Reply {
        session: session.to_string(),
        message,
    }]
}

/// Largest code list read from an upload.
pub const MAX_TARGETS_UPLOAD: u64 = 64 * 1024 * 1024;
/// Codes shown back by `check_targets`.
const TARGETS_SAMPLE: usize = 10;
/// Event-log page read at a time when a client catches up.
pub const REPLAY_PAGE: usize = 500;

/// A request to scan.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    pub owner: String,
    pub source: String,
    /// `None`: no list; codes are discovered by `pattern`.
    pub targets: Option<TargetList>,
    pub pattern: Option<String>,
}

enum Finder {
    Targets(Matcher),
    Discover(Discoverer),
}

pub struct Engine {
    pub ports: Ports,
    pub config: EngineConfig,
    finders: Mutex<HashMap<String, Arc<Finder>>>,
    /// Held from a message's `seq` to its delivery, so that this process publishes in `seq`
    /// order.
    emit_lock: tokio::sync::Mutex<()>,
    /// One per code list being parsed.
    list_permits: Arc<tokio::sync::Semaphore>,
}

impl Engine {
    pub fn new(ports: Ports, config: EngineConfig) -> Engine {
        Engine {
            ports,
            finders: Mutex::new(HashMap::new()),
            emit_lock: tokio::sync::Mutex::new(()),
            list_permits: Arc::new(tokio::sync::Semaphore::new(config.list_parsers.max(1))),
            config,
        }
    }

    async fn emit(&self, session: &str, message: ServerMessage) -> Result<(), EngineError> {
        let _order = self.emit_lock.lock().await;
        self.number_and_publish(session, &message).await
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

    async fn finder(&self, s: &Session) -> Result<Arc<Finder>, EngineError> {
        let cached = self.finders.lock().ok().and_then(|c| c.get(&s.id).cloned());
        if let Some(f) = cached {
            return Ok(f);
        }
        // Built once per session and process; two workers racing here build it twice, harmlessly.
        let f = if s.target_count == 0 {
            let p = s.pattern.as_deref().unwrap_or(Discoverer::DEFAULT);
            Finder::Discover(
                Discoverer::new(p).map_err(|e| EngineError::InvalidRequest(e.to_string()))?,
            )
        } else {
            let targets = self.ports.sessions.targets(&s.id).await?;
            Finder::Targets(
                Matcher::new(&targets).map_err(|e| EngineError::InvalidRequest(e.to_string()))?,
            )
        };
        let f = Arc::new(f);
        if let Ok(mut c) = self.finders.lock() {
            c.insert(s.id.clone(), f.clone());
        }
        Ok(f)
    }

    /// Creates the session, queues its listing, and sends STARTED.
    pub async fn start_scan(&self, req: ScanRequest) -> Result<Session, EngineError> {
        if let Some(p) = &req.pattern {
            Discoverer::new(p).map_err(|e| EngineError::InvalidRequest(e.to_string()))?;
        }
        self.ports.source.check(&req.source).await?;
        let (targets, duplicates) = match req.targets {
            Some(t) => (t.codes, t.duplicates as u64),
            None => (vec![], 0),
        };
        let id = self.ports.clock.new_id();
        let session = Session::new(
            id.clone(),
            req.owner,
            req.source,
            targets.len() as u64,
            duplicates,
            req.pattern,
            self.ports.clock.now_ms(),
        );
        self.ports.sessions.create(&session, &targets).await?;
        self.ports
            .queue
            .send(vec![Job::List {
                session: id.clone(),
                cursor: None,
            }])
            .await?;
        let message = if session.target_count == 0 {
            format!(
                "Scanning {} for codes matching the discovery pattern",
                session.source
            )
        } else {
            format!(
                "Scanning {} for {} codes",
                session.source, session.target_count
            )
        };
        self.emit(
            &id,
            ServerMessage::Started {
                message,
                total_files: None,
            },
        )
        .await?;
        Ok(session)
    }

    /// Lists one page of the source: queues its files in batches and the next page.
    pub async fn list_source(
        &self,
        session_id: &str,
        cursor: Option<&str>,
    ) -> Result<(), EngineError> {
        let s = self.session(session_id).await?;
        if s.status != SessionStatus::Running || s.listing_done {
            return Ok(());
        }
        let page = match self.ports.source.list(&s.source, cursor).await {
            Ok(p) => p,
            Err(e @ SourceError::Transient(_)) => return Err(e.into()),
            Err(e) => {
                self.fail(&s, &e.to_string(), "source").await?;
                return Ok(());
            }
        };
        // The next page goes first: on a queue that keeps order, listing finishes early and the
        // total (and so progress and ETA) is known while the batches run.
        let mut jobs: Vec<Job> = page
            .next
            .iter()
            .map(|next| Job::List {
                session: session_id.to_string(),
                cursor: Some(next.clone()),
            })
            .collect();
        jobs.extend(page.files.chunks(FILES_PER_JOB).map(|c| Job::Files {
            session: session_id.to_string(),
            files: c.to_vec(),
        }));
        let done = page.next.is_none();
        // Counts first, then jobs, so a batch never finishes before its files are counted; the
        // count is conditional on the page, so a retried page sends its jobs again (harmless:
        // results are written once) but never counts twice.
        let page_key = cursor.unwrap_or("");
        let files = (page.files.len() + page.errors.len()) as u64;
        self.ports
            .sessions
            .add_listed(session_id, page_key, files, page.skipped.len() as u64, done)
            .await?;
        self.ports.queue.send(jobs).await?;
        for (file, reason) in page.errors {
            self.record(
                &s,
                FileResult {
                    file,
                    outcome: Outcome::Error { reason },
                },
            )
            .await?;
        }
        if done {
            self.maybe_finalize(session_id).await?;
        }
        Ok(())
    }

    async fn fail(&self, s: &Session, message: &str, code: &str) -> Result<(), EngineError> {
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
                    code: code.to_string(),
                },
            )
            .await?;
        }
        Ok(())
    }

    fn matches(&self, finder: &Finder, doc: &DocText) -> (Vec<String>, BTreeMap<String, Vec<u32>>) {
        match finder {
            Finder::Targets(m) => {
                let hits = m.find_in_doc(doc);
                let codes: Vec<String> = hits.keys().map(|i| m.codes()[*i].clone()).collect();
                let pages = hits
                    .into_iter()
                    .map(|(i, p)| (m.codes()[i].clone(), p))
                    .collect();
                (codes, pages)
            }
            Finder::Discover(d) => {
                let found = d.find_in_doc(doc);
                (
                    found.iter().map(|(c, _)| c.clone()).collect(),
                    found.into_iter().collect(),
                )
            }
        }
    }

    /// Reads one file; an unreadable file is an `Outcome::Error`, a transient failure an `Err`.
    pub async fn scan_file(&self, s: &Session, file: &FileRef) -> Result<FileResult, EngineError> {
        let bytes = match self
            .ports
            .source
            .fetch(&s.source, file, self.config.max_file_bytes)
            .await
        {
            Ok(b) => b,
            Err(SourceError::Transient(e)) => {
                return Err(EngineError::Source(SourceError::Transient(e)))
            }
            Err(e) => {
                return Ok(FileResult {
                    file: file.clone(),
                    outcome: Outcome::Error {
                        reason: e.to_string(),
                    },
                })
            }
        };
        let doc = match self.ports.extractor.extract(file, bytes).await {
            Ok(d) => d,
            Err(ExtractFailure::File(reason)) => {
                return Ok(FileResult {
                    file: file.clone(),
                    outcome: Outcome::Error { reason },
                })
            }
            Err(ExtractFailure::Transient(e)) => return Err(EngineError::Extractor(e)),
        };
        let finder = self.finder(s).await?;
        let (codes, pages) = self.matches(&finder, &doc);
        // Marked when a code was seen on a page OCR read.
        let ocr = pages.values().flatten().any(|p| doc.is_ocr_page(*p));
        Ok(FileResult {
            file: file.clone(),
            outcome: Outcome::Read {
                codes,
                pages,
                ocr,
                needs_ocr: doc.pages_needing_ocr(),
            },
        })
    }

    /// Records a result once and tells the clients.
    /// Records a result once and tells the clients. The file's own message goes out before
    /// the result is counted, so it always precedes COMPLETE (a redelivered file's message may
    /// go out again; clients deduplicate by seq).
    async fn record(&self, s: &Session, result: FileResult) -> Result<(), EngineError> {
        if let Some(msg) = ServerMessage::for_result(&result) {
            self.emit(&s.id, msg).await?;
        }
        let now = match self.ports.sessions.record(&s.id, &result).await? {
            Recorded::Inserted(now) => now,
            Recorded::Duplicate(_) => return Ok(()),
        };
        let last = now.all_processed();
        if last
            || self
                .ports
                .sessions
                .claim_progress(&s.id, self.ports.clock.now_ms(), PROGRESS_INTERVAL_MS)
                .await?
        {
            self.progress(&s.id).await?;
        }
        if last {
            self.maybe_finalize(&s.id).await?;
        }
        Ok(())
    }

    /// PROGRESS with the counters as they are when it is numbered, so that successive
    /// messages never go backwards, and none follows the end of the scan.
    async fn progress(&self, session_id: &str) -> Result<(), EngineError> {
        let _order = self.emit_lock.lock().await;
        let now = self.session(session_id).await?;
        if now.status.is_final() {
            return Ok(());
        }
        let value = (now.processed * 100)
            .checked_div(now.total)
            .unwrap_or(0)
            .min(100) as u8;
        let message = ServerMessage::Progress {
            value,
            processed: now.processed,
            total: now.total,
            matches: now.matches,
            errors: now.errors,
        };
        self.number_and_publish(session_id, &message).await
    }

    /// Processes a batch of files. A file already recorded is skipped (a redelivery);
    /// `receive_count` past [`MAX_RECEIVES`] records the remaining files as errors.
    pub async fn process_batch(
        &self,
        session_id: &str,
        files: &[FileRef],
        receive_count: u32,
    ) -> Result<(), EngineError> {
        let s = self.session(session_id).await?;
        for file in files {
            if s.status != SessionStatus::Running {
                // Cancelled or failed: the files are dropped.
                return Ok(());
            }
            if self
                .ports
                .sessions
                .has_result(session_id, &file.path)
                .await?
            {
                continue;
            }
            let result = if receive_count > MAX_RECEIVES {
                FileResult {
                    file: file.clone(),
                    outcome: Outcome::Error {
                        reason: format!("gave up after {MAX_RECEIVES} attempts"),
                    },
                }
            } else {
                self.scan_file(&s, file).await?
            };
            self.record(&s, result).await?;
        }
        Ok(())
    }

    async fn maybe_finalize(&self, session_id: &str) -> Result<(), EngineError> {
        if self.ports.sessions.try_begin_finalize(session_id).await? {
            self.ports
                .queue
                .send(vec![Job::Finalize {
                    session: session_id.to_string(),
                }])
                .await?;
        }
        Ok(())
    }

    /// Builds the report from every result and sends COMPLETE (once).
    pub async fn finalize(&self, session_id: &str) -> Result<(), EngineError> {
        let s = self.session(session_id).await?;
        if s.status != SessionStatus::Finalizing {
            return Ok(());
        }
        let report_all = s.target_count == 0;
        let targets = self.ports.sessions.targets(session_id).await?;
        let scratch = self.ports.reports.scratch_dir();
        let mut builder = ReportBuilder::new(&targets, scratch.as_deref())
            .map_err(|e| EngineError::Report(ReportStoreError(e.to_string())))?;
        let mut after: Option<String> = None;
        let mut needs_ocr = 0u64;
        loop {
            let page = self
                .ports
                .sessions
                .results(session_id, after.as_deref(), RESULTS_PAGE)
                .await?;
            for r in &page {
                if matches!(&r.outcome, Outcome::Read { needs_ocr, .. } if !needs_ocr.is_empty()) {
                    needs_ocr += 1;
                }
                let fresh = self.ports.source.relink(&s.source, &r.file).await;
                let relinked;
                let r = match fresh {
                    Some(link) => {
                        let mut copy = r.clone();
                        copy.file.link = link;
                        relinked = copy;
                        &relinked
                    }
                    None => r,
                };
                builder
                    .add(r, report_all)
                    .map_err(|e| EngineError::Report(ReportStoreError(e.to_string())))?;
            }
            match page.last() {
                Some(last) if page.len() == RESULTS_PAGE => after = Some(last.file.path.clone()),
                _ => break,
            }
        }
        let (found, not_found) = builder.found_split();
        let finished = self.ports.clock.now_ms();
        let summary = ReportSummary {
            source: s.source.clone(),
            started_at: format_ms(s.started_at_ms),
            finished_at: format_ms(finished),
            duration_s: finished.saturating_sub(s.started_at_ms) as f64 / 1000.0,
            total_files: s.total + s.skipped,
            processed: s.processed,
            matches: s.matches,
            errors: s.errors,
            skipped: s.skipped,
            codes: (found.len() + not_found.len()) as u64,
            codes_found: found.len() as u64,
            duplicates_dropped: s.duplicates,
            needs_ocr,
            version: self.config.version.clone(),
        };
        let report_err =
            |e: &dyn std::fmt::Display| EngineError::Report(ReportStoreError(e.to_string()));
        let url = match &scratch {
            // With a scratch folder the workbook goes to a file and the store streams it from
            // there: a 100,000-row report is never held in memory whole.
            Some(dir) => {
                // Unique per attempt: a retried finalize may run beside the first one.
                let path = dir.join(format!(
                    "isoscan-report-{session_id}-{}.xlsx.part",
                    self.ports.clock.new_id()
                ));
                let file = std::fs::File::create(&path).map_err(|e| report_err(&e))?;
                let written = builder
                    .finish(&summary, std::io::BufWriter::new(file))
                    .map_err(|e| report_err(&e));
                let put = match written {
                    Ok(()) => self.ports.reports.put_file(session_id, &path).await,
                    Err(e) => Err(ReportStoreError(e.to_string())),
                };
                let _ = std::fs::remove_file(&path);
                put?
            }
            None => {
                let mut bytes = std::io::Cursor::new(Vec::new());
                builder
                    .finish(&summary, &mut bytes)
                    .map_err(|e| report_err(&e))?;
                self.ports
                    .reports
                    .put(session_id, bytes.into_inner())
                    .await?
            }
        };
        if self
            .ports
            .sessions
            .transition(
                session_id,
                SessionStatus::Finalizing,
                SessionStatus::Complete,
                finished,
                Some(url.clone()),
            )
            .await?
        {
            if let Ok(mut f) = self.finders.lock() {
                f.remove(session_id);
            }
            let mut message = format!(
                "Scan complete: {} of {} files matched, {} errors, {} skipped",
                s.matches, s.processed, s.errors, s.skipped
            );
            if needs_ocr > 0 {
                message.push_str(&format!(
                    "; {needs_ocr} files have pages without a text layer (scans: only OCR can read them)"
                ));
            }
            self.emit(
                session_id,
                ServerMessage::Complete {
                    download_url: url,
                    total_matches: s.matches,
                    total_processed: s.processed,
                    message,
                    total_files: s.total + s.skipped,
                    errors: s.errors,
                    skipped: s.skipped,
                    codes_found: found,
                    codes_not_found: not_found,
                    needs_ocr,
                },
            )
            .await?;
        }
        Ok(())
    }

    /// The session, if `owner` started it.
    pub async fn owned(&self, session_id: &str, owner: &str) -> Result<Session, EngineError> {
        let s = self.session(session_id).await?;
        if s.owner != owner {
            return Err(EngineError::Forbidden(session_id.to_string()));
        }
        Ok(s)
    }

    /// Reads a code list given as an array, a base64 workbook or an upload; `None` for none.
    pub async fn resolve_targets(
        &self,
        owner: &str,
        input: &TargetsInput,
    ) -> Result<Option<TargetList>, EngineError> {
        let (name, bytes) = if let Some(codes) = &input.codes {
            let text = codes.join("\n");
            ("codes.txt".to_string(), text.into_bytes())
        } else if let Some(b64) = &input.file_content {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| {
                    EngineError::InvalidRequest(format!("file_content is not base64: {e}"))
                })?;
            if bytes.len() > MAX_FILE_CONTENT {
                return Err(EngineError::InvalidRequest(format!(
                    "file_content is {} bytes; at most {MAX_FILE_CONTENT} may be sent inline, upload larger lists with request_upload",
                    bytes.len()
                )));
            }
            // The format is read from the bytes; the name only tells CSV from text.
            ("codes.xlsx".to_string(), bytes)
        } else if let Some(key) = &input.upload {
            self.ports
                .uploads
                .read(owner, key, MAX_TARGETS_UPLOAD)
                .await?
        } else {
            return Ok(None);
        };
        // Parsing is CPU work of up to seconds: off the async threads, a few lists at a time,
        // so other requests are answered meanwhile.
        let _turn = self
            .list_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| EngineError::Extractor("the list reader has stopped".into()))?;
        let (sheet, column) = (input.sheet.clone(), input.column.clone());
        let list = tokio::task::spawn_blocking(move || {
            read_targets(&bytes, &name, sheet.as_deref(), column.as_deref())
        })
        .await
        .map_err(|e| EngineError::Extractor(format!("the list reader failed: {e}")))?
        .map_err(|e| EngineError::InvalidRequest(format!("code list: {e}")))?;
        Ok(Some(list))
    }

    /// `check_targets`: what the list holds, before a scan.
    pub async fn check_targets(
        &self,
        owner: &str,
        input: &TargetsInput,
    ) -> Result<ServerMessage, EngineError> {
        let list = self
            .resolve_targets(owner, input)
            .await?
            .ok_or_else(|| EngineError::InvalidRequest("no code list given".into()))?;
        Ok(ServerMessage::Targets {
            count: list.codes.len() as u64,
            duplicates: list.duplicates as u64,
            sample: list.codes.iter().take(TARGETS_SAMPLE).cloned().collect(),
            sheet: list.sheet,
            column: list.column,
        })
    }

    /// `start_scan` as a client sends it: reads the list, checks an upload's owner, starts.
    pub async fn start_for(
        &self,
        owner: &str,
        source: &str,
        targets: &TargetsInput,
        pattern: Option<String>,
    ) -> Result<Session, EngineError> {
        if let Some(max) = self.config.max_active_scans {
            let active = self.ports.sessions.active(owner).await?;
            if active >= max {
                return Err(EngineError::Quota(format!(
                    "you have {active} scans running; at most {max} may run at once: wait for one to finish or cancel one"
                )));
            }
        }
        if let Some(key) = source.strip_prefix("upload:") {
            self.ports.uploads.check(owner, key).await?;
        }
        let targets = self.resolve_targets(owner, targets).await?;
        self.start_scan(ScanRequest {
            owner: owner.to_string(),
            source: source.to_string(),
            targets,
            pattern,
        })
        .await
    }

    /// `request_upload`.
    pub async fn request_upload(
        &self,
        owner: &str,
        file_name: &str,
        size: u64,
        purpose: UploadPurpose,
        key: Option<&str>,
    ) -> Result<ServerMessage, EngineError> {
        let name = file_name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(file_name)
            .trim();
        let lower = name.to_ascii_lowercase();
        let allowed: &[&str] = match purpose {
            UploadPurpose::Targets => &[".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt"],
            UploadPurpose::Drawings => &[".pdf", ".zip"],
        };
        if name.is_empty() || name.starts_with('.') || !allowed.iter().any(|e| lower.ends_with(e)) {
            return Err(EngineError::InvalidRequest(format!(
                "{file_name}: {} uploads take {}",
                match purpose {
                    UploadPurpose::Targets => "code list",
                    UploadPurpose::Drawings => "drawing",
                },
                allowed.join(", ")
            )));
        }
        if purpose == UploadPurpose::Targets && size > MAX_TARGETS_UPLOAD {
            return Err(EngineError::InvalidRequest(format!(
                "{file_name}: a code list may be at most {MAX_TARGETS_UPLOAD} bytes"
            )));
        }
        let t = self
            .ports
            .uploads
            .create(owner, name, size, purpose, key)
            .await?;
        Ok(ServerMessage::UploadUrl {
            url: t.url,
            key: t.key,
            expires_in: t.expires_in,
        })
    }

    /// SYNC_STATE of `owner`'s session: its counters and every match and file error in the
    /// log up to `last_seq`; a client then follows from `last_seq` (or its own `since`). With
    /// `original`, also the fields the original dashboard reads after its `reconnect`.
    pub async fn sync_state(
        &self,
        session_id: &str,
        owner: &str,
        original: bool,
    ) -> Result<ServerMessage, EngineError> {
        let s = self.owned(session_id, owner).await?;
        let mut matches = vec![];
        let mut errors = vec![];
        let mut last_seq = 0;
        let mut download_url = None;
        let mut codes = (vec![], vec![]);
        let mut end_message = None;
        loop {
            let page = self
                .ports
                .events
                .since(session_id, last_seq, REPLAY_PAGE)
                .await?;
            for env in &page {
                last_seq = env.seq;
                match &env.message {
                    ServerMessage::MatchFound { data } => matches.push(data.clone()),
                    ServerMessage::FileError { data } => errors.push(data.clone()),
                    ServerMessage::Complete {
                        download_url: u,
                        codes_found: f,
                        codes_not_found: n,
                        message: m,
                        ..
                    } => {
                        download_url = Some(u.clone());
                        codes = (f.clone(), n.clone());
                        end_message = Some(m.clone());
                    }
                    ServerMessage::Cancelled { message: m }
                    | ServerMessage::Error { message: m, .. } => end_message = Some(m.clone()),
                    _ => {}
                }
            }
            if page.len() < REPLAY_PAGE {
                break;
            }
        }
        // A redelivered file may have been announced twice; the snapshot holds it once.
        let mut seen = std::collections::HashSet::new();
        matches.retain(|m| seen.insert(m.path.clone()));
        seen.clear();
        // Links that expire are signed anew for the client that asks.
        for m in &mut matches {
            let file = FileRef {
                path: m.path.clone(),
                size: None,
                link: m.pdf_link.clone(),
                id: None,
            };
            if let Some(link) = self.ports.source.relink(&s.source, &file).await {
                m.pdf_link = isoscan_core::protocol::first_page_link(&link, &m.codes, &m.pages);
            }
        }
        errors.retain(|e| seen.insert(e.path.clone()));
        // The session is read after the log, so its counters are never behind the snapshot.
        let s = self.session(&s.id).await?;
        let status = serde_json::to_value(s.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let download_url = download_url.or(s.report_url);
        let original = original.then(|| {
            let complete = s.status == SessionStatus::Complete;
            Box::new(OriginalSync {
                status: if s.status.is_final() {
                    status.clone()
                } else {
                    "IN_PROGRESS".to_string()
                },
                processed_count: s.processed,
                total_files: s.total,
                progress: if complete {
                    100
                } else {
                    (s.processed * 100)
                        .checked_div(s.total)
                        .unwrap_or(0)
                        .min(100)
                },
                results: matches.iter().map(OriginalResult::from).collect(),
                message: end_message
                    .clone()
                    .unwrap_or_else(|| format!("Processing: {}/{} files", s.processed, s.total)),
                download_url: download_url.clone().filter(|_| complete),
            })
        });
        Ok(ServerMessage::SyncState {
            session: SessionState {
                status,
                source: s.source,
                processed: s.processed,
                total: s.total,
                matches: s.matches,
                errors: s.errors,
                skipped: s.skipped,
                listing_done: s.listing_done,
                target_count: s.target_count,
                started_at: s.started_at_ms,
                finished_at: s.finished_at_ms,
                download_url,
                codes_found: codes.0,
                codes_not_found: codes.1,
                message: end_message,
            },
            matches,
            errors,
            last_seq,
            original,
        })
    }

    /// Logged messages of a session after `since`, at most `limit`.
    pub async fn replay(
        &self,
        session_id: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<isoscan_core::protocol::Envelope>, EngineError> {
        Ok(self.ports.events.since(session_id, since, limit).await?)
    }

    /// `get_report`: a fresh download link for `owner`'s completed scan.
    pub async fn report_link(
        &self,
        session_id: &str,
        owner: &str,
    ) -> Result<ServerMessage, EngineError> {
        let s = self.owned(session_id, owner).await?;
        if s.status != SessionStatus::Complete {
            return Err(EngineError::NotReady(session_id.to_string()));
        }
        let (download_url, expires_in) = self.ports.reports.link(session_id).await?;
        Ok(ServerMessage::ReportUrl {
            download_url,
            expires_in,
        })
    }

    /// Answers one client message of `principal`: the one use case every entry point (the local
    /// socket, the Lambda) calls.
    pub async fn answer(&self, principal: &str, msg: ClientMessage) -> Vec<Step> {
        match msg {
            ClientMessage::Ping => reply("", ServerMessage::Pong {}),
            ClientMessage::StartScan {
                source,
                targets,
                pattern,
            } => match self.start_for(principal, &source, &targets, pattern).await {
                // STARTED is the first message of the session's log.
                Ok(s) => vec![Step::Follow {
                    session: s.id,
                    since: 0,
                }],
                Err(e) => reply("", e.to_client()),
            },
            ClientMessage::RequestUpload {
                file_name,
                size,
                purpose,
                key,
            } => match self
                .request_upload(principal, &file_name, size, purpose, key.as_deref())
                .await
            {
                Ok(m) => reply("", m),
                Err(e) => reply("", e.to_client()),
            },
            ClientMessage::CheckTargets { targets } => {
                match self.check_targets(principal, &targets).await {
                    Ok(m) => reply("", m),
                    Err(e) => reply("", e.to_client()),
                }
            }
            ClientMessage::Subscribe {
                session_id,
                since,
                original,
            } => match self.sync_state(&session_id, principal, original).await {
                Ok(m) => {
                    let last = match &m {
                        ServerMessage::SyncState { last_seq, .. } => *last_seq,
                        _ => 0,
                    };
                    vec![
                        Step::Reply {
                            session: session_id.clone(),
                            message: m,
                        },
                        Step::Follow {
                            session: session_id,
                            since: since.unwrap_or(last),
                        },
                    ]
                }
                Err(e) => reply(&session_id, e.to_client()),
            },
            ClientMessage::CancelScan { session_id } => {
                match self.cancel(&session_id, principal).await {
                    Ok(true) => reply(
                        &session_id,
                        ServerMessage::Cancelled {
                            message: "Scan cancelled".into(),
                        },
                    ),
                    Ok(false) => reply(
                        &session_id,
                        ServerMessage::Error {
                            message: format!("session {session_id} has already ended"),
                            code: "not_running".into(),
                        },
                    ),
                    Err(e) => reply(&session_id, e.to_client()),
                }
            }
            ClientMessage::GetReport { session_id } => {
                match self.report_link(&session_id, principal).await {
                    Ok(m) => reply(&session_id, m),
                    Err(e) => reply(&session_id, e.to_client()),
                }
            }
        }
    }

    /// Picks up a session a stopped process left unfinished: its queued jobs are still on
    /// the queue; what may be missing is the finalize job (the process stopped between
    /// winning FINALIZING and queueing it) or the move to FINALIZING itself.
    pub async fn resume(&self, session_id: &str) -> Result<(), EngineError> {
        let s = self.session(session_id).await?;
        match s.status {
            SessionStatus::Finalizing => {
                // A second finalize job is harmless: the report is rebuilt, COMPLETE sent once.
                self.ports
                    .queue
                    .send(vec![Job::Finalize {
                        session: session_id.to_string(),
                    }])
                    .await?;
            }
            SessionStatus::Running if s.all_processed() => self.maybe_finalize(session_id).await?,
            _ => {}
        }
        Ok(())
    }

    /// Cancels a running scan of `owner`'s: `false` when it had already ended.
    pub async fn cancel(&self, session_id: &str, owner: &str) -> Result<bool, EngineError> {
        let s = self.session(session_id).await?;
        if s.owner != owner {
            return Err(EngineError::Forbidden(session_id.to_string()));
        }
        if !self
            .ports
            .sessions
            .transition(
                session_id,
                SessionStatus::Running,
                SessionStatus::Cancelled,
                self.ports.clock.now_ms(),
                None,
            )
            .await?
        {
            return Ok(false);
        }
        self.emit(
            session_id,
            ServerMessage::Cancelled {
                message: "Scan cancelled".into(),
            },
        )
        .await?;
        Ok(true)
    }

    /// Runs one delivered job.
    pub async fn handle(&self, delivery: &Delivery) -> Result<(), EngineError> {
        match &delivery.job {
            Job::List { session, cursor } => self.list_source(session, cursor.as_deref()).await,
            Job::Files { session, files } => {
                self.process_batch(session, files, delivery.receive_count)
                    .await
            }
            Job::Finalize { session } => self.finalize(session).await,
        }
    }

    /// Runs one delivered job and says what to do with the message: the rule the local worker
    /// loop and the SQS worker share. A failure that may pass is retried (up to
    /// [`MAX_RECEIVES`]); one that will not fails the scan, and the message is done.
    pub async fn run_job(&self, d: &Delivery) -> JobOutcome {
        match self.handle(d).await {
            Ok(()) => JobOutcome::Done,
            Err(e) if e.is_retryable() && d.receive_count <= MAX_RECEIVES => {
                tracing::warn!(job = ?d.job, error = %e, "job failed; retrying");
                JobOutcome::Retry(self.config.retry_base * (1 << d.receive_count.min(6)))
            }
            Err(e) => {
                tracing::error!(job = ?d.job, error = %e, "job failed");
                if let Ok(s) = self.session(d.job.session()).await {
                    let _ = self
                        .fail(&s, &format!("The scan stopped: {e}"), "internal")
                        .await;
                }
                JobOutcome::Done
            }
        }
    }

    /// A job that reached the dead-letter queue: its files are recorded as errors (so the scan
    /// still completes); a listing or finalize that kept failing fails the scan.
    pub async fn give_up(&self, job: &Job) -> Result<(), EngineError> {
        match job {
            Job::Files { session, files } => {
                self.process_batch(session, files, MAX_RECEIVES + 1).await
            }
            Job::List { session, .. } | Job::Finalize { session } => {
                let s = self.session(session).await?;
                self.fail(
                    &s,
                    "The scan stopped: its source could not be listed or its report built",
                    "internal",
                )
                .await
            }
        }
    }

    /// Takes jobs until `stop` says so: acknowledges what succeeded or failed for good, and
    /// puts back what may succeed later (with backoff).
    pub async fn work(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let visibility = Duration::from_secs(300);
        while !*stop.borrow() {
            // A stop ends the wait for work at once; a job in hand is finished first.
            let received = tokio::select! {
                r = self.ports.queue.receive(1, visibility, Duration::from_secs(1)) => r,
                _ = stop.changed() => break,
            };
            let deliveries = match received {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "receive failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            for d in deliveries {
                let r = match self.run_job(&d).await {
                    JobOutcome::Done => self.ports.queue.ack(&d.receipt).await,
                    JobOutcome::Retry(after) => self.ports.queue.retry(&d.receipt, after).await,
                };
                if let Err(e) = r {
                    tracing::warn!(error = %e, "queue acknowledgement failed");
                }
            }
        }
    }
}

/// What becomes of a job's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// Delete it.
    Done,
    /// Deliver it again after this delay.
    Retry(Duration),
}

/// `YYYY-MM-DD HH:MM:SS UTC` of a Unix time in milliseconds.
pub fn format_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::format_ms(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            super::format_ms(1_795_824_000_000 + 3_723_000),
            "2026-11-28 01:02:03 UTC"
        );
    }
}
