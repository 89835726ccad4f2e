//! Item keys and attributes, and a session read back from its item.

use super::*;

/// Codes per target-list item (well under DynamoDB's 400 KB item limit).
pub(super) const TARGET_CHUNK: usize = 2000;
/// The index of sessions not ended, and its key: an attribute only those sessions have.
pub const OPEN_INDEX: &str = "open";
pub(super) const OPEN: &str = "open";
pub(super) const OPEN_VALUE: &str = "1";

/// How long items live after their session started, in seconds.
pub const TTL_S: u64 = 30 * 24 * 3600;

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
pub(super) fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
pub(super) fn pk(id: &str) -> AttributeValue {
    s(format!("S#{id}"))
}

/// When an item written now expires: [`TTL_S`] after `now_s`.
pub(super) fn ttl_from(now_s: u64) -> AttributeValue {
    n(now_s + TTL_S)
}

/// The time by this machine's clock, in seconds: only for `ttl`, which DynamoDB reads as such.
pub(super) fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Paths up to this many bytes are their own sort key; longer ones are cut and hashed, so that
/// no key reaches DynamoDB's 1,024-byte limit.
const KEY_PATH_MAX: usize = 600;

/// The sort key of a file's result: `R#path`, in path order; a longer path keeps its first
/// [`KEY_PATH_MAX`] bytes (so it still sorts near its folder) and the SHA-256 of the whole
/// path. The result itself (in `body`) holds the whole path. No short path's key can equal a
/// long one's: they differ in length.
pub(super) fn result_key(path: &str) -> String {
    if path.len() <= KEY_PATH_MAX {
        return format!("R#{path}");
    }
    let mut cut = KEY_PATH_MAX;
    while !path.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("R#{}\u{1}{}", &path[..cut], sha256_hex(path))
}

/// The sort key of a listed page: the SHA-256 of its cursor (a Drive cursor lists every
/// folder still to visit: tens of kilobytes for a wide tree).
pub(super) fn page_key(cursor: &str) -> String {
    format!("P#{}", sha256_hex(cursor))
}

fn sha256_hex(v: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(v.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

pub(super) fn get_s(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}
pub(super) fn get_n(item: &Item, k: &str) -> u64 {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub(super) fn status_str(st: SessionStatus) -> &'static str {
    st.as_str()
}

pub(super) fn to_session(item: &Item) -> Result<Session, StoreError> {
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
        status_since_ms: get_n(item, "status_since"),
    })
}

/// The store on one DynamoDB table.
pub struct DynamoStore {
    pub(super) client: Client,
    pub(super) table: String,
    /// [`super::events::HOLE_WAIT`] but in tests.
    pub(super) hole_wait: std::time::Duration,
}

pub(super) fn is_condition_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(
    e: &E,
) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

/// Whether a failed transaction may pass if sent again now: another transaction touched one
/// of its items (`TransactionConflict`), or a partition was throttled.
pub(super) fn contended(
    e: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
    >,
) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    match e.as_service_error() {
        Some(E::TransactionCanceledException(c)) => c.cancellation_reasons().iter().any(|r| {
            matches!(
                r.code(),
                Some("TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded")
            )
        }),
        Some(
            E::TransactionInProgressException(_) | E::ProvisionedThroughputExceededException(_),
        ) => true,
        Some(other) => other.meta().code() == Some("ThrottlingException"),
        None => false,
    }
}

/// Waits before sending a contended write again: growing with `attempt`, jittered so that
/// writers that collided do not collide again.
pub(super) async fn back_off(attempt: u32) {
    let base = 10u64 << attempt.min(6);
    let ms = base + super::events::rand_jitter() % base;
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

/// Tries of a contended write before it is answered as unavailable (and its job retried).
pub(super) const CONTENDED_TRIES: u32 = 8;

/// Whether a cancelled transaction failed on its `i`th item's condition.
pub(super) fn cancelled_on(
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
