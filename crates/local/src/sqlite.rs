//! SQLite adapters of the session store, the event log and the job queue: one database file
//! under the server's data folder. Every write is one transaction on one connection, so the
//! conditional writes (a result once per path, one finalize winner, a listing page counted
//! once) hold as they do on DynamoDB. The queue keeps leases: a job received and not
//! acknowledged in time is delivered again, also after a restart.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use isoscan_core::protocol::{Envelope, ServerMessage};
use isoscan_core::result::FileResult;
use isoscan_engine::ports::*;
use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::Notify;

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    body TEXT NOT NULL,
    targets TEXT NOT NULL,
    last_progress_ms INTEGER
);
CREATE TABLE IF NOT EXISTS listed_pages (
    session TEXT NOT NULL,
    page TEXT NOT NULL,
    PRIMARY KEY (session, page)
);
CREATE TABLE IF NOT EXISTS results (
    session TEXT NOT NULL,
    path TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (session, path)
);
CREATE TABLE IF NOT EXISTS events (
    session TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (session, seq)
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    visible_at INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT
);
CREATE INDEX IF NOT EXISTS jobs_visible ON jobs (visible_at);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_receipt ON jobs (receipt);
-- Written by earlier versions and never read.
DROP TABLE IF EXISTS connections;
";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// One SQLite database holding sessions, results, events and jobs.
pub struct SqliteState {
    conn: Arc<Mutex<Connection>>,
    notify: Notify,
    receipts: std::sync::atomic::AtomicU64,
    boot: i64,
}

impl SqliteState {
    /// Opens (creating when needed) the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteState, StoreError> {
        let conn = Connection::open(path)
            .map_err(|e| unavailable(format!("cannot open {}: {e}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        Ok(SqliteState {
            conn: Arc::new(Mutex::new(conn)),
            notify: Notify::new(),
            receipts: std::sync::atomic::AtomicU64::new(0),
            boot: now_ms(),
        })
    }

    /// Runs `f` in one transaction on the blocking pool.
    async fn tx<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().map_err(|_| unavailable("lock poisoned"))?;
            let t = c.transaction().map_err(unavailable)?;
            let out = f(&t)?;
            t.commit().map_err(unavailable)?;
            Ok(out)
        })
        .await
        .map_err(unavailable)?
    }

    /// What a process does on start when it is the only one using this database: jobs that
    /// were in hand when the last one stopped are delivered again now.
    pub async fn recover(&self) -> Result<u64, StoreError> {
        self.tx(|t| {
            let n = t
                .execute(
                    "UPDATE jobs SET visible_at = 0, receipt = NULL WHERE receipt IS NOT NULL",
                    [],
                )
                .map_err(unavailable)?;
            Ok(n as u64)
        })
        .await
    }

    /// Sessions not yet final: the server resumes these on start.
    pub async fn unfinished(&self) -> Result<Vec<Session>, StoreError> {
        self.tx(|t| {
            let mut st = t
                .prepare("SELECT body FROM sessions")
                .map_err(unavailable)?;
            let rows = st
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(unavailable)?;
            let mut out = vec![];
            for body in rows {
                let s: Session =
                    serde_json::from_str(&body.map_err(unavailable)?).map_err(unavailable)?;
                if !s.status.is_final() {
                    out.push(s);
                }
            }
            Ok(out)
        })
        .await
    }
}

fn load(t: &rusqlite::Transaction, id: &str) -> Result<Session, StoreError> {
    let body: Option<String> = t
        .query_row(
            "SELECT body FROM sessions WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )
        .optional()
        .map_err(unavailable)?;
    let body = body.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
    serde_json::from_str(&body).map_err(unavailable)
}

fn save(t: &rusqlite::Transaction, s: &Session) -> Result<(), StoreError> {
    let body = serde_json::to_string(s).map_err(unavailable)?;
    t.execute(
        "UPDATE sessions SET body = ?2 WHERE id = ?1",
        params![s.id, body],
    )
    .map_err(unavailable)?;
    Ok(())
}

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
        files: u64,
        skipped: u64,
        done: bool,
    ) -> Result<Option<Session>, StoreError> {
        let (id, page) = (id.to_string(), page.to_string());
        self.tx(move |t| {
            let mut s = load(t, &id)?;
            let n = t
                .execute(
                    "INSERT OR IGNORE INTO listed_pages (session, page) VALUES (?1, ?2)",
                    params![id, page],
                )
                .map_err(unavailable)?;
            if n == 0 {
                return Ok(None);
            }
            s.total += files;
            s.skipped += skipped;
            s.listing_done |= done;
            save(t, &s)?;
            Ok(Some(s))
        })
        .await
    }

    async fn record(&self, id: &str, result: &FileResult) -> Result<Recorded, StoreError> {
        let id = id.to_string();
        let r = result.clone();
        self.tx(move |t| {
            let mut s = load(t, &id)?;
            let body = serde_json::to_string(&r).map_err(unavailable)?;
            let n = t
                .execute(
                    "INSERT OR IGNORE INTO results (session, path, body) VALUES (?1, ?2, ?3)",
                    params![id, r.file.path, body],
                )
                .map_err(unavailable)?;
            if n == 0 {
                return Ok(Recorded::Duplicate(s));
            }
            s.processed += 1;
            s.matches += u64::from(r.is_match());
            s.errors += u64::from(r.is_error());
            save(t, &s)?;
            Ok(Recorded::Inserted(s))
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

    async fn try_begin_finalize(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.tx(move |t| {
            let mut s = load(t, &id)?;
            if s.status == SessionStatus::Running && s.all_processed() {
                s.status = SessionStatus::Finalizing;
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

#[async_trait]
impl EventLog for SqliteState {
    async fn append(
        &self,
        session_id: &str,
        message: &ServerMessage,
    ) -> Result<Envelope, StoreError> {
        let session_id = session_id.to_string();
        let message = message.clone();
        self.tx(move |t| {
            let seq: i64 = t
                .query_row(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE session = ?1",
                    params![session_id],
                    |r| r.get(0),
                )
                .map_err(unavailable)?;
            let env = Envelope {
                session_id: session_id.clone(),
                seq: seq as u64,
                ts: None,
                req_id: None,
                message,
            };
            let body = serde_json::to_string(&env).map_err(unavailable)?;
            t.execute(
                "INSERT INTO events (session, seq, body) VALUES (?1, ?2, ?3)",
                params![session_id, seq, body],
            )
            .map_err(unavailable)?;
            Ok(env)
        })
        .await
    }

    async fn since(
        &self,
        session_id: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<Envelope>, StoreError> {
        let session_id = session_id.to_string();
        self.tx(move |t| {
            let mut st = t
                .prepare(
                    "SELECT body FROM events WHERE session = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                )
                .map_err(unavailable)?;
            let rows = st
                .query_map(params![session_id, since as i64, limit as i64], |r| {
                    r.get::<_, String>(0)
                })
                .map_err(unavailable)?;
            let mut out = vec![];
            for body in rows {
                out.push(serde_json::from_str(&body.map_err(unavailable)?).map_err(unavailable)?);
            }
            Ok(out)
        })
        .await
    }
}

fn queue_err(e: StoreError) -> QueueError {
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
