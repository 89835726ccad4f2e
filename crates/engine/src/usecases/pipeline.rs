//! The scan pipeline: a scan starts, its source is listed page by page into batches of files,
//! and each file is fetched, read, matched and recorded once; the last result starts
//! finalization.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use isoscan_core::matcher::{Discoverer, Matcher};
use isoscan_core::protocol::{ErrorCode, ServerMessage};
use isoscan_core::result::{FileRef, FileResult, Outcome};
use isoscan_core::targets::TargetList;
use isoscan_core::text::DocText;

use super::{Engine, EngineError, FILES_PER_JOB, MAX_RECEIVES, PROGRESS_INTERVAL_MS, RECORD_WAIT};
use crate::ports::*;

/// A request to scan.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    pub owner: String,
    pub source: String,
    /// `None`: no list; codes are discovered by `pattern`.
    pub targets: Option<TargetList>,
    pub pattern: Option<String>,
}

pub(super) enum Finder {
    Targets(Matcher),
    Discover(Discoverer),
}

impl Engine {
    pub(super) async fn finder(&self, s: &Session) -> Result<Arc<Finder>, EngineError> {
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
        // Not stopped at `listing_done`: a retry of the last page must still send its files.
        if s.status != SessionStatus::Running {
            return Ok(());
        }
        let page = match self.ports.source.list(&s.source, cursor).await {
            Ok(p) => p,
            Err(e @ SourceError::Transient(_)) => return Err(e.into()),
            Err(e) => {
                self.fail(&s, &e.to_string(), ErrorCode::Source).await?;
                return Ok(());
            }
        };
        // Counts first, then jobs, so a batch never finishes before its files are counted; the
        // count is conditional on the page, so a retried page sends its jobs again (harmless:
        // results are written once) but never counts twice, and goes on from the cursor the
        // first attempt recorded: a source that answers a retry with another cursor (a new
        // page token, a folder added since) never starts a second chain of pages.
        let page_key = cursor.unwrap_or("");
        let files = (page.files.len() + page.errors.len()) as u64;
        let next = match self
            .ports
            .sessions
            .add_listed(
                session_id,
                page_key,
                page.next.as_deref(),
                files,
                page.skipped.len() as u64,
            )
            .await?
        {
            Listed::Counted(_) => page.next.clone(),
            Listed::Repeated { next } => next.or(page.next.clone()),
        };
        // The next page goes first: on a queue that keeps order, listing finishes early and the
        // total (and so progress and ETA) is known while the batches run.
        let mut jobs: Vec<Job> = next
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
        // Also on a retry: the first attempt may have stopped before asking.
        if next.is_none() {
            self.maybe_finalize(session_id).await?;
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
        let bytes = Arc::new(bytes);
        let mut doc = match self.ports.extractor.extract(file, bytes.clone()).await {
            Ok(d) => d,
            Err(e) => return Self::unreadable(file, e),
        };
        let wanted = doc.pages_needing_ocr();
        if let Some(ocr) = self.ports.ocr.as_ref().filter(|_| !wanted.is_empty()) {
            match ocr.read(file, bytes, doc.pages.len(), &wanted).await {
                Ok(texts) => doc.apply_ocr(texts),
                Err(e) => return Self::unreadable(file, e),
            }
        }
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

    /// A file the extractor or OCR could not read: a FILE_ERROR, or a retry when it may pass.
    fn unreadable(file: &FileRef, e: ExtractFailure) -> Result<FileResult, EngineError> {
        match e {
            ExtractFailure::File(reason) => Ok(FileResult {
                file: file.clone(),
                outcome: Outcome::Error { reason },
            }),
            ExtractFailure::Transient(e) => Err(EngineError::Extractor(e)),
        }
    }

    /// Records a result once and tells the clients; the session as the write left it.
    async fn record(&self, s: &Session, result: FileResult) -> Result<Session, EngineError> {
        self.announce(s, &result).await?;
        self.record_all(s, &[result]).await
    }

    /// A file's own message, sent before its result is counted, so that it always precedes
    /// COMPLETE (a redelivered file's message may go out again; clients deduplicate by seq).
    async fn announce(&self, s: &Session, result: &FileResult) -> Result<(), EngineError> {
        if let Some(msg) = ServerMessage::for_result(result) {
            self.emit(&s.id, msg).await?;
        }
        Ok(())
    }

    /// Records announced results in one write; PROGRESS when due, finalization when every
    /// file is in. The session as the write left it.
    async fn record_all(
        &self,
        s: &Session,
        results: &[FileResult],
    ) -> Result<Session, EngineError> {
        let done = self.ports.sessions.record_many(&s.id, results).await?;
        let now = done.session;
        if !done.inserted.contains(&true) {
            // Redeliveries only: the attempt that counted the last file may have stopped
            // before finalization began.
            self.finalize_if_done(&now).await?;
            return Ok(now);
        }
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
        Ok(now)
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

    /// Processes a batch of files; the files it did not start (`start_before` came) are
    /// returned. A file already recorded is skipped (a redelivery); `receive_count` past
    /// [`MAX_RECEIVES`] records the remaining files as errors. A cancel is seen between files.
    pub async fn process_batch(
        &self,
        session_id: &str,
        files: &[FileRef],
        receive_count: u32,
        start_before: Option<Instant>,
    ) -> Result<Vec<FileRef>, EngineError> {
        let mut s = self.session(session_id).await?;
        let mut redelivered = false;
        // Results read and announced, not yet recorded: written together when the batch ends,
        // or once the oldest has waited RECORD_WAIT (progress stays live on slow files, and a
        // cancel is seen that often).
        let mut held: Vec<FileResult> = vec![];
        let mut held_since = Instant::now();
        for (i, file) in files.iter().enumerate() {
            if !held.is_empty() && held_since.elapsed() >= RECORD_WAIT {
                s = self.record_all(&s, &std::mem::take(&mut held)).await?;
            }
            if s.status != SessionStatus::Running {
                // Cancelled or failed: the files are dropped.
                return Ok(vec![]);
            }
            if start_before.is_some_and(|t| Instant::now() >= t) {
                if !held.is_empty() {
                    self.record_all(&s, &held).await?;
                }
                return Ok(files[i..].to_vec());
            }
            if self
                .ports
                .sessions
                .has_result(session_id, &file.path)
                .await?
            {
                redelivered = true;
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
                match self.scan_file(&s, file).await {
                    Ok(r) => r,
                    Err(e) => {
                        // The job comes back; what was read meanwhile need not be read again.
                        if !held.is_empty() {
                            if let Err(r) = self.record_all(&s, &held).await {
                                tracing::warn!(error = %r, "cannot record the files read");
                            }
                        }
                        return Err(e);
                    }
                }
            };
            self.announce(&s, &result).await?;
            if held.is_empty() {
                held_since = Instant::now();
            }
            held.push(result);
        }
        if !held.is_empty() {
            self.record_all(&s, &held).await?;
        }
        if redelivered {
            // Every file was in already: the attempt that recorded the last may have stopped
            // before finalization began.
            let now = self.session(session_id).await?;
            self.finalize_if_done(&now).await?;
        }
        Ok(vec![])
    }

    /// Begins finalization of a running session whose every file is in.
    pub(super) async fn finalize_if_done(&self, s: &Session) -> Result<(), EngineError> {
        if s.status == SessionStatus::Running && s.all_processed() {
            self.maybe_finalize(&s.id).await?;
        }
        Ok(())
    }

    /// Claims finalization and queues its job; whether this caller won the claim.
    pub(super) async fn maybe_finalize(&self, session_id: &str) -> Result<bool, EngineError> {
        if self
            .ports
            .sessions
            .try_begin_finalize(session_id, self.ports.clock.now_ms())
            .await?
        {
            self.ports
                .queue
                .send(vec![Job::Finalize {
                    session: session_id.to_string(),
                }])
                .await?;
            return Ok(true);
        }
        Ok(false)
    }
}
