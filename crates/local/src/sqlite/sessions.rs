//! Sessions and file results.

use super::*;

#[async_trait]
impl SessionStore for SqliteState {
    async fn create(&self, session: &Session, targets: &[String]) -> Result<(), StoreError> {
        let s = session.clone();
        let targets = serde_json::to_string(targets).map_err(unavailable)?;
        self.tx(move |t| {
            let body = serde_json::to_string(&s).map_err(unavailable)?;
            let n = t
                .execute(
                    "INSERT OR IGNORE INTO sessions (id, owner, body, targets) VALUES (?1, ?2, ?3, ?4)",
                    params![s.id, s.owner, body, targets],
                )
                .map_err(unavailable)?;
            if n == 0 {
                return Err(StoreError::AlreadyExists(s.id.clone()));
            }
            Ok(())
        })
        .await
    }

    async fn targets(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let id = id.to_string();
        self.tx(move |t| {
            let body: Option<String> = t
                .query_row(
                    "SELECT targets FROM sessions WHERE id = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            let body = body.ok_or_else(|| StoreError::NotFound(id.clone()))?;
            serde_json::from_str(&body).map_err(unavailable)
        })
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let id = id.to_string();
        self.tx(move |t| match load(t, &id) {
            Ok(s) => Ok(Some(s)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }

    async fn add_listed(
        &self,
        id: &str,
        page: &str,
        next: Option<&str>,
        files: u64,
        skipped: u64,
    ) -> Result<Listed, StoreError> {
        let (id, page, next) = (id.to_string(), page.to_string(), next.map(str::to_string));
        self.tx(move |t| {
            let mut s = load(t, &id)?;
            let n = t
                .execute(
                    "INSERT OR IGNORE INTO listed_pages (session, page, next) VALUES (?1, ?2, ?3)",
                    params![id, page, next],
                )
                .map_err(unavailable)?;
            if n == 0 {
                let next: Option<String> = t
                    .query_row(
                        "SELECT next FROM listed_pages WHERE session = ?1 AND page = ?2",
                        params![id, page],
                        |r| r.get(0),
                    )
                    .map_err(unavailable)?;
                return Ok(Listed::Repeated { next });
            }
            s.total += files;
            s.skipped += skipped;
            s.listing_done |= next.is_none();
            save(t, &s)?;
            Ok(Listed::Counted(s))
        })
        .await
    }

    async fn record_many(
        &self,
        id: &str,
        results: &[FileResult],
    ) -> Result<RecordedMany, StoreError> {
        let id = id.to_string();
        let results = results.to_vec();
        self.tx(move |t| {
            let mut s = load(t, &id)?;
            let mut inserted = Vec::with_capacity(results.len());
            for r in &results {
                let body = serde_json::to_string(r).map_err(unavailable)?;
                let n = t
                    .execute(
                        "INSERT OR IGNORE INTO results (session, path, body) VALUES (?1, ?2, ?3)",
                        params![id, r.file.path, body],
                    )
                    .map_err(unavailable)?;
                if n > 0 {
                    s.processed += 1;
                    s.matches += u64::from(r.is_match());
                    s.errors += u64::from(r.is_error());
                }
                inserted.push(n > 0);
            }
            if inserted.contains(&true) {
                save(t, &s)?;
            }
            Ok(RecordedMany {
                inserted,
                session: s,
            })
        })
        .await
    }

    async fn has_result(&self, id: &str, path: &str) -> Result<bool, StoreError> {
        let (id, path) = (id.to_string(), path.to_string());
        self.tx(move |t| {
            t.query_row(
                "SELECT 1 FROM results WHERE session = ?1 AND path = ?2",
                params![id, path],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
            .map_err(unavailable)
        })
        .await
    }

    async fn try_begin_finalize(&self, id: &str, now_ms: u64) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.tx(move |t| {
            let mut s = load(t, &id)?;
            if s.status == SessionStatus::Running && s.all_processed() {
                s.status = SessionStatus::Finalizing;
                s.status_since_ms = now_ms;
                save(t, &s)?;
                Ok(true)
            } else {
                Ok(false)
            }
        })
        .await
    }

    async fn transition(
        &self,
        id: &str,
        from: SessionStatus,
        to: SessionStatus,
        now_ms: u64,
        report_url: Option<String>,
    ) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.tx(move |t| {
            let mut s = load(t, &id)?;
            if s.status != from {
                return Ok(false);
            }
            s.status = to;
            s.status_since_ms = now_ms;
            if to.is_final() {
                s.finished_at_ms = Some(now_ms);
            }
            if report_url.is_some() {
                s.report_url = report_url;
            }
            save(t, &s)?;
            Ok(true)
        })
        .await
    }

    async fn results(
        &self,
        id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FileResult>, StoreError> {
        let (id, after) = (id.to_string(), after.map(str::to_string));
        self.tx(move |t| {
            load(t, &id)?;
            let mut st = t
                .prepare(
                    "SELECT body FROM results WHERE session = ?1 AND (?2 IS NULL OR path > ?2) \
                     ORDER BY path LIMIT ?3",
                )
                .map_err(unavailable)?;
            let rows = st
                .query_map(params![id, after, limit as i64], |r| r.get::<_, String>(0))
                .map_err(unavailable)?;
            let mut out = vec![];
            for body in rows {
                out.push(serde_json::from_str(&body.map_err(unavailable)?).map_err(unavailable)?);
            }
            Ok(out)
        })
        .await
    }

    async fn unfinished(&self) -> Result<Vec<Session>, StoreError> {
        SqliteState::unfinished(self).await
    }

    async fn active(&self, owner: &str) -> Result<u64, StoreError> {
        let owner = owner.to_string();
        self.tx(move |t| {
            let mut st = t
                .prepare("SELECT body FROM sessions WHERE owner = ?1")
                .map_err(unavailable)?;
            let rows = st
                .query_map([&owner], |r| r.get::<_, String>(0))
                .map_err(unavailable)?;
            let mut n = 0;
            for body in rows {
                let s: Session =
                    serde_json::from_str(&body.map_err(unavailable)?).map_err(unavailable)?;
                n += u64::from(!s.status.is_final());
            }
            Ok(n)
        })
        .await
    }

    async fn claim_progress(
        &self,
        id: &str,
        now_ms: u64,
        min_interval_ms: u64,
    ) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.tx(move |t| {
            let last: Option<Option<i64>> = t
                .query_row(
                    "SELECT last_progress_ms FROM sessions WHERE id = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            let last = last.ok_or_else(|| StoreError::NotFound(id.clone()))?;
            if let Some(last) = last {
                if (now_ms as i64) < last.saturating_add(min_interval_ms as i64) {
                    return Ok(false);
                }
            }
            t.execute(
                "UPDATE sessions SET last_progress_ms = ?2 WHERE id = ?1",
                params![id, now_ms as i64],
            )
            .map_err(unavailable)?;
            Ok(true)
        })
        .await
    }
}
