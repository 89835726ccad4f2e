//! The event log.

use super::*;

#[async_trait]
impl EventLog for SqliteState {
    async fn append(
        &self,
        session_id: &str,
        message: &ServerMessage,
    ) -> Result<Envelope, StoreError> {
        let session_id = session_id.to_string();
        let message = message.clone();
        self.tx(move |t| append_in(t, &session_id, message)).await
    }

    async fn append_once(
        &self,
        session_id: &str,
        key: &str,
        message: &ServerMessage,
    ) -> Result<Option<Envelope>, StoreError> {
        let (session_id, key) = (session_id.to_string(), key.to_string());
        let message = message.clone();
        self.tx(move |t| {
            let n = t
                .execute(
                    "INSERT OR IGNORE INTO events_once (session, key) VALUES (?1, ?2)",
                    params![session_id, key],
                )
                .map_err(unavailable)?;
            if n == 0 {
                return Ok(None);
            }
            append_in(t, &session_id, message).map(Some)
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

/// Numbers and writes one event inside the caller's transaction.
fn append_in(
    t: &rusqlite::Transaction,
    session_id: &str,
    message: ServerMessage,
) -> Result<Envelope, StoreError> {
    let seq: i64 = t
        .query_row(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE session = ?1",
            params![session_id],
            |r| r.get(0),
        )
        .map_err(unavailable)?;
    let env = Envelope {
        session_id: session_id.to_string(),
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
}
