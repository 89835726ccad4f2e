//! The end of a scan: the report built from every result (streamed page by page into the
//! store's writer) and COMPLETE sent once; a scan a stopped process left is picked up again.

use isoscan_core::protocol::{ServerMessage, COMPLETE_CODES_MAX};
use isoscan_core::report::{format_ms, ReportBuilder, ReportSummary};
use isoscan_core::result::Outcome;

use super::{Engine, EngineError, RESULTS_PAGE};
use crate::ports::*;

impl Engine {
    /// Builds the report from every result and sends COMPLETE (once). A retry that finds the
    /// scan COMPLETE builds the message again and logs it if the first attempt stopped
    /// between the move to COMPLETE and the log.
    pub async fn finalize(&self, session_id: &str) -> Result<(), EngineError> {
        let s = self.session(session_id).await?;
        let stored = match s.status {
            SessionStatus::Finalizing => None,
            SessionStatus::Complete => s.report_url.clone(),
            _ => return Ok(()),
        };
        if s.status == SessionStatus::Complete && stored.is_none() {
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
        let url = match stored {
            Some(url) => url,
            None => {
                let mut out = self.ports.reports.writer(session_id).await?;
                builder
                    .finish(&summary, &mut out)
                    .map_err(|e| report_err(&e))?;
                out.store().await?
            }
        };
        let won = s.status == SessionStatus::Finalizing
            && self
                .ports
                .sessions
                .transition(
                    session_id,
                    SessionStatus::Finalizing,
                    SessionStatus::Complete,
                    finished,
                    Some(url.clone()),
                )
                .await?;
        if won || s.status == SessionStatus::Complete {
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
            let (found_count, not_found_count) = (found.len() as u64, not_found.len() as u64);
            let truncated = found.len().max(not_found.len()) > COMPLETE_CODES_MAX;
            let (mut found, mut not_found) = (found, not_found);
            found.truncate(COMPLETE_CODES_MAX);
            not_found.truncate(COMPLETE_CODES_MAX);
            self.emit_once(
                session_id,
                "complete",
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
                    codes_found_count: found_count,
                    codes_not_found_count: not_found_count,
                    codes_truncated: truncated,
                    needs_ocr,
                },
            )
            .await?;
        }
        Ok(())
    }

    /// Picks up a session a stopped process left unfinished: its queued jobs are still on
    /// the queue; what may be missing is the finalize job (the process stopped between
    /// winning FINALIZING and queueing it) or the move to FINALIZING itself.
    pub async fn resume(&self, session_id: &str) -> Result<(), EngineError> {
        let s = self.session(session_id).await?;
        self.resume_session(&s).await.map(|_| ())
    }

    /// What [`Engine::resume`] does for one session; whether it did anything.
    async fn resume_session(&self, s: &Session) -> Result<bool, EngineError> {
        match s.status {
            SessionStatus::Finalizing => {
                // A second finalize job is harmless: the report is rebuilt, COMPLETE sent once.
                self.ports
                    .queue
                    .send(vec![Job::Finalize {
                        session: s.id.clone(),
                    }])
                    .await?;
                Ok(true)
            }
            SessionStatus::Running if s.all_processed() => self.maybe_finalize(&s.id).await,
            _ => Ok(false),
        }
    }

    /// The sweeper: resumes every scan that has waited at least `idle` with all its results
    /// in (RUNNING) or in FINALIZING, the states a worker that stopped at the wrong moment
    /// leaves. A scan still being worked on is left alone: one whose files are not all in has
    /// its jobs on the queue, and a finalize younger than `idle` is still running.
    pub async fn sweep(&self, idle: std::time::Duration) -> Result<Swept, EngineError> {
        let now = self.ports.clock.now_ms();
        let cutoff = now.saturating_sub(idle.as_millis() as u64);
        let mut swept = Swept::default();
        for s in self.ports.sessions.unfinished().await? {
            swept.unfinished += 1;
            // RUNNING with every file in needs no wait: finalization is claimed conditionally,
            // so a worker about to claim it and the sweeper never both win.
            let due = match s.status {
                SessionStatus::Finalizing => s.status_since_ms <= cutoff,
                _ => true,
            };
            if due {
                match self.resume_session(&s).await {
                    Ok(true) => {
                        tracing::info!(session = %s.id, status = %s.status.as_str(), "resumed a stalled scan");
                        swept.resumed += 1;
                    }
                    Ok(false) => {}
                    // One session that cannot be resumed now does not stop the others.
                    Err(e) => {
                        tracing::warn!(session = %s.id, error = %e, "cannot resume a scan");
                        swept.failed += 1;
                    }
                }
            }
        }
        Ok(swept)
    }
}

/// What one sweep found and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Scans not ended.
    pub unfinished: u64,
    /// Scans it moved on (finalization begun, or its job queued again).
    pub resumed: u64,
    /// Scans it could not resume now (tried again at the next sweep).
    pub failed: u64,
}
