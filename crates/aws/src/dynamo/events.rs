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
            .query(pk(session_id), event_key(since + 1), "E$".into(), limit)
            .await?;
        let mut out = Vec::with_capacity(items.len());
        let mut next = since + 1;
        for item in &items {
            let env = parse_event(item)?;
            if env.seq > next {
                // A seq taken and not yet written: wait for it unless a later event has been
                // there longer than [`HOLE_WAIT`] (events written before `at` existed: old).
                let at = item.get("at").map(|_| get_n(item, "at")).unwrap_or(0);
                let waited = std::time::Duration::from_millis(now_ms().saturating_sub(at));
                if waited < self.hole_wait {
                    break;
                }
                for hole in next..env.seq {
                    out.push(self.fill(session_id, hole).await?);
                }
            }
            next = env.seq + 1;
            out.push(env);
        }
        out.truncate(limit);
        Ok(out)
    }
}

/// How long a seq may stay without its event, counted from the writing of a later event,
/// before a reader fills it. Filling early costs nothing but a slow writer taking another
/// seq (its write is conditional), so this is short.
pub const HOLE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How many seqs an append takes before it gives up: each one lost means a reader filled it
/// while this writer was too slow to write it.
const RESERVE_TRIES: u32 = 10;

impl DynamoStore {
    /// Appends an event. The seq comes from an atomic `ADD` on the counter (one write, no
    /// read, no retry however many workers append), the event is written after it under a
    /// condition. A seq whose event never comes (its writer died between the two writes) is
    /// filled by the first reader that finds it past [`HOLE_WAIT`]; until then readers stop
    /// before it, so nobody skips a message still being written.
    ///
    /// With `once`, the counter, the event and a `K#once` marker go in one transaction: such
    /// appends (COMPLETE) may race a retry of themselves, and the loser must leave no seq
    /// behind. They are rare; the optimistic transaction's cost does not matter there.
    async fn append_with(
        &self,
        session_id: &str,
        message: &ServerMessage,
        once: Option<&str>,
    ) -> Result<Option<Envelope>, StoreError> {
        if let Some(key) = once {
            return self.append_keyed(session_id, message, key).await;
        }
        for _ in 0..RESERVE_TRIES {
            let seq = self.reserve(session_id).await?;
            let env = envelope(session_id, seq, message);
            match self.put_new_event(&env).await {
                Ok(true) => return Ok(Some(env)),
                // A reader took this seq for a hole: this event goes under another.
                Ok(false) => continue,
                Err(e) => {
                    // Filled now, readers need not wait for the hole; if the write landed
                    // after all, the fill finds it and changes nothing.
                    if let Err(f) = self.fill(session_id, seq).await {
                        tracing::warn!(session = session_id, seq, error = %f, "cannot fill a seq");
                    }
                    return Err(e);
                }
            }
        }
        Err(unavailable(format!(
            "event log of {session_id}: {RESERVE_TRIES} seqs were filled before their events \
             were written"
        )))
    }

    /// Takes the next seq of a session's log.
    async fn reserve(&self, session_id: &str) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", pk(session_id))
            .key("sk", s("SEQ"))
            .update_expression("ADD #seq :one SET #ttl = :ttl")
            .expression_attribute_names("#seq", "seq")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", ttl_from(now_s()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| unavailable(crate::describe(&e)))?;
        match out.attributes().map(|a| get_n(a, "seq")) {
            Some(seq) if seq > 0 => Ok(seq),
            _ => Err(unavailable("the event counter returned no seq")),
        }
    }

    /// Writes, unless its event is there, a PROGRESS with the session's counters at `seq`:
    /// clients apply it like any other (counters only go up), so a seq whose writer died
    /// stops no one. Returns what `seq` holds afterwards.
    async fn fill(&self, session_id: &str, seq: u64) -> Result<Envelope, StoreError> {
        let now = self.load(session_id).await?;
        let (processed, total, matches, errors) = now
            .map(|s| (s.processed, s.total, s.matches, s.errors))
            .unwrap_or_default();
        let value = (processed * 100).checked_div(total).unwrap_or(0).min(100) as u8;
        let message = ServerMessage::Progress {
            value,
            processed,
            total,
            matches,
            errors,
        };
        let env = envelope(session_id, seq, &message);
        if self.put_new_event(&env).await? {
            tracing::info!(
                session = session_id,
                seq,
                "filled a seq whose event never came"
            );
            return Ok(env);
        }
        // The event came after all.
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", pk(session_id))
            .key("sk", s(event_key(seq)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable(crate::describe(&e)))?;
        let item = got
            .item()
            .ok_or_else(|| unavailable(format!("event {seq} of {session_id} vanished")))?;
        parse_event(item)
    }

    /// Writes `env` at its seq unless an event is there: `false` then.
    async fn put_new_event(&self, env: &Envelope) -> Result<bool, StoreError> {
        let body = serde_json::to_string(env).map_err(unavailable)?;
        let r = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(event_item(&env.session_id, env.seq, body)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(is_condition_failure) => Ok(false),
            Err(e) => Err(unavailable(crate::describe(&e))),
        }
    }

    /// Appends under `key` once: counter, event and marker in one transaction that holds
    /// only if nobody appended in between (read again on a race).
    async fn append_keyed(
        &self,
        session_id: &str,
        message: &ServerMessage,
        key: &str,
    ) -> Result<Option<Envelope>, StoreError> {
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
            let env = envelope(session_id, last + 1, message);
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
            let mut mark: Item = HashMap::new();
            mark.insert("pk".into(), pk(session_id));
            mark.insert("sk".into(), s(format!("K#{key}")));
            mark.insert("ttl".into(), ttl_from(now_s()));
            let r = self
                .client
                .transact_write_items()
                .transact_items(
                    TransactWriteItem::builder()
                        .put(counter_put.build().map_err(unavailable)?)
                        .build(),
                )
                .transact_items(put(
                    &self.table,
                    event_item(session_id, last + 1, body),
                    Some("attribute_not_exists(pk)"),
                )?)
                .transact_items(put(&self.table, mark, Some("attribute_not_exists(pk)"))?)
                .send()
                .await;
            match r {
                Ok(_) => return Ok(Some(env)),
                Err(e) if cancelled_on(&e, 2) == Some(true) => return Ok(None),
                Err(e)
                    if cancelled_on(&e, 0).is_some()
                        || cancelled_on(&e, 1).is_some()
                        || contended(&e) =>
                {
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

fn envelope(session_id: &str, seq: u64, message: &ServerMessage) -> Envelope {
    Envelope {
        session_id: session_id.to_string(),
        seq,
        ts: None,
        req_id: None,
        message: message.clone(),
    }
}

fn event_key(seq: u64) -> String {
    format!("E#{seq:012}")
}

fn parse_event(item: &Item) -> Result<Envelope, StoreError> {
    serde_json::from_str(&get_s(item, "body").unwrap_or_default()).map_err(unavailable)
}

/// The time by this machine's clock in milliseconds: when an event was written (`at`).
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The item of event `seq` of a session, `body` its envelope as JSON.
fn event_item(session_id: &str, seq: u64, body: String) -> Item {
    let mut event: Item = HashMap::new();
    event.insert("pk".into(), pk(session_id));
    event.insert("sk".into(), s(event_key(seq)));
    event.insert("body".into(), s(body));
    event.insert("at".into(), n(now_ms()));
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
                let env = envelope(session_id, seq, message);
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
