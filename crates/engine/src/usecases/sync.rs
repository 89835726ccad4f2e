//! The snapshot a client gets when it subscribes or reconnects: counters, every match and file
//! error logged so far (links signed anew), and the `seq` to follow from.

use isoscan_core::protocol::{OriginalResult, OriginalSync, ServerMessage, SessionState};
use isoscan_core::result::FileRef;

use super::{Engine, EngineError};
use crate::ports::*;

/// Event-log page read at a time when a client catches up.
pub const REPLAY_PAGE: usize = 500;

impl Engine {
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
        let download_url = download_url.or(s.report_url);
        let original = original.then(|| {
            let complete = s.status == SessionStatus::Complete;
            Box::new(OriginalSync {
                status: if s.status.is_final() {
                    s.status.to_string()
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
                status: s.status,
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
}
