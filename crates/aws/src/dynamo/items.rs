//! Item keys and attributes, and a session read back from its item.

use super::*;

/// Codes per target-list item (well under DynamoDB's 400 KB item limit).
pub(super) const TARGET_CHUNK: usize = 2000;
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
    })
}

/// The store on one DynamoDB table.
pub struct DynamoStore {
    pub(super) client: Client,
    pub(super) table: String,
}

pub(super) fn is_condition_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(
    e: &E,
) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

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
