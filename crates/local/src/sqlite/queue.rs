//! The job queue, with leases.

use super::*;

pub(super) fn queue_err(e: StoreError) -> QueueError {
    QueueError::Unavailable(e.to_string())
}

#[async_trait]
impl JobQueue for SqliteState {
    async fn send(&self, jobs: Vec<Job>) -> Result<(), QueueError> {
        if jobs.is_empty() {
            return Ok(());
        }
        let mut bodies = vec![];
        for j in &jobs {
            bodies.push(
                serde_json::to_string(j).map_err(|e| QueueError::Unavailable(e.to_string()))?,
            );
        }
        self.tx(move |t| {
            let now = now_ms();
            for b in bodies {
                t.execute(
                    "INSERT INTO jobs (body, visible_at) VALUES (?1, ?2)",
                    params![b, now],
                )
                .map_err(unavailable)?;
            }
            Ok(())
        })
        .await
        .map_err(queue_err)?;
        self.notify.notify_waiters();
        Ok(())
    }

    async fn receive(
        &self,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before looking, so a send between the look and the wait wakes us.
            let notified = self.notify.notified();
            let prefix = format!(
                "{}-{}",
                self.boot,
                self.receipts
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            );
            let vis = visibility.as_millis() as i64;
            let got = self
                .tx(move |t| {
                    let now = now_ms();
                    let mut st = t
                        .prepare(
                            "SELECT id, body, receive_count FROM jobs WHERE visible_at <= ?1 \
                             ORDER BY visible_at, id LIMIT ?2",
                        )
                        .map_err(unavailable)?;
                    let rows: Vec<(i64, String, i64)> = st
                        .query_map(params![now, max as i64], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                        })
                        .map_err(unavailable)?
                        .collect::<Result<_, _>>()
                        .map_err(unavailable)?;
                    let mut out = vec![];
                    for (i, (id, body, count)) in rows.into_iter().enumerate() {
                        let receipt = format!("{prefix}-{i}");
                        t.execute(
                            "UPDATE jobs SET visible_at = ?2, receive_count = ?3, receipt = ?4 WHERE id = ?1",
                            params![id, now + vis, count + 1, receipt],
                        )
                        .map_err(unavailable)?;
                        match serde_json::from_str::<Job>(&body) {
                            Ok(job) => out.push(Delivery {
                                job,
                                receipt,
                                receive_count: (count + 1) as u32,
                            }),
                            Err(e) => {
                                // A job this version cannot read would come back forever.
                                tracing::error!(error = %e, "dropping an unreadable job");
                                t.execute("DELETE FROM jobs WHERE id = ?1", params![id])
                                    .map_err(unavailable)?;
                            }
                        }
                    }
                    Ok(out)
                })
                .await
                .map_err(queue_err)?;
            if !got.is_empty() {
                return Ok(got);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(vec![]);
            }
            // Woken by a send; leases that run out are noticed by polling.
            let nap = (deadline - now).min(Duration::from_millis(100));
            let _ = tokio::time::timeout(nap, notified).await;
        }
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        let receipt = receipt.to_string();
        let n = self
            .tx(move |t| {
                t.execute("DELETE FROM jobs WHERE receipt = ?1", params![receipt])
                    .map_err(unavailable)
            })
            .await
            .map_err(queue_err)?;
        if n == 0 {
            return Err(QueueError::UnknownReceipt);
        }
        Ok(())
    }

    async fn retry(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        let receipt = receipt.to_string();
        let n = self
            .tx(move |t| {
                t.execute(
                    "UPDATE jobs SET visible_at = ?2, receipt = NULL WHERE receipt = ?1",
                    params![receipt, now_ms() + delay.as_millis() as i64],
                )
                .map_err(unavailable)
            })
            .await
            .map_err(queue_err)?;
        if n == 0 {
            return Err(QueueError::UnknownReceipt);
        }
        Ok(())
    }
}
