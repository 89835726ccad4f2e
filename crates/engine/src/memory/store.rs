//! Sessions, results and the event log in memory.

use super::*;

#[derive(Default)]
pub(super) struct SessionRow {
    session: Option<Session>,
    results: BTreeMap<String, FileResult>,
    last_progress_ms: Option<u64>,
    events: Vec<Envelope>,
    once: std::collections::HashSet<String>,
    pages: HashMap<String, Option<String>>,
    targets: Vec<String>,
}

/// Sessions, results and the event log in memory.
#[derive(Default)]
pub struct MemoryStore {
    rows: Mutex<HashMap<String, SessionRow>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(
        &self,
        id: &str,
        f: impl FnOnce(&mut SessionRow) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut rows = self
            .rows
            .lock()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?;
        match rows.get_mut(id) {
            Some(row) if row.session.is_some() => f(row),
            _ => Err(StoreError::NotFound(id.to_string())),
        }
    }
}

pub(super) fn session_mut(row: &mut SessionRow) -> Result<&mut Session, StoreError> {
    row.session
        .as_mut()
        .ok_or_else(|| StoreError::NotFound(String::new()))
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create(&self, session: &Session, targets: &[String]) -> Result<(), StoreError> {
        let mut rows = self
            .rows
            .lock()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?;
        if rows.get(&session.id).is_some_and(|r| r.session.is_some()) {
            return Err(StoreError::AlreadyExists(session.id.clone()));
        }
        let row = rows.entry(session.id.clone()).or_default();
        row.session = Some(session.clone());
        row.targets = targets.to_vec();
        Ok(())
    }

    async fn targets(&self, id: &str) -> Result<Vec<String>, StoreError> {
        self.with(id, |row| Ok(row.targets.clone()))
    }

    async fn get(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let rows = self
            .rows
            .lock()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?;
        Ok(rows.get(id).and_then(|r| r.session.clone()))
    }

    async fn add_listed(
        &self,
        id: &str,
        page: &str,
        next: Option<&str>,
        files: u64,
        skipped: u64,
    ) -> Result<Listed, StoreError> {
        self.with(id, |row| {
            if let Some(next) = row.pages.get(page) {
                return Ok(Listed::Repeated { next: next.clone() });
            }
            row.pages.insert(page.to_string(), next.map(str::to_string));
            let s = session_mut(row)?;
            s.total += files;
            s.skipped += skipped;
            s.listing_done |= next.is_none();
            Ok(Listed::Counted(s.clone()))
        })
    }

    async fn record_many(
        &self,
        id: &str,
        results: &[FileResult],
    ) -> Result<RecordedMany, StoreError> {
        self.with(id, |row| {
            session_mut(row)?;
            let mut inserted = Vec::with_capacity(results.len());
            for result in results {
                let new = !row.results.contains_key(&result.file.path);
                if new {
                    row.results.insert(result.file.path.clone(), result.clone());
                    let s = session_mut(row)?;
                    s.processed += 1;
                    s.matches += u64::from(result.is_match());
                    s.errors += u64::from(result.is_error());
                }
                inserted.push(new);
            }
            Ok(RecordedMany {
                inserted,
                session: session_mut(row)?.clone(),
            })
        })
    }

    async fn has_result(&self, id: &str, path: &str) -> Result<bool, StoreError> {
        self.with(id, |row| Ok(row.results.contains_key(path)))
    }

    async fn try_begin_finalize(&self, id: &str, now_ms: u64) -> Result<bool, StoreError> {
        self.with(id, |row| {
            let s = session_mut(row)?;
            if s.status == SessionStatus::Running && s.all_processed() {
                s.status = SessionStatus::Finalizing;
                s.status_since_ms = now_ms;
                Ok(true)
            } else {
                Ok(false)
            }
        })
    }

    async fn transition(
        &self,
        id: &str,
        from: SessionStatus,
        to: SessionStatus,
        now_ms: u64,
        report_url: Option<String>,
    ) -> Result<bool, StoreError> {
        self.with(id, |row| {
            let s = session_mut(row)?;
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
            Ok(true)
        })
    }

    async fn results(
        &self,
        id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FileResult>, StoreError> {
        self.with(id, |row| {
            let iter: Box<dyn Iterator<Item = (&String, &FileResult)>> =
                match after {
                    Some(a) => Box::new(row.results.range::<str, _>((
                        std::ops::Bound::Excluded(a),
                        std::ops::Bound::Unbounded,
                    ))),
                    None => Box::new(row.results.iter()),
                };
            Ok(iter.take(limit).map(|(_, r)| r.clone()).collect())
        })
    }

    async fn active(&self, owner: &str) -> Result<u64, StoreError> {
        let rows = self
            .rows
            .lock()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?;
        Ok(rows
            .values()
            .filter_map(|r| r.session.as_ref())
            .filter(|s| s.owner == owner && !s.status.is_final())
            .count() as u64)
    }

    async fn unfinished(&self) -> Result<Vec<Session>, StoreError> {
        let rows = self
            .rows
            .lock()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?;
        Ok(rows
            .values()
            .filter_map(|r| r.session.clone())
            .filter(|s| !s.status.is_final())
            .collect())
    }

    async fn claim_progress(
        &self,
        id: &str,
        now_ms: u64,
        min_interval_ms: u64,
    ) -> Result<bool, StoreError> {
        self.with(id, |row| match row.last_progress_ms {
            Some(last) if now_ms < last.saturating_add(min_interval_ms) => Ok(false),
            _ => {
                row.last_progress_ms = Some(now_ms);
                Ok(true)
            }
        })
    }
}

#[async_trait]
impl EventLog for MemoryStore {
    async fn append(
        &self,
        session_id: &str,
        message: &ServerMessage,
    ) -> Result<Envelope, StoreError> {
        let mut rows = self
            .rows
            .lock()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?;
        let row = rows.entry(session_id.to_string()).or_default();
        Ok(push_event(row, session_id, message))
    }

    async fn append_once(
        &self,
        session_id: &str,
        key: &str,
        message: &ServerMessage,
    ) -> Result<Option<Envelope>, StoreError> {
        {
            let mut rows = self
                .rows
                .lock()
                .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?;
            let row = rows.entry(session_id.to_string()).or_default();
            if !row.once.insert(key.to_string()) {
                return Ok(None);
            }
            Ok(Some(push_event(row, session_id, message)))
        }
    }

    async fn since(
        &self,
        session_id: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<Envelope>, StoreError> {
        let rows = self
            .rows
            .lock()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?;
        Ok(rows
            .get(session_id)
            .map(|r| {
                r.events
                    .iter()
                    .skip(since as usize)
                    .take(limit)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// Numbers a message as the session's next event and keeps it.
fn push_event(row: &mut SessionRow, session_id: &str, message: &ServerMessage) -> Envelope {
    let env = Envelope {
        session_id: session_id.to_string(),
        seq: row.events.len() as u64 + 1,
        ts: None,
        req_id: None,
        message: message.clone(),
    };
    row.events.push(env.clone());
    env
}
