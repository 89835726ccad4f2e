//! `ReportStore`: what a writer stores is what the link serves, whole; a writer dropped
//! unstored leaves nothing; a second report replaces the first, never mixes with it.

use std::io::{Seek, SeekFrom, Write};
use std::sync::Arc;

use crate::ports::*;

/// The bytes behind a URL the store answered with, as a client's download would get them.
pub type FetchFn =
    Arc<dyn Fn(String) -> futures::future::BoxFuture<'static, Vec<u8>> + Send + Sync>;

/// Writes `bytes` as the report builder does: a placeholder, the body, then back to the start
/// to fill the placeholder in (a zip writer seeks so).
async fn write(store: &dyn ReportStore, session: &str, bytes: &[u8]) -> Box<dyn ReportWriter> {
    let mut w = store.writer(session).await.expect("writer");
    w.write_all(&[0; 4]).expect("write");
    w.write_all(&bytes[4..]).expect("write");
    w.seek(SeekFrom::Start(0)).expect("seek");
    w.write_all(&bytes[..4]).expect("write");
    w.seek(SeekFrom::End(0)).expect("seek");
    w
}

pub async fn reports(store: Arc<dyn ReportStore>, fetch: FetchFn, prefix: &str) {
    let session = format!("{prefix}-report-1");
    assert!(
        store.link(&session).await.is_err(),
        "no report is linked before one is stored"
    );
    // Larger than any buffer an adapter keeps: the report is more than one write.
    let first: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let url = write(&*store, &session, &first)
        .await
        .store()
        .await
        .expect("store");
    assert!(
        fetch(url).await == first,
        "the stored report is served whole"
    );
    let (link, _ttl) = store.link(&session).await.expect("link");
    assert!(fetch(link).await == first, "the link serves the report");

    // Dropped unstored: nothing is kept, the earlier report stays.
    let dropped = write(&*store, &session, b"PK-half").await;
    drop(dropped);
    let (link, _) = store.link(&session).await.expect("link");
    assert!(
        fetch(link).await == first,
        "a dropped writer changes nothing"
    );
    let other = format!("{prefix}-report-2");
    drop(write(&*store, &other, b"PK-never-stored").await);
    assert!(
        store.link(&other).await.is_err(),
        "a dropped writer keeps nothing"
    );

    // Two finalize attempts at once: the report is one of them, whole.
    let a = write(&*store, &session, b"PK-second-report").await;
    let b = write(&*store, &session, b"PK-third").await;
    let (ra, rb) = futures::future::join(a.store(), b.store()).await;
    ra.expect("store a");
    rb.expect("store b");
    let (link, _) = store.link(&session).await.expect("link");
    let now = fetch(link).await;
    assert!(
        now == b"PK-second-report" || now == b"PK-third",
        "a report is replaced whole: {:?}",
        String::from_utf8_lossy(&now[..now.len().min(40)])
    );
}
