//! A client's messages: [`Engine::answer`] turns one into the [`Step`]s an entry point takes,
//! reading code lists, handing out uploads, starting, cancelling and linking reports.

use isoscan_core::location::Location;
use isoscan_core::protocol::{
    ClientMessage, ErrorCode, ServerMessage, TargetsInput, MAX_FILE_CONTENT,
};
use isoscan_core::targets::{read_targets, TargetList};

use super::{Engine, EngineError, ScanRequest, MAX_TARGETS_UPLOAD};
use crate::ports::*;

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

/// Codes shown back by `check_targets`.
const TARGETS_SAMPLE: usize = 10;

impl Engine {
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
            self.read_list_upload(owner, key, MAX_TARGETS_UPLOAD)
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
        let location = Location::parse(source);
        if let Ok(Location::Upload { key }) = &location {
            self.check_drawings_upload(owner, key).await?;
        } else if let Some(held) = self.config.scopes.as_ref().and_then(|s| s.sources(owner)) {
            // Held to some S3 locations: those, or one of its own uploads (checked above).
            let allowed = crate::routing::Allowed {
                s3: held.clone(),
                drive: false,
            };
            if !allowed.allows_s3(source) {
                return Err(SourceError::Forbidden(format!(
                    "{source}: you may scan {} or your own uploads",
                    held.join(", ")
                ))
                .into());
            }
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
            } => match self
                .sync_state(&session_id, principal, since, original)
                .await
            {
                Ok(m) => {
                    // The snapshot holds what the log has up to its `last_seq` (`since`, when
                    // the client gave it).
                    let since = match &m {
                        ServerMessage::SyncState { last_seq, .. } => *last_seq,
                        _ => since.unwrap_or(0),
                    };
                    vec![
                        Step::Reply {
                            session: session_id.clone(),
                            message: m,
                        },
                        Step::Follow {
                            session: session_id,
                            since,
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
                            code: ErrorCode::NotRunning,
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
}
