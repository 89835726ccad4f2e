//! One WebSocket connection: parses each client message, calls one use case, and sends the
//! answer; follows the sessions it started or subscribed to. Written against `Sink`/`Stream`
//! of axum messages so that nothing here depends on how the socket was made.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message};
use futures::{Sink, SinkExt, Stream, StreamExt};
use isoscan_core::protocol::{
    parse_request, ClientMessage, Envelope, ErrorCode, ProtocolError, ServerMessage,
};
use isoscan_engine::{Engine, Step, REPLAY_PAGE};
use tokio::sync::{mpsc, watch};

use super::hub::{Control, Hub, Outgoing};
use crate::sqlite::SqliteState;

/// Messages a connection may have queued before it counts as too slow.
pub const SEND_QUEUE: usize = 2048;

/// What every connection shares.
pub struct Shared {
    pub engine: Arc<Engine>,
    pub hub: Arc<Hub>,
    pub state: Arc<SqliteState>,
    pub shutdown: watch::Receiver<bool>,
    /// A socket the client sends nothing on for this long is closed (the dashboard pings).
    pub idle: std::time::Duration,
}

struct Conn<'a, S> {
    id: u64,
    principal: String,
    shared: &'a Shared,
    sink: S,
    tx: mpsc::Sender<Outgoing>,
    ctl: mpsc::UnboundedSender<Control>,
    /// Highest `seq` sent per followed session: nothing at or below it is sent again.
    sent: HashMap<String, u64>,
    /// The `req_id` of the request being answered: its replies carry it.
    req_id: Option<String>,
}

type SendResult = Result<(), axum::Error>;

impl<S> Conn<'_, S>
where
    S: Sink<Message, Error = axum::Error> + Unpin,
{
    async fn send_json(&mut self, json: &str) -> SendResult {
        self.sink.send(Message::Text(json.into())).await
    }

    /// An answer that is not part of a session's log: `seq` 0.
    async fn reply(&mut self, session: &str, message: ServerMessage) -> SendResult {
        let env = Envelope {
            session_id: session.to_string(),
            seq: 0,
            ts: None,
            req_id: self.req_id.clone(),
            message,
        };
        match serde_json::to_string(&env) {
            Ok(j) => self.send_json(&j).await,
            Err(e) => {
                tracing::error!(error = %e, "cannot serialize a reply");
                Ok(())
            }
        }
    }

    async fn error(&mut self, session: &str, code: ErrorCode, message: String) -> SendResult {
        self.reply(session, ServerMessage::Error { message, code })
            .await
    }

    /// Sends a logged message unless it was sent already.
    async fn deliver(&mut self, session: &str, seq: u64, json: &str) -> SendResult {
        let last = self.sent.get(session).copied();
        match last {
            Some(l) if seq <= l => Ok(()),
            // Not following (any more): a message still queued from before is dropped.
            None => Ok(()),
            Some(_) => {
                self.send_json(json).await?;
                self.sent.insert(session.to_string(), seq);
                Ok(())
            }
        }
    }

    /// Follows a session from `since`: live messages are queued from now on, the log is
    /// replayed up to them, and `deliver` skips what both hold.
    async fn follow(&mut self, session: &str, since: u64) -> SendResult {
        self.sent.insert(session.to_string(), since);
        self.shared
            .hub
            .follow(session, self.id, self.tx.clone(), self.ctl.clone());
        let mut after = since;
        loop {
            let page = match self.shared.engine.replay(session, after, REPLAY_PAGE).await {
                Ok(p) => p,
                Err(e) => return self.reply(session, e.to_client()).await,
            };
            for env in &page {
                after = env.seq;
                if let Ok(j) = serde_json::to_string(env) {
                    self.deliver(session, env.seq, &j).await?;
                }
            }
            if page.len() < REPLAY_PAGE {
                return Ok(());
            }
        }
    }

    async fn handle(&mut self, text: &str) -> SendResult {
        let (req_id, parsed) = parse_request(text);
        self.req_id = req_id;
        let r = self.answer(parsed).await;
        self.req_id = None;
        r
    }

    async fn answer(&mut self, parsed: Result<ClientMessage, ProtocolError>) -> SendResult {
        let msg = match parsed {
            Ok(m) => m,
            Err(e) => return self.error("", e.code(), e.to_string()).await,
        };
        let engine = self.shared.engine.clone();
        for step in engine.answer(&self.principal, msg).await {
            match step {
                // A subscribed connection gets CANCELLED from the log as well; one is enough.
                Step::Reply {
                    session,
                    message: ServerMessage::Cancelled { .. },
                } if self.sent.contains_key(&session) => {}
                Step::Reply { session, message } => self.reply(&session, message).await?,
                Step::Follow { session, since } => self.follow(&session, since).await?,
            }
        }
        Ok(())
    }
}

