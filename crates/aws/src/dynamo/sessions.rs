//! Sessions and file results: conditional writes and transactions that keep counts exact.

use super::*;

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
        item.insert("status_since".into(), n(session.status_since_ms));
        if !session.status.is_final() {
            item.insert(OPEN.into(), s(OPEN_VALUE));
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
        next: Option<&str>,
        files: u64,
        skipped: u64,
    ) -> Result<Listed, StoreError> {
        let done = next.is_none();
        let mut mark: Item = HashMap::new();
        mark.insert("pk".into(), pk(id));
        mark.insert("sk".into(), s(page_key(page)));
        if let Some(next) = next {
            mark.insert("next".into(), s(next));
        }
        mark.insert("ttl".into(), ttl_from(now_s()));
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
        let u = u.build().map_err(unavailable)?;
        let r = self
            .transact(vec![
                put(&self.table, mark, Some("attribute_not_exists(pk)"))?,
                TransactWriteItem::builder().update(u).build(),
            ])
            .await;
        match r {
            Ok(()) => Ok(Listed::Counted(self.must(id).await?)),
            Err(e) if cancelled_on(&e, 0) == Some(true) => {
                let out = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .key("pk", pk(id))
                    .key("sk", s(page_key(page)))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| unavailable(crate::describe(&e)))?;
                Ok(Listed::Repeated {
                    next: out.item().and_then(|i| get_s(i, "next")),
                })
            }
            Err(e) if cancelled_on(&e, 1) == Some(true) => {
                Err(StoreError::NotFound(id.to_string()))
            }
            Err(e) => Err(unavailable(crate::describe(&e))),
        }
    }

    async fn record_many(
        &self,
        id: &str,
        results: &[FileResult],
    ) -> Result<RecordedMany, StoreError> {
        let mut inserted = vec![false; results.len()];
        let mut seen = std::collections::HashSet::new();
        // A path twice in one call is written once (a transaction names an item once).
        let firsts: Vec<usize> = (0..results.len())
            .filter(|&i| seen.insert(result_key(&results[i].file.path)))
            .collect();
        for chunk in firsts.chunks(RECORD_MAX) {
            let mut todo = chunk.to_vec();
            while !todo.is_empty() {
                match self.record_once(id, results, &todo).await? {
                    None => {
                        for &i in &todo {
                            inserted[i] = true;
                        }
                        todo.clear();
                    }
                    // Those in already: the others go again, without them.
                    Some(present) => todo.retain(|i| !present.contains(i)),
                }
            }
        }
        Ok(RecordedMany {
            inserted,
            session: self.must(id).await?,
        })
    }

    async fn has_result(&self, id: &str, path: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", pk(id))
            .key("sk", s(result_key(path)))
            .projection_expression("pk")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable(crate::describe(&e)))?;
        Ok(out.item().is_some())
    }

    async fn try_begin_finalize(&self, id: &str, now_ms: u64) -> Result<bool, StoreError> {
        let token = crate::random_key();
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", pk(id))
            .key("sk", s("META"))
            .update_expression("SET #status = :finalizing, #lc = :token, #since = :now")
            .expression_attribute_names("#since", "status_since")
            .expression_attribute_values(":now", n(now_ms))
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
        let mut expr = "SET #status = :to, #lc = :token, #since = :since".to_string();
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
            .expression_attribute_values(":token", s(token.clone()))
            .expression_attribute_names("#since", "status_since")
            .expression_attribute_values(":since", n(now_ms));
        if to.is_final() {
            expr.push_str(", #finished_at = :since");
            req = req.expression_attribute_names("#finished_at", "finished_at");
        }
        let mut removes = vec![];
        if to.is_final() {
            // Out of the index of scans the sweeper looks over.
            removes.push("#open");
            req = req.expression_attribute_names("#open", OPEN);
        }
        if let Some(url) = report_url {
            expr.push_str(", #report_url = :url");
            req = req.expression_attribute_names("#report_url", "report_url");
            req = req.expression_attribute_values(":url", s(url));
        }
        if !removes.is_empty() {
            expr.push_str(&format!(" REMOVE {}", removes.join(", ")));
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
            Some(a) => format!("{}\u{0}", result_key(a)),
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

    async fn unfinished(&self) -> Result<Vec<Session>, StoreError> {
        // The index holds only sessions not ended (a final transition removes the attribute),
        // with keys only: writes of counters never touch it.
        let mut out = vec![];
        let mut start: Option<Item> = None;
        loop {
            let r = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(OPEN_INDEX)
                .key_condition_expression("#open = :open")
                .expression_attribute_names("#open", OPEN)
                .expression_attribute_values(":open", s(OPEN_VALUE))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable(crate::describe(&e)))?;
            for k in r.items() {
                let Some(AttributeValue::S(p)) = k.get("pk") else {
                    continue;
                };
                let Some(id) = p.strip_prefix("S#") else {
                    continue;
                };
                // The index is read eventually; the session itself, consistently.
                if let Some(s) = self.load(id).await? {
                    if !s.status.is_final() {
                        out.push(s);
                    }
                }
            }
            match r.last_evaluated_key() {
                Some(k) => start = Some(k.clone()),
                None => return Ok(out),
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

impl DynamoStore {
    /// Writes the results `todo` (indexes into `results`) and adds them to the session's
    /// counters in one transaction, conditional on each result being new. `None`: written;
    /// `Some(present)`: nothing was, these were in already.
    async fn record_once(
        &self,
        id: &str,
        results: &[FileResult],
        todo: &[usize],
    ) -> Result<Option<Vec<usize>>, StoreError> {
        let mut writes = Vec::with_capacity(todo.len() + 1);
        let (mut matches, mut errors) = (0u64, 0u64);
        for &i in todo {
            let result = &results[i];
            let body = serde_json::to_string(result).map_err(unavailable)?;
            let mut item: Item = HashMap::new();
            item.insert("pk".into(), pk(id));
            item.insert("sk".into(), s(result_key(&result.file.path)));
            item.insert("body".into(), s(body));
            item.insert("ttl".into(), ttl_from(now_s()));
            writes.push(put(&self.table, item, Some("attribute_not_exists(pk)"))?);
            matches += u64::from(result.is_match());
            errors += u64::from(result.is_error());
        }
        let u = Update::builder()
            .table_name(&self.table)
            .key("pk", pk(id))
            .key("sk", s("META"))
            .update_expression("ADD #processed :n, #matches :m, #errors :e")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#processed", "processed")
            .expression_attribute_names("#matches", "matches")
            .expression_attribute_names("#errors", "errors")
            .expression_attribute_values(":n", n(todo.len() as u64))
            .expression_attribute_values(":m", n(matches))
            .expression_attribute_values(":e", n(errors))
            .build()
            .map_err(unavailable)?;
        writes.push(TransactWriteItem::builder().update(u).build());
        // Fifty workers recording files of one scan collide on its counters: `transact` sends
        // a contended write again here, not through a redelivery that costs a receive.
        match self.transact(writes).await {
            Ok(()) => Ok(None),
            Err(e) if cancelled_on(&e, todo.len()) == Some(true) => {
                Err(StoreError::NotFound(id.to_string()))
            }
            Err(e) => {
                let present: Vec<usize> = (0..todo.len())
                    .filter(|&k| cancelled_on(&e, k) == Some(true))
                    .map(|k| todo[k])
                    .collect();
                if present.is_empty() {
                    Err(unavailable(crate::describe(&e)))
                } else {
                    Ok(Some(present))
                }
            }
        }
    }
}
