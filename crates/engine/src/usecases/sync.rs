//! The snapshot a client gets when it subscribes or reconnects: counters, the matches and file
//! errors it does not have yet (links signed anew), and the `seq` to follow from. A snapshot
//! fits one message ([`MESSAGE_MAX`]) and reads a bounded part of the log: what does not fit
//! comes after it, as the log's own messages.

use isoscan_core::protocol::{
    Envelope, FileErrorData, MatchData, OriginalResult, OriginalSync, ServerMessage, SessionState,
    MESSAGE_MAX,
};
use isoscan_core::result::FileRef;

use super::{Engine, EngineError};
use crate::ports::*;

/// Event-log page read at a time when a client catches up.
pub const REPLAY_PAGE: usize = 500;

/// The most log pages one snapshot reads: a reconnect to a 100,000-file scan must not read the
/// whole log in one request; the rest follows as the log's own messages.
pub const SNAPSHOT_PAGES: usize = 10;

/// Room kept in a snapshot for the envelope around it.
const SNAPSHOT_SLACK: usize = 1024;

impl Engine {
    /// SYNC_STATE of `owner`'s session: its counters, and the rows up to `last_seq`, from
    /// which a client then follows. A client that gives `since` has the rows up to it: it gets
    /// the counters alone (`last_seq` = `since`) and then every message after `since`. One
    /// that does not gets the matches and file errors from the start of the log, up to where
    /// the next would take the message past [`MESSAGE_MAX`] or after [`SNAPSHOT_PAGES`] pages
    /// of the log. With `original`, also the fields the original dashboard reads after its
    /// `reconnect`.
    pub async fn sync_state(
        &self,
        session_id: &str,
        owner: &str,
        since: Option<u64>,
        original: bool,
    ) -> Result<ServerMessage, EngineError> {
        let s = self.owned(session_id, owner).await?;
        let pages = if since.is_some() { 0 } else { SNAPSHOT_PAGES };
        let since = since.unwrap_or(0);
        let mut read: Vec<Envelope> = vec![];
        let mut download_url = None;
        let mut codes = (vec![], vec![], 0, 0, false);
        let mut end_message = None;
        let mut after = since;
        for _ in 0..pages {
            let page = self
                .ports
                .events
                .since(session_id, after, REPLAY_PAGE)
                .await?;
            let full = page.len() == REPLAY_PAGE;
            for env in page {
                after = env.seq;
                match &env.message {
                    ServerMessage::Complete {
                        download_url: u,
                        codes_found: f,
                        codes_not_found: n,
                        codes_found_count: fc,
                        codes_not_found_count: nc,
                        codes_truncated: t,
                        message: m,
                        ..
                    } => {
                        download_url = Some(u.clone());
                        codes = (f.clone(), n.clone(), *fc, *nc, *t);
                        end_message = Some(m.clone());
                    }
                    ServerMessage::Cancelled { message: m }
                    | ServerMessage::Error { message: m, .. } => end_message = Some(m.clone()),
                    ServerMessage::MatchFound { .. } | ServerMessage::FileError { .. } => {
                        read.push(env)
                    }
                    _ => {}
                }
            }
            if !full {
                break;
            }
        }
        let mut last_seq = after;
        // A redelivered file may have been announced twice; the snapshot holds it once.
        let mut seen = std::collections::HashSet::new();
        let mut items = vec![];
        for env in read {
            match env.message {
                ServerMessage::MatchFound { mut data } => {
                    if !seen.insert((true, data.path.clone())) {
                        continue;
                    }
                    // Links that expire are signed anew for the client that asks.
                    let file = FileRef {
                        path: data.path.clone(),
                        size: None,
                        link: data.pdf_link.clone(),
                        id: None,
                    };
                    if let Some(link) = self.ports.source.relink(&s.source, &file).await {
                        data.pdf_link = isoscan_core::protocol::first_page_link(
                            &link,
                            &data.codes,
                            &data.pages,
                        );
                    }
                    items.push((env.seq, Row::Match(data)));
                }
                ServerMessage::FileError { data } if seen.insert((false, data.path.clone())) => {
                    items.push((env.seq, Row::Error(data)));
                }
                _ => {}
            }
        }
        // The session is read after the log, so its counters are never behind the snapshot.
        let s = self.session(&s.id).await?;
        let snap = Snapshot {
            download_url: download_url.or(s.report_url.clone()),
            codes,
            end_message,
            original,
        };
        let mut size = json_len(&snap.message(&s, vec![], vec![], u64::MAX)) + SNAPSHOT_SLACK;
        let (mut matches, mut errors) = (vec![], vec![]);
        for (seq, item) in items {
            let add = match &item {
                Row::Match(m) => {
                    json_len(m)
                        + 1
                        + if original {
                            json_len(&OriginalResult::from(m)) + 1
                        } else {
                            0
                        }
                }
                Row::Error(e) => json_len(e) + 1,
            };
            if size + add > MESSAGE_MAX {
                // The rest follows as the log's own messages, from this one on.
                last_seq = seq - 1;
                break;
            }
            size += add;
            match item {
                Row::Match(m) => matches.push(m),
                Row::Error(e) => errors.push(e),
            }
        }
        Ok(snap.message(&s, matches, errors, last_seq))
    }

    /// Logged messages of a session after `since`, at most `limit`.
    pub async fn replay(
        &self,
        session_id: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<Envelope>, EngineError> {
        Ok(self.ports.events.since(session_id, since, limit).await?)
    }
}

/// A row of a snapshot, in log order.
enum Row {
    Match(MatchData),
    Error(FileErrorData),
}

/// The length of `v` as JSON.
fn json_len<T: serde::Serialize>(v: &T) -> usize {
    serde_json::to_vec(v).map_or(0, |j| j.len())
}

/// What a snapshot read from the log besides its matches and errors.
struct Snapshot {
    download_url: Option<String>,
    codes: (Vec<String>, Vec<String>, u64, u64, bool),
    end_message: Option<String>,
    original: bool,
}

impl Snapshot {
    fn message(
        &self,
        s: &Session,
        matches: Vec<MatchData>,
        errors: Vec<FileErrorData>,
        last_seq: u64,
    ) -> ServerMessage {
        let original = self.original.then(|| {
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
                message: self
                    .end_message
                    .clone()
                    .unwrap_or_else(|| format!("Processing: {}/{} files", s.processed, s.total)),
                download_url: self.download_url.clone().filter(|_| complete),
            })
        });
        ServerMessage::SyncState {
            session: SessionState {
                status: s.status,
                source: s.source.clone(),
                processed: s.processed,
                total: s.total,
                matches: s.matches,
                errors: s.errors,
                skipped: s.skipped,
                listing_done: s.listing_done,
                target_count: s.target_count,
                started_at: s.started_at_ms,
                finished_at: s.finished_at_ms,
                download_url: self.download_url.clone(),
                codes_found: self.codes.0.clone(),
                codes_not_found: self.codes.1.clone(),
                codes_found_count: self.codes.2,
                codes_not_found_count: self.codes.3,
                codes_truncated: self.codes.4,
                message: self.end_message.clone(),
            },
            matches,
            errors,
            last_seq,
            original,
        }
    }
}