/// Runs a connection until the client leaves or the server shuts down.
pub async fn run<S, R>(shared: Arc<Shared>, id: u64, principal: String, sink: S, mut stream: R)
where
    S: Sink<Message, Error = axum::Error> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let (tx, mut rx) = mpsc::channel::<Outgoing>(SEND_QUEUE);
    let (ctl, mut ctl_rx) = mpsc::unbounded_channel::<Control>();
    let mut shutdown = shared.shutdown.clone();
    let mut conn = Conn {
        id,
        principal,
        shared: &shared,
        sink,
        tx,
        ctl,
        sent: HashMap::new(),
        req_id: None,
    };
    let idle = tokio::time::sleep(shared.idle);
    tokio::pin!(idle);
    loop {
        let r = tokio::select! {
            m = stream.next() => {
                idle.as_mut().reset(tokio::time::Instant::now() + shared.idle);
                match m {
                Some(Ok(Message::Text(t))) => conn.handle(t.as_str()).await,
                Some(Ok(Message::Binary(_))) => {
                    conn.error("", ErrorCode::Malformed, "messages are JSON text, not binary".into()).await
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
                Some(Ok(Message::Close(_))) | None => break,
                Some(Err(e)) => {
                    // Past the read limit the frame cannot be skipped: say why, then close.
                    let e = e.into_inner();
                    if matches!(e.downcast_ref::<tungstenite::Error>(), Some(tungstenite::Error::Capacity(_))) {
                        let _ = conn
                            .error("", ErrorCode::TooLarge, format!("message over {} MiB; the connection closes", super::http::WS_READ_LIMIT >> 20))
                            .await;
                        let _ = conn
                            .sink
                            .send(Message::Close(Some(CloseFrame {
                                code: 1009,
                                reason: "message too big".into(),
                            })))
                            .await;
                    }
                    tracing::debug!(error = %e, "socket error");
                    break;
                }
            }},
            () = &mut idle => {
                let _ = conn
                    .sink
                    .send(Message::Close(Some(CloseFrame {
                        code: 1000,
                        reason: format!("idle for {} s: send ping to keep a socket open", shared.idle.as_secs()).into(),
                    })))
                    .await;
                break;
            }
            Some(out) = rx.recv() => conn.deliver(&out.session, out.seq, &out.json).await,
            Some(c) = ctl_rx.recv() => match c {
                Control::Lagged(session) => {
                    conn.sent.remove(&session);
                    conn.error(
                        &session,
                        ErrorCode::Resubscribe,
                        "this connection fell behind; subscribe again with the last seq you saw".into(),
                    )
                    .await
                }
            },
            _ = async { shutdown.wait_for(|s| *s).await.map(|_| ()) } => {
                let _ = conn
                    .sink
                    .send(Message::Close(Some(CloseFrame {
                        code: 1001,
                        reason: "server shutting down".into(),
                    })))
                    .await;
                break;
            }
        };
        if r.is_err() {
            break;
        }
    }
    shared.hub.forget(id);
}
