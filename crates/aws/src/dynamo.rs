//! Sessions, file results, the event log and connections in one DynamoDB table (`pk`, `sk`).
//!
//! | item | pk | sk |
//! |---|---|---|
//! | session (counters as numbers, so `ADD` moves them) | `S#id` | `META` |
//! | target list, in chunks | `S#id` | `T#00000` |
//! | a listed page (counted once) | `S#id` | `P#cursor` |
//! | a file's result, once per path | `S#id` | `R#path` |
//! | the event log's counter | `S#id` | `SEQ` |
//! | an event | `S#id` | `E#000000000042` |
//! | a connection following the session | `S#id` | `C#connection` |
//! | a connection | `C#connection` | `META` |
//!
//! A result and the session's counters are written in one transaction with a condition on the
//! result, so a redelivered file changes nothing; an event and the log's counter likewise, so
//! a reader never sees seq N+1 before N.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use isoscan_core::protocol::{Envelope, ServerMessage};
use isoscan_core::result::FileResult;
use isoscan_engine::ports::*;

/// Codes per target-list item (well under DynamoDB's 400 KB item limit).
const TARGET_CHUNK: usize = 2000;
/// How long items live after their session started, in seconds.
pub const TTL_S: u64 = 30 * 24 * 3600;

type Item = HashMap<String, AttributeValue>;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
fn pk(id: &str) -> AttributeValue {
    s(format!("S#{id}"))
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn get_s(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}
fn get_n(item: &Item, k: &str) -> u64 {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn status_str(st: SessionStatus) -> &'static str {
    st.as_str()
}

fn to_session(item: &Item) -> Result<Session, StoreError> {
    let status = get_s(item, "status").unwrap_or_default();
    let status = status
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("session {:?}: {e}", get_s(item, "id"))))?;
    Ok(Session {
        id: get_s(item, "id").unwrap_or_default(),
        owner: get_s(item, "owner").unwrap_or_default(),
        source: get_s(item, "source").unwrap_or_default(),
        target_count: get_n(item, "target_count"),
        duplicates: get_n(item, "duplicates"),
        pattern: get_s(item, "pattern"),
        status,
        listing_done: item
            .get("listing_done")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        total: get_n(item, "total"),
        processed: get_n(item, "processed"),
        matches: get_n(item, "matches"),
        errors: get_n(item, "errors"),
        skipped: get_n(item, "skipped"),
        started_at_ms: get_n(item, "started_at"),
        finished_at_ms: item.get("finished_at").map(|_| get_n(item, "finished_at")),
        report_url: get_s(item, "report_url"),
    })
}

/// The store on one DynamoDB table.
pub struct DynamoStore {
    client: Client,
    table: String,
}

fn is_condition_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

