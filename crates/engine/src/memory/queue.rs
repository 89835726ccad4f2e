//! An at-least-once queue with visibility timeouts, in memory.

use super::*;

pub(super) struct InFlight {
    job: Job,
    until: Instant,
    receive_count: u32,
}

#[derive(Default)]
pub(super) struct QueueState {
    /// (visible at, job, receives so far)
    ready: VecDeque<(Instant, Job, u32)>,
    in_flight: HashMap<String, InFlight>,
    next_receipt: u64,
}

/// An at-least-once queue in memory.
#[derive(Default)]
pub struct MemoryQueue {
    state: Mutex<QueueState>,
    notify: Notify,
}

impl MemoryQueue {
    pub fn new() -> Self {
        Self::default()
    }

    fn take(
        &self,
        max: usize,
        visibility: Duration,
    ) -> Result<(Vec<Delivery>, Option<Instant>), QueueError> {
        let mut st = self
            .state
            .lock()
            .map_err(|_| QueueError::Unavailable("lock poisoned".into()))?;
        let now = Instant::now();
        // Jobs whose visibility timeout ran out are delivered again.
        let expired: Vec<String> = st
            .in_flight
            .iter()
            .filter(|(_, f)| f.until <= now)
            .map(|(r, _)| r.clone())
            .collect();
        for r in expired {
            if let Some(f) = st.in_flight.remove(&r) {
                st.ready.push_back((now, f.job, f.receive_count));
            }
        }
        let mut out = vec![];
        let mut i = 0;
        while i < st.ready.len() && out.len() < max {
            if st.ready[i].0 <= now {
                if let Some((_, job, count)) = st.ready.remove(i) {
                    st.next_receipt += 1;
                    let receipt = format!("r{}", st.next_receipt);
                    st.in_flight.insert(
                        receipt.clone(),
                        InFlight {
                            job: job.clone(),
                            until: now + visibility,
                            receive_count: count + 1,
                        },
                    );
                    out.push(Delivery {
                        job,
                        receipt,
                        receive_count: count + 1,
                    });
                }
            } else {
                i += 1;
            }
        }
        let next = st
            .ready
            .iter()
            .map(|r| r.0)
            .chain(st.in_flight.values().map(|f| f.until))
            .min();
        Ok((out, next))
    }
}

#[async_trait]
impl JobQueue for MemoryQueue {
    async fn send(&self, jobs: Vec<Job>) -> Result<(), QueueError> {
        {
            let mut st = self
                .state
                .lock()
                .map_err(|_| QueueError::Unavailable("lock poisoned".into()))?;
            let now = Instant::now();
            for j in jobs {
                st.ready.push_back((now, j, 0));
            }
        }
        self.notify.notify_waiters();
        Ok(())
    }

    async fn receive(
        &self,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        let deadline = Instant::now() + wait;
        loop {
            let notified = self.notify.notified();
            let (got, next) = self.take(max, visibility)?;
            let now = Instant::now();
            if !got.is_empty() || now >= deadline {
                return Ok(got);
            }
            let until = next.map(|n| n.min(deadline)).unwrap_or(deadline);
            let _ = tokio::time::timeout(until.saturating_duration_since(now), notified).await;
        }
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        let mut st = self
            .state
            .lock()
            .map_err(|_| QueueError::Unavailable("lock poisoned".into()))?;
        st.in_flight
            .remove(receipt)
            .map(|_| ())
            .ok_or(QueueError::UnknownReceipt)
    }

    async fn retry(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        {
            let mut st = self
                .state
                .lock()
                .map_err(|_| QueueError::Unavailable("lock poisoned".into()))?;
            let f = st
                .in_flight
                .remove(receipt)
                .ok_or(QueueError::UnknownReceipt)?;
            st.ready
                .push_back((Instant::now() + delay, f.job, f.receive_count));
        }
        self.notify.notify_waiters();
        Ok(())
    }
}
