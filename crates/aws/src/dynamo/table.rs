//! The table, connections and their subscriptions.

use super::*;

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            hole_wait: super::events::HOLE_WAIT,
        }
    }

    /// The same store with another wait before a reader fills a seq whose event never came.
    pub fn with_hole_wait(mut self, wait: std::time::Duration) -> Self {
        self.hole_wait = wait;
        self
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
            .attribute_definitions(attr(OPEN).map_err(unavailable)?)
            .key_schema(key("pk", KeyType::Hash).map_err(unavailable)?)
            .key_schema(key("sk", KeyType::Range).map_err(unavailable)?)
            // As the stack declares it (infra/lib/isoscan-stack.ts).
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(OPEN_INDEX)
                    .key_schema(key(OPEN, KeyType::Hash).map_err(unavailable)?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::KeysOnly)
                            .build(),
                    )
                    .build()
                    .map_err(unavailable)?,
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .map_err(|e| unavailable(crate::describe(&e)))?;
        Ok(())
    }

    /// Sends a transaction, again (after a jittered wait) while it fails only because another
    /// transaction touched its items or a partition was throttled.
    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<
        (),
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        >,
    > {
        let mut attempt = 0;
        loop {
            let r = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            match r {
                Err(e) if contended(&e) && attempt + 1 < CONTENDED_TRIES => {
                    back_off(attempt).await;
                    attempt += 1;
                }
                r => return r.map(|_| ()),
            }
        }
    }

    /// The `META` item of a session or connection, read consistently.
    pub(super) async fn meta(&self, pk_value: AttributeValue) -> Result<Option<Item>, StoreError> {
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

    pub(super) async fn load(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.meta(pk(id))
            .await?
            .as_ref()
            .map(to_session)
            .transpose()
    }

    /// After a failed condition: whether the update carrying `token` was applied after all
    /// (an SDK retry of a request whose first attempt succeeded fails its own condition).
    pub(super) async fn applied(&self, id: &str, token: &str) -> Result<bool, StoreError> {
        let item = self
            .meta(pk(id))
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        Ok(get_s(&item, "last_change").as_deref() == Some(token))
    }

    pub(super) async fn must(&self, id: &str) -> Result<Session, StoreError> {
        self.load(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))
    }

    /// Every item of a key range, following `LastEvaluatedKey` to the end or to `limit`.
    pub(super) async fn query(
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

pub(super) fn put(
    table: &str,
    item: Item,
    condition: Option<&str>,
) -> Result<TransactWriteItem, StoreError> {
    let p = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_string))
        .build()
        .map_err(unavailable)?;
    Ok(TransactWriteItem::builder().put(p).build())
}