/// Whether a cancelled transaction failed on its `i`th item's condition.
fn cancelled_on(
    e: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
    >,
    i: usize,
) -> Option<bool> {
    match e.as_service_error() {
        Some(
            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(
                c,
            ),
        ) => Some(
            c.cancellation_reasons()
                .get(i)
                .and_then(|r| r.code())
                .is_some_and(|c| c == "ConditionalCheckFailed"),
        ),
        _ => None,
    }
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    /// Creates the table (for tests and first runs against an emulator).
    pub async fn create_table(&self) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::*;
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let key = |name: &str, t| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(t)
                .build()
        };
        self.client
            .create_table()
            .table_name(&self.table)
            .attribute_definitions(attr("pk").map_err(unavailable)?)
            .attribute_definitions(attr("sk").map_err(unavailable)?)
            .key_schema(key("pk", KeyType::Hash).map_err(unavailable)?)
            .key_schema(key("sk", KeyType::Range).map_err(unavailable)?)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .map_err(|e| unavailable(crate::describe(&e)))?;
        Ok(())
    }

    /// The `META` item of a session or connection, read consistently.
    async fn meta(&self, pk_value: AttributeValue) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", pk_value)
            .key("sk", s("META"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable(crate::describe(&e)))?;
        Ok(out.item().cloned())
    }

    async fn load(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.meta(pk(id))
            .await?
            .as_ref()
            .map(to_session)
            .transpose()
    }

    /// After a failed condition: whether the update carrying `token` was applied after all
    /// (an SDK retry of a request whose first attempt succeeded fails its own condition).
    async fn applied(&self, id: &str, token: &str) -> Result<bool, StoreError> {
        let item = self
            .meta(pk(id))
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        Ok(get_s(&item, "last_change").as_deref() == Some(token))
    }

    async fn must(&self, id: &str) -> Result<Session, StoreError> {
        self.load(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))
    }

    /// Every item of a key range, following `LastEvaluatedKey` to the end or to `limit`.
    async fn query(
        &self,
        pk_value: AttributeValue,
        lo: String,
        hi: String,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let mut out = vec![];
        let mut start: Option<Item> = None;
        loop {
            let r = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :lo AND :hi")
                .expression_attribute_values(":pk", pk_value.clone())
                .expression_attribute_values(":lo", s(lo.clone()))
                .expression_attribute_values(":hi", s(hi.clone()))
                .consistent_read(true)
                .limit((limit - out.len()).min(1000) as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable(crate::describe(&e)))?;
            out.extend(r.items().iter().cloned());
            match r.last_evaluated_key() {
                Some(k) if out.len() < limit => start = Some(k.clone()),
                _ => return Ok(out),
            }
        }
    }

    /// Records a connection and its principal.
    pub async fn connection_opened(
        &self,
        connection: &str,
        principal: &str,
        now_s: u64,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("C#{connection}")))
            .item("sk", s("META"))
            .item("principal", s(principal))
            .item("ttl", n(now_s + 24 * 3600))
            .send()
            .await
            .map_err(|e| unavailable(crate::describe(&e)))?;
        Ok(())
    }

    /// The principal of a connection, if it is known.
    pub async fn connection_principal(
        &self,
        connection: &str,
    ) -> Result<Option<String>, StoreError> {
        let item = self.meta(s(format!("C#{connection}"))).await?;
        Ok(item.and_then(|i| get_s(&i, "principal")))
    }

    /// Makes a connection follow a session.
    pub async fn subscribe(
        &self,
        session: &str,
        connection: &str,
        now_s: u64,
    ) -> Result<(), StoreError> {
        // Remembered on the connection too, so that a disconnect can drop the subscription.
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("C#{connection}")))
            .key("sk", s("META"))
            .update_expression("SET #session = :s")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#session", "session")
            .expression_attribute_values(":s", s(session))
            .send()
            .await;
        if let Err(e) = r {
            if !e.as_service_error().is_some_and(is_condition_failure) {
                return Err(unavailable(crate::describe(&e)));
            }
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", pk(session))
            .item("sk", s(format!("C#{connection}")))
            .item("connection", s(connection))
            .item("ttl", n(now_s + 24 * 3600))
            .send()
            .await
            .map_err(|e| unavailable(crate::describe(&e)))?;
        Ok(())
    }

    /// Connections following a session.
    pub async fn followers(&self, session: &str) -> Result<Vec<String>, StoreError> {
        let items = self
            .query(pk(session), "C#".into(), "C$".into(), usize::MAX)
            .await?;
        Ok(items
            .iter()
            .filter_map(|i| get_s(i, "connection"))
            .collect())
    }

    /// The session a connection follows (the last it subscribed to).
    pub async fn connection_session(&self, connection: &str) -> Result<Option<String>, StoreError> {
        let item = self.meta(s(format!("C#{connection}"))).await?;
        Ok(item.and_then(|i| get_s(&i, "session")))
    }

    /// Forgets a connection and its subscription (to `session`, or to the one it recorded).
    pub async fn connection_closed(
        &self,
        connection: &str,
        session: Option<&str>,
    ) -> Result<(), StoreError> {
        let recorded = match session {
            Some(_) => None,
            None => self.connection_session(connection).await?,
        };
        let session = session.or(recorded.as_deref());
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("C#{connection}")))
            .key("sk", s("META"))
            .send()
            .await
            .map_err(|e| unavailable(crate::describe(&e)))?;
        if let Some(session) = session {
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("pk", pk(session))
                .key("sk", s(format!("C#{connection}")))
                .send()
                .await
                .map_err(|e| unavailable(crate::describe(&e)))?;
        }
        Ok(())
    }
}

