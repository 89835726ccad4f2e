//! The notifier on the API Gateway Management API: `PostToConnection` to every connection that
//! follows the session. A 410 Gone deletes that connection and fails nothing; throttling is
//! retried with backoff; a message over API Gateway's 128 KiB is never sent.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_sdk_apigatewaymanagement::Client;
use isoscan_core::protocol::Envelope;
use isoscan_engine::ports::{Notifier, NotifyError};

use crate::dynamo::DynamoStore;

/// API Gateway's frame, as the protocol bounds every message.
pub const MAX_MESSAGE: usize = isoscan_core::protocol::MESSAGE_MAX;

pub struct ApiGatewayNotifier {
    pub client: Client,
    pub store: Arc<DynamoStore>,
}

/// What posting to one connection did.
#[derive(Debug, PartialEq, Eq)]
pub enum Posted {
    Sent,
    Gone,
    TooLarge,
}

impl ApiGatewayNotifier {
    /// Posts a text to one connection, retrying throttles.
    pub async fn post(&self, connection: &str, text: &str) -> Result<Posted, NotifyError> {
        if text.len() > MAX_MESSAGE {
            tracing::warn!(
                connection,
                bytes = text.len(),
                "message over 128 KiB not sent"
            );
            return Ok(Posted::TooLarge);
        }
        let mut delay = Duration::from_millis(50);
        for _ in 0..5 {
            let r = self
                .client
                .post_to_connection()
                .connection_id(connection)
                .data(Blob::new(text.as_bytes()))
                .send()
                .await;
            match r {
                Ok(_) => return Ok(Posted::Sent),
                Err(e) if e.as_service_error().is_some_and(|s| s.is_gone_exception()) => {
                    return Ok(Posted::Gone)
                }
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_limit_exceeded_exception()) =>
                {
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(e) => return Err(NotifyError(crate::describe(&e))),
            }
        }
        Err(NotifyError(format!("{connection}: still throttled")))
    }
}

#[async_trait]
impl Notifier for ApiGatewayNotifier {
    async fn publish(&self, envelope: &Envelope) -> Result<(), NotifyError> {
        let text = serde_json::to_string(envelope).map_err(|e| NotifyError(e.to_string()))?;
        let followers = self
            .store
            .followers(&envelope.session_id)
            .await
            .map_err(|e| NotifyError(e.to_string()))?;
        for c in followers {
            match self.post(&c, &text).await {
                Ok(Posted::Gone) => {
                    if let Err(e) = self
                        .store
                        .connection_closed(&c, Some(&envelope.session_id))
                        .await
                    {
                        tracing::warn!(connection = %c, error = %e, "cannot forget a gone connection");
                    }
                }
                Ok(_) => {}
                // One connection's failure is not the others': they still get the message.
                Err(e) => tracing::warn!(connection = %c, error = %e, "post failed"),
            }
        }
        Ok(())
    }
}
