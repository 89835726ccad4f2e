//! The event log: an event and the log's counter in one transaction.

use super::*;

#[async_trait]
impl EventLog for DynamoStore {
    async fn append(
        &self,
        session_id: &str,
        message: &ServerMessage,
    ) -> Result<Envelope, StoreError> {
        self.append_with(session_id, message, None)
            .await?
            .ok_or_else(|| unavailable("an event without a key was refused as a repeat"))
    }

    async fn append_once(
        &self,
        session_id: &str,
        key: &str,
        message: &ServerMessage,
    ) -> Result<Option<Envelope>, StoreError> {
        self.append_with(session_id, message, Some(key)).await
    }

    async fn since(
        &self,
        session_id: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<Envelope>, StoreError> {
        let items = self
            .query(
                pk(session_id),
                format!("E#{:012}", since + 1),
                "E$".into(),
                limit,
            )
            .await?;
        items
            .iter()
            .map(|i| {
                serde_json::from_str(&get_s(i, "body").unwrap_or_default()).map_err(unavailable)
            })
            .collect()
    }
}

impl DynamoStore {
    /// Appends an event; with `once`, also a `K#once` marker in the same transaction, so that
    /// a second append under that key writes nothing (`None`).
    async fn append_with(
        &self,
        session_id: &str,
        message: &ServerMessage,
        once: Option<&str>,
    ) -> Result<Option<Envelope>, StoreError> {
        // Optimistic: read the counter, then write counter + event in one transaction that
        // holds only if nobody appended in between; on a race, read again.
        for attempt in 0..50u32 {
            let cur = self
                .client
                .get_item()
                .table_name(&self.table)
                .key("pk", pk(session_id))
                .key("sk", s("SEQ"))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| unavailable(crate::describe(&e)))?;
            let last = cur.item().map(|i| get_n(i, "seq")).unwrap_or(0);
            let env = Envelope {
                session_id: session_id.to_string(),
                seq: last + 1,
                ts: None,
                req_id: None,
                message: message.clone(),
            };
            let body = serde_json::to_string(&env).map_err(unavailable)?;
            let mut counter: Item = HashMap::new();
            counter.insert("pk".into(), pk(session_id));
            counter.insert("sk".into(), s("SEQ"));
            counter.insert("seq".into(), n(last + 1));
            counter.insert("ttl".into(), ttl_from(now_s()));
            let mut counter_put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(counter))
                .condition_expression(if last == 0 {
                    "attribute_not_exists(pk)"
                } else {
                    "seq = :last"
                });
            if last > 0 {
                counter_put = counter_put.expression_attribute_values(":last", n(last));
            }
            let event = event_item(session_id, last + 1, body);
            let mut tx = self
                .client
                .transact_write_items()
                .transact_items(
                    TransactWriteItem::builder()
                        .put(counter_put.build().map_err(unavailable)?)
                        .build(),
                )
                .transact_items(put(&self.table, event, Some("attribute_not_exists(pk)"))?);
            if let Some(key) = once {
                let mut mark: Item = HashMap::new();
                mark.insert("pk".into(), pk(session_id));
                mark.insert("sk".into(), s(format!("K#{key}")));
                mark.insert("ttl".into(), ttl_from(now_s()));
                tx = tx.transact_items(put(&self.table, mark, Some("attribute_not_exists(pk)"))?);
            }
            let r = tx.send().await;
            match r {
                Ok(_) => return Ok(Some(env)),
                Err(e) if once.is_some() && cancelled_on(&e, 2) == Some(true) => return Ok(None),
                Err(e) if cancelled_on(&e, 0).is_some() || cancelled_on(&e, 1).is_some() => {
                    // Lost the race (or a transaction conflict): back off a little and retry.
                    let ms = 5 + u64::from(attempt) * 5 + (rand_jitter() % 10);
                    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                }
                Err(e) => return Err(unavailable(crate::describe(&e))),
            }
        }
        Err(StoreError::Unavailable(format!(
            "event log of {session_id}: too many concurrent appends"
        )))
    }
}

/// The item of event `seq` of a session, `body` its envelope as JSON.
fn event_item(session_id: &str, seq: u64, body: String) -> Item {
    let mut event: Item = HashMap::new();
    event.insert("pk".into(), pk(session_id));
    event.insert("sk".into(), s(format!("E#{seq:012}")));
    event.insert("body".into(), s(body));
    event.insert("ttl".into(), ttl_from(now_s()));
    event
}

#[cfg(feature = "testing")]
impl DynamoStore {
    /// Writes `messages` as a session's log from seq 1, 25 to a request, without the
    /// counter's transaction: a test's way to a log of thousands of events, which appends
    /// one by one would take minutes to write on moto (each transaction copies its tables).
    /// Only for a session whose log is empty and that nothing else appends to meanwhile.
    pub async fn load_log(
        &self,
        session_id: &str,
        messages: &[ServerMessage],
    ) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let mut seq = 0;
        for chunk in messages.chunks(25) {
            let mut writes = vec![];
            for message in chunk {
                seq += 1;
                let env = Envelope {
                    session_id: session_id.to_string(),
                    seq,
                    ts: None,
                    req_id: None,
                    message: message.clone(),
                };
                let body = serde_json::to_string(&env).map_err(unavailable)?;
                let put = PutRequest::builder()
                    .set_item(Some(event_item(session_id, seq, body)))
                    .build()
                    .map_err(unavailable)?;
                writes.push(WriteRequest::builder().put_request(put).build());
            }
            let mut pending = Some(HashMap::from([(self.table.clone(), writes)]));
            while let Some(items) = pending.filter(|p| !p.is_empty()) {
                let out = self
                    .client
                    .batch_write_item()
                    .set_request_items(Some(items))
                    .send()
                    .await
                    .map_err(|e| unavailable(crate::describe(&e)))?;
                pending = out.unprocessed_items;
            }
        }
        let mut counter: Item = HashMap::new();
        counter.insert("pk".into(), pk(session_id));
        counter.insert("sk".into(), s("SEQ"));
        counter.insert("seq".into(), n(seq));
        counter.insert("ttl".into(), ttl_from(now_s()));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(counter))
            .send()
            .await
            .map_err(|e| unavailable(crate::describe(&e)))?;
        Ok(())
    }
}

pub(super) fn rand_jitter() -> u64 {
    use rand::{RngCore, SeedableRng};
    rand::rngs::StdRng::from_os_rng().next_u64()
}