fn put(table: &str, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, StoreError> {
    let p = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_string))
        .build()
        .map_err(unavailable)?;
    Ok(TransactWriteItem::builder().put(p).build())
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn create(&self, session: &Session, targets: &[String]) -> Result<(), StoreError> {
        let mut item: Item = HashMap::new();
        item.insert("pk".into(), pk(&session.id));
        item.insert("sk".into(), s("META"));
        item.insert("id".into(), s(&session.id));
        item.insert("owner".into(), s(&session.owner));
        item.insert("source".into(), s(&session.source));
        item.insert("target_count".into(), n(session.target_count));
        item.insert("duplicates".into(), n(session.duplicates));
        if let Some(p) = &session.pattern {
            item.insert("pattern".into(), s(p));
        }
        item.insert("status".into(), s(status_str(session.status)));
        item.insert(
            "listing_done".into(),
            AttributeValue::Bool(session.listing_done),
        );
        for (k, v) in [
            ("total", session.total),
            ("processed", session.processed),
            ("matches", session.matches),
            ("errors", session.errors),
            ("skipped", session.skipped),
            ("started_at", session.started_at_ms),
        ] {
            item.insert(k.into(), n(v));
        }
        item.insert("ttl".into(), n(session.started_at_ms / 1000 + TTL_S));
        let mut writes = vec![put(&self.table, item, Some("attribute_not_exists(pk)"))?];
        for (i, chunk) in targets.chunks(TARGET_CHUNK).enumerate() {
            let mut t: Item = HashMap::new();
            t.insert("pk".into(), pk(&session.id));
            t.insert("sk".into(), s(format!("T#{i:05}")));
            t.insert(
                "codes".into(),
                AttributeValue::L(chunk.iter().map(|c| s(c.clone())).collect()),
            );
            t.insert("ttl".into(), n(session.started_at_ms / 1000 + TTL_S));
            writes.push(put(&self.table, t, None)?);
        }
        // A transaction holds 100 items: lists of up to 99 chunks (198,000 codes) go in one.
        let r = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if cancelled_on(&e, 0) == Some(true) => {
                Err(StoreError::AlreadyExists(session.id.clone()))
            }
            Err(e) => Err(unavailable(crate::describe(&e))),
        }
    }

    async fn targets(&self, id: &str) -> Result<Vec<String>, StoreError> {
        self.must(id).await?;
        let items = self
            .query(pk(id), "T#".into(), "T$".into(), usize::MAX)
            .await?;
        let mut out = vec![];
        for i in items {
            if let Some(AttributeValue::L(l)) = i.get("codes") {
                out.extend(l.iter().filter_map(|v| v.as_s().ok().cloned()));
            }
        }
        Ok(out)
    }

    async fn get(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.load(id).await
    }

    async fn add_listed(
        &self,
        id: &str,
        page: &str,
        files: u64,
        skipped: u64,
        done: bool,
    ) -> Result<Option<Session>, StoreError> {
        let mut mark: Item = HashMap::new();
        mark.insert("pk".into(), pk(id));
        mark.insert("sk".into(), s(format!("P#{page}")));
        // Every attribute by placeholder: several of these names are DynamoDB reserved words.
        let mut expr = "ADD #total :files, #skipped :skipped".to_string();
        if done {
            expr.push_str(" SET #listing_done = :true");
        }
        let mut u = Update::builder()
            .table_name(&self.table)
            .key("pk", pk(id))
            .key("sk", s("META"))
            .update_expression(expr)
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#total", "total")
            .expression_attribute_names("#skipped", "skipped")
            .expression_attribute_values(":files", n(files))
            .expression_attribute_values(":skipped", n(skipped));
        if done {
            u = u
                .expression_attribute_names("#listing_done", "listing_done")
                .expression_attribute_values(":true", AttributeValue::Bool(true));
        }
        let r = self
            .client
            .transact_write_items()
            .transact_items(put(&self.table, mark, Some("attribute_not_exists(pk)"))?)
            .transact_items(
                TransactWriteItem::builder()
                    .update(u.build().map_err(unavailable)?)
                    .build(),
            )
            .send()
            .await;
        match r {
            Ok(_) => Ok(Some(self.must(id).await?)),
            Err(e) if cancelled_on(&e, 0) == Some(true) => Ok(None),
            Err(e) if cancelled_on(&e, 1) == Some(true) => {
                Err(StoreError::NotFound(id.to_string()))
            }
            Err(e) => Err(unavailable(crate::describe(&e))),
        }
    }

    async fn record(&self, id: &str, result: &FileResult) -> Result<Recorded, StoreError> {
        let body = serde_json::to_string(result).map_err(unavailable)?;
        let mut item: Item = HashMap::new();
        item.insert("pk".into(), pk(id));
        item.insert("sk".into(), s(format!("R#{}", result.file.path)));
        item.insert("body".into(), s(body));
        let u = Update::builder()
            .table_name(&self.table)
            .key("pk", pk(id))
            .key("sk", s("META"))
            .update_expression("ADD #processed :one, #matches :m, #errors :e")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#processed", "processed")
            .expression_attribute_names("#matches", "matches")
            .expression_attribute_names("#errors", "errors")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":m", n(u64::from(result.is_match())))
            .expression_attribute_values(":e", n(u64::from(result.is_error())))
            .build()
            .map_err(unavailable)?;
        let r = self
            .client
            .transact_write_items()
            .transact_items(put(&self.table, item, Some("attribute_not_exists(pk)"))?)
            .transact_items(TransactWriteItem::builder().update(u).build())
            .send()
            .await;
        match r {
            Ok(_) => Ok(Recorded::Inserted(self.must(id).await?)),
            Err(e) if cancelled_on(&e, 0) == Some(true) => {
                Ok(Recorded::Duplicate(self.must(id).await?))
            }
            Err(e) if cancelled_on(&e, 1) == Some(true) => {
                Err(StoreError::NotFound(id.to_string()))
            }
            Err(e) => Err(unavailable(crate::describe(&e))),
        }
    }

    async fn has_result(&self, id: &str, path: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", pk(id))
            .key("sk", s(format!("R#{path}")))
            .projection_expression("pk")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable(crate::describe(&e)))?;
        Ok(out.item().is_some())
    }

    async fn try_begin_finalize(&self, id: &str) -> Result<bool, StoreError> {
        let token = crate::random_key();
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", pk(id))
            .key("sk", s("META"))
            .update_expression("SET #status = :finalizing, #lc = :token")
            .expression_attribute_names("#lc", "last_change")
            .expression_attribute_values(":token", s(token.clone()))
            .condition_expression(
                "#status = :running AND #listing_done = :true AND #processed >= #total",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#listing_done", "listing_done")
            .expression_attribute_names("#processed", "processed")
            .expression_attribute_names("#total", "total")
            .expression_attribute_values(":finalizing", s("FINALIZING"))
            .expression_attribute_values(":running", s("RUNNING"))
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(is_condition_failure) => {
                // Not (yet) all processed, or another caller won, or this very update was
                // applied and the SDK's retry of it failed the condition: the token tells.
                self.applied(id, &token).await
            }
            Err(e) => Err(unavailable(crate::describe(&e))),
        }
    }

    async fn transition(
        &self,
        id: &str,
        from: SessionStatus,
        to: SessionStatus,
        now_ms: u64,
        report_url: Option<String>,
    ) -> Result<bool, StoreError> {
        let token = crate::random_key();
        let mut expr = "SET #status = :to, #lc = :token".to_string();
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", pk(id))
            .key("sk", s("META"))
            .condition_expression("#status = :from")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":from", s(status_str(from)))
            .expression_attribute_values(":to", s(status_str(to)))
            .expression_attribute_names("#lc", "last_change")
            .expression_attribute_values(":token", s(token.clone()));
        if to.is_final() {
            expr.push_str(", #finished_at = :now");
            req = req.expression_attribute_names("#finished_at", "finished_at");
            req = req.expression_attribute_values(":now", n(now_ms));
        }
        if let Some(url) = report_url {
            expr.push_str(", #report_url = :url");
            req = req.expression_attribute_names("#report_url", "report_url");
            req = req.expression_attribute_values(":url", s(url));
        }
        match req.update_expression(expr).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(is_condition_failure) => {
                self.applied(id, &token).await
            }
            Err(e) => Err(unavailable(crate::describe(&e))),
        }
    }

    async fn results(
        &self,
        id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FileResult>, StoreError> {
        self.must(id).await?;
        // Strictly after `after`: the smallest key above it is the key with a NUL appended.
        let lo = match after {
            Some(a) => format!("R#{a}\u{0}"),
            None => "R#".to_string(),
        };
        let items = self.query(pk(id), lo, "R$".into(), limit).await?;
        items
            .iter()
            .map(|i| {
                serde_json::from_str(&get_s(i, "body").unwrap_or_default()).map_err(unavailable)
            })
            .collect()
    }

    async fn active(&self, owner: &str) -> Result<u64, StoreError> {
        // No index by owner: a filtered scan, paged. Only a deployment that sets a limit on
        // scans running at once asks.
        let mut n = 0;
        let mut start: Option<Item> = None;
        loop {
            let r = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(
                    "sk = :meta AND #owner = :owner AND (#status = :running OR #status = :finalizing)",
                )
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":meta", s("META"))
                .expression_attribute_values(":owner", s(owner))
                .expression_attribute_values(":running", s(status_str(SessionStatus::Running)))
                .expression_attribute_values(
                    ":finalizing",
                    s(status_str(SessionStatus::Finalizing)),
                )
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable(crate::describe(&e)))?;
            n += r.count().max(0) as u64;
            match r.last_evaluated_key() {
                Some(k) => start = Some(k.clone()),
                None => return Ok(n),
            }
        }
    }

    async fn claim_progress(
        &self,
        id: &str,
        now_ms: u64,
        min_interval_ms: u64,
    ) -> Result<bool, StoreError> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", pk(id))
            .key("sk", s("META"))
            .update_expression("SET #lp = :now")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(#lp) OR #lp <= :cutoff)",
            )
            .expression_attribute_names("#lp", "last_progress")
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":cutoff", n(now_ms.saturating_sub(min_interval_ms)))
            .send()
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(is_condition_failure) => {
                self.must(id).await?;
                Ok(false)
            }
            Err(e) => Err(unavailable(crate::describe(&e))),
        }
    }
}

#[async_trait]
impl EventLog for DynamoStore {
    async fn append(
        &self,
        session_id: &str,
        message: &ServerMessage,
    ) -> Result<Envelope, StoreError> {
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
            let mut event: Item = HashMap::new();
            event.insert("pk".into(), pk(session_id));
            event.insert("sk".into(), s(format!("E#{:012}", last + 1)));
            event.insert("body".into(), s(body));
            let r = self
                .client
                .transact_write_items()
                .transact_items(
                    TransactWriteItem::builder()
                        .put(counter_put.build().map_err(unavailable)?)
                        .build(),
                )
                .transact_items(put(&self.table, event, Some("attribute_not_exists(pk)"))?)
                .send()
                .await;
            match r {
                Ok(_) => return Ok(env),
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

fn rand_jitter() -> u64 {
    use rand::{RngCore, SeedableRng};
    rand::rngs::StdRng::from_os_rng().next_u64()
}
