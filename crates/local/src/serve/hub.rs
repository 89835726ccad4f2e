//! Fan-out of a session's messages to the sockets that follow it. Each connection has its own
//! bounded queue, so a slow client never slows a scan or another client: PROGRESS is dropped
//! for a client whose queue is full (a later one supersedes it); any other message is never
//! dropped silently: the client is unsubscribed and told to subscribe again with `since`, and
//! catches up from the event log.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use isoscan_core::protocol::Envelope;
use isoscan_engine::ports::{Notifier, NotifyError};
use tokio::sync::mpsc;

/// A message ready to send: serialized once for every follower.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub session: Arc<str>,
    pub seq: u64,
    pub json: Arc<str>,
}

/// What the hub tells a connection besides messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// The connection fell too far behind on this session and was unsubscribed.
    Lagged(String),
}

struct Follower {
    conn: u64,
    tx: mpsc::Sender<Outgoing>,
    ctl: mpsc::UnboundedSender<Control>,
}

/// Sessions and the connections following them.
#[derive(Default)]
pub struct Hub {
    followers: Mutex<HashMap<String, Vec<Follower>>>,
}

impl Hub {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts delivering `session`'s messages to a connection (once, however often asked).
    pub fn follow(
        &self,
        session: &str,
        conn: u64,
        tx: mpsc::Sender<Outgoing>,
        ctl: mpsc::UnboundedSender<Control>,
    ) {
        if let Ok(mut f) = self.followers.lock() {
            let list = f.entry(session.to_string()).or_default();
            if !list.iter().any(|x| x.conn == conn) {
                list.push(Follower { conn, tx, ctl });
            }
        }
    }

    /// Stops every delivery to a connection.
    pub fn forget(&self, conn: u64) {
        if let Ok(mut f) = self.followers.lock() {
            f.retain(|_, list| {
                list.retain(|x| x.conn != conn);
                !list.is_empty()
            });
        }
    }

    /// Connections following a session.
    pub fn followers(&self, session: &str) -> usize {
        self.followers
            .lock()
            .map(|f| f.get(session).map_or(0, Vec::len))
            .unwrap_or(0)
    }
}

#[async_trait]
impl Notifier for Hub {
    async fn publish(&self, env: &Envelope) -> Result<(), NotifyError> {
        let json: Arc<str> = serde_json::to_string(env)
            .map_err(|e| NotifyError(e.to_string()))?
            .into();
        let out = Outgoing {
            session: env.session_id.as_str().into(),
            seq: env.seq,
            json,
        };
        let droppable = env.message.is_droppable();
        let mut f = self
            .followers
            .lock()
            .map_err(|_| NotifyError("lock poisoned".into()))?;
        let Some(list) = f.get_mut(&env.session_id) else {
            return Ok(());
        };
        list.retain(|x| match x.tx.try_send(out.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) if droppable => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                let _ = x.ctl.send(Control::Lagged(env.session_id.clone()));
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
        if list.is_empty() {
            f.remove(&env.session_id);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use isoscan_core::protocol::ServerMessage;

    fn env(seq: u64, progress: bool) -> Envelope {
        Envelope {
            session_id: "s".into(),
            seq,
            ts: None,
            req_id: None,
            message: if progress {
                ServerMessage::Progress {
                    value: 1,
                    processed: seq,
                    total: 100,
                    matches: 0,
                    errors: 0,
                }
            } else {
                ServerMessage::Cancelled {
                    message: "x".into(),
                }
            },
        }
    }

    #[tokio::test]
    async fn a_full_queue_drops_progress_and_unsubscribes_on_anything_else() {
        let hub = Hub::new();
        let (tx, mut rx) = mpsc::channel(2);
        let (ctl, mut ctl_rx) = mpsc::unbounded_channel();
        let (fast_tx, mut fast_rx) = mpsc::channel(100);
        let (fast_ctl, _fast_ctl_rx) = mpsc::unbounded_channel();
        hub.follow("s", 1, tx, ctl);
        hub.follow("s", 2, fast_tx, fast_ctl);
        for seq in 1..=4 {
            hub.publish(&env(seq, true)).await.unwrap();
        }
        // Slow: two queued, two progress dropped, still subscribed.
        assert_eq!(rx.recv().await.unwrap().seq, 1);
        assert_eq!(rx.recv().await.unwrap().seq, 2);
        assert!(ctl_rx.try_recv().is_err());
        hub.publish(&env(5, false)).await.unwrap();
        hub.publish(&env(6, false)).await.unwrap();
        hub.publish(&env(7, false)).await.unwrap();
        assert_eq!(rx.recv().await.unwrap().seq, 5);
        assert_eq!(rx.recv().await.unwrap().seq, 6);
        assert_eq!(ctl_rx.recv().await, Some(Control::Lagged("s".into())));
        assert_eq!(hub.followers("s"), 1);
        // The fast one saw everything.
        let mut seen = vec![];
        while let Ok(o) = fast_rx.try_recv() {
            seen.push(o.seq);
        }
        assert_eq!(seen, (1..=7).collect::<Vec<_>>());
        hub.forget(2);
        assert_eq!(hub.followers("s"), 0);
    }
}
