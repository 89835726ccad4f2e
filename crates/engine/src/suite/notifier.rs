//! `Notifier`: a follower of a session gets that session's messages, in the order they were
//! published, and no other session's; publishing to a session nobody follows succeeds.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use isoscan_core::protocol::{Envelope, FileErrorData, ServerMessage};

use crate::ports::*;

/// How a client follows a session through the adapter under test.
#[async_trait]
pub trait Follower: Send + Sync {
    /// Starts following `session`, as a client's subscription does.
    async fn follow(&self, session: &str);
    /// What the followers of `session` have received so far, in order.
    async fn received(&self, session: &str) -> Vec<Envelope>;
}

fn message(session: &str, seq: u64) -> Envelope {
    Envelope {
        session_id: session.to_string(),
        seq,
        ts: None,
        req_id: None,
        message: ServerMessage::FileError {
            data: FileErrorData {
                path: format!("f{seq}.pdf"),
                file_name: format!("f{seq}.pdf"),
                error: "damaged".into(),
            },
        },
    }
}

/// `prefix` must be used by no other run of the suite on the same adapter.
pub async fn notifier(notifier: Arc<dyn Notifier>, follower: &dyn Follower, prefix: &str) {
    let (a, b, nobody) = (
        format!("{prefix}-notify-a"),
        format!("{prefix}-notify-b"),
        format!("{prefix}-notify-none"),
    );
    follower.follow(&a).await;
    follower.follow(&b).await;
    for seq in 1..=5 {
        notifier.publish(&message(&a, seq)).await.expect("publish");
        if seq <= 2 {
            notifier.publish(&message(&b, seq)).await.expect("publish");
        }
        notifier
            .publish(&message(&nobody, seq))
            .await
            .expect("a session nobody follows");
    }
    // Delivery may be asynchronous: wait for it, a while.
    let seqs = |v: Vec<Envelope>, session: &str| -> Vec<u64> {
        assert!(
            v.iter().all(|e| e.session_id == session),
            "only {session}'s messages: {v:?}"
        );
        v.iter().map(|e| e.seq).collect()
    };
    let mut got = (vec![], vec![]);
    for _ in 0..100 {
        got = (
            seqs(follower.received(&a).await, &a),
            seqs(follower.received(&b).await, &b),
        );
        if got.0.len() >= 5 && got.1.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(got.0, [1, 2, 3, 4, 5], "in the order published");
    assert_eq!(got.1, [1, 2]);
    let first = follower.received(&a).await.remove(0);
    assert_eq!(first, message(&a, 1), "the message as published");
}
