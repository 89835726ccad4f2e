//! The job queue on SQS: jobs as JSON bodies (paths, never file contents), at most 10 per
//! batch call; the receive count from `ApproximateReceiveCount`. SQS counts visibility in whole
//! seconds: shorter durations are rounded up.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::types::{MessageSystemAttributeName, SendMessageBatchRequestEntry};
use aws_sdk_sqs::Client;
use isoscan_engine::ports::*;

pub struct SqsQueue {
    client: Client,
    url: String,
}

fn unavailable(e: impl std::fmt::Display) -> QueueError {
    QueueError::Unavailable(e.to_string())
}

fn secs_up(d: Duration) -> i32 {
    d.as_millis().div_ceil(1000).min(43_200) as i32
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        SqsQueue {
            client,
            url: url.into(),
        }
    }

    /// Creates a queue (tests, emulators) and returns its URL.
    pub async fn create(client: &Client, name: &str) -> Result<String, QueueError> {
        let r = client
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .map_err(|e| unavailable(crate::describe(&e)))?;
        r.queue_url()
            .map(str::to_string)
            .ok_or_else(|| unavailable("no queue URL"))
    }

    /// Parses a job delivered by the Lambda SQS trigger.
    pub fn parse(body: &str) -> Result<Job, serde_json::Error> {
        serde_json::from_str(body)
    }
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn send(&self, jobs: Vec<Job>) -> Result<(), QueueError> {
        for chunk in jobs.chunks(10) {
            let mut req = self.client.send_message_batch().queue_url(&self.url);
            for (i, j) in chunk.iter().enumerate() {
                let body = serde_json::to_string(j).map_err(unavailable)?;
                req = req.entries(
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .build()
                        .map_err(unavailable)?,
                );
            }
            let r = req
                .send()
                .await
                .map_err(|e| unavailable(crate::describe(&e)))?;
            if let Some(f) = r.failed().first() {
                return Err(unavailable(format!(
                    "send failed: {} {}",
                    f.code(),
                    f.message().unwrap_or("")
                )));
            }
        }
        Ok(())
    }

    async fn receive(
        &self,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        let r = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .visibility_timeout(secs_up(visibility))
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| unavailable(crate::describe(&e)))?;
        let mut out = vec![];
        for m in r.messages() {
            let (Some(body), Some(receipt)) = (m.body(), m.receipt_handle()) else {
                continue;
            };
            let count = m
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .and_then(|c| c.parse().ok())
                .unwrap_or(1);
            match Self::parse(body) {
                Ok(job) => out.push(Delivery {
                    job,
                    receipt: receipt.to_string(),
                    receive_count: count,
                }),
                Err(e) => {
                    // Left alone, it returns until the dead-letter queue takes it.
                    tracing::error!(error = %e, "unreadable job on the queue");
                }
            }
        }
        Ok(out)
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        match self
            .client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_receipt_handle_is_invalid()) =>
            {
                Err(QueueError::UnknownReceipt)
            }
            Err(e) => Err(unavailable(crate::describe(&e))),
        }
    }

    async fn retry(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        match self
            .client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(secs_up(delay))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_receipt_handle_is_invalid() || s.is_message_not_inflight()
                }) =>
            {
                Err(QueueError::UnknownReceipt)
            }
            Err(e) => Err(unavailable(crate::describe(&e))),
        }
    }
}
