//! Jobs off the queue: which use case runs one, what becomes of its message (done, or retried
//! with backoff up to [`MAX_RECEIVES`]), the dead-letter rule, and the local worker loop.

use std::time::{Duration, Instant};

use isoscan_core::protocol::ErrorCode;

use super::{Engine, EngineError, MAX_RECEIVES};
use crate::ports::*;

impl Engine {
    /// Runs one delivered job; a file batch starts no file after `start_before` and answers
    /// with a job for the files it did not start.
    pub async fn handle(
        &self,
        delivery: &Delivery,
        start_before: Option<Instant>,
    ) -> Result<Option<Job>, EngineError> {
        match &delivery.job {
            Job::List { session, cursor } => {
                self.list_source(session, cursor.as_deref()).await?;
                Ok(None)
            }
            Job::Files { session, files } => {
                let rest = self
                    .process_batch(session, files, delivery.receive_count, start_before)
                    .await?;
                Ok((!rest.is_empty()).then(|| Job::Files {
                    session: session.clone(),
                    files: rest,
                }))
            }
            Job::Finalize { session } => {
                self.finalize(session).await?;
                Ok(None)
            }
        }
    }

    /// Runs one delivered job and says what to do with the message: the rule the local worker
    /// loop and the SQS worker share. A failure that may pass is retried (up to
    /// [`MAX_RECEIVES`]); one that will not fails the scan, and the message is done. A batch
    /// cut short by `start_before` answers with the rest as a new job, so files never started
    /// do not use up a receive.
    pub async fn run_job(&self, d: &Delivery, start_before: Option<Instant>) -> JobOutcome {
        match self.handle(d, start_before).await {
            Ok(None) => JobOutcome::Done,
            Ok(Some(rest)) => JobOutcome::Rest(rest),
            Err(e) if e.is_retryable() && d.receive_count <= MAX_RECEIVES => {
                tracing::warn!(job = %d.job.describe(), error = %e, "job failed; retrying");
                JobOutcome::Retry(self.config.retry_base * (1 << d.receive_count.min(6)))
            }
            Err(e) => {
                tracing::error!(job = %d.job.describe(), error = %e, "job failed");
                if let Ok(s) = self.session(d.job.session()).await {
                    let _ = self
                        .fail(&s, &format!("The scan stopped: {e}"), ErrorCode::Internal)
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
            Job::Files { session, files } => self
                .process_batch(session, files, MAX_RECEIVES + 1, None)
                .await
                .map(|_| ()),
            Job::List { session, .. } | Job::Finalize { session } => {
                let s = self.session(session).await?;
                self.fail(
                    &s,
                    "The scan stopped: its source could not be listed or its report built",
                    ErrorCode::Internal,
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
                let r = match self.run_job(&d, None).await {
                    JobOutcome::Done => self.ports.queue.ack(&d.receipt).await,
                    JobOutcome::Rest(job) => match self.ports.queue.send(vec![job]).await {
                        Ok(()) => self.ports.queue.ack(&d.receipt).await,
                        Err(e) => Err(e),
                    },
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Delete it.
    Done,
    /// Deliver it again after this delay.
    Retry(Duration),
    /// Send this job (what was not started), then delete the message; if the send fails,
    /// deliver the message again.
    Rest(Job),
}
