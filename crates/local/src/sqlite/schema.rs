//! The database: its schema, opening it, and what a restart does.

use super::*;

pub(super) const SCHEMA: &str = "
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
    next TEXT,
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
CREATE TABLE IF NOT EXISTS events_once (
    session TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (session, key)
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

/// Columns later versions added to tables an earlier version created.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let has_next = conn
        .prepare("SELECT 1 FROM pragma_table_info('listed_pages') WHERE name = 'next'")
        .and_then(|mut st| st.exists([]))
        .map_err(unavailable)?;
    if !has_next {
        // A page an earlier version counted has no cursor recorded: a retry of it goes on
        // from the cursor the source gives then, as those versions did.
        conn.execute("ALTER TABLE listed_pages ADD COLUMN next TEXT", [])
            .map_err(unavailable)?;
    }
    Ok(())
}

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(super) fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// One SQLite database holding sessions, results, events and jobs.
pub struct SqliteState {
    pub(super) conn: Arc<Mutex<Connection>>,
    pub(super) notify: Notify,
    pub(super) receipts: std::sync::atomic::AtomicU64,
    pub(super) boot: i64,
}

impl SqliteState {
    /// Opens (creating when needed) the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteState, StoreError> {
        let conn = Connection::open(path)
            .map_err(|e| unavailable(format!("cannot open {}: {e}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        migrate(&conn)?;
        Ok(SqliteState {
            conn: Arc::new(Mutex::new(conn)),
            notify: Notify::new(),
            receipts: std::sync::atomic::AtomicU64::new(0),
            boot: now_ms(),
        })
    }

    /// Runs `f` in one transaction on the blocking pool.
    pub(super) async fn tx<T: Send + 'static>(
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

pub(super) fn load(t: &rusqlite::Transaction, id: &str) -> Result<Session, StoreError> {
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

pub(super) fn save(t: &rusqlite::Transaction, s: &Session) -> Result<(), StoreError> {
    let body = serde_json::to_string(s).map_err(unavailable)?;
    t.execute(
        "UPDATE sessions SET body = ?2 WHERE id = ?1",
        params![s.id, body],
    )
    .map_err(unavailable)?;
    Ok(())
}
