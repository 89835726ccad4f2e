//! The shared port suites. Every adapter of a port (memory here; SQLite and AWS elsewhere) runs
//! the same suite, so no adapter is looser than another. Each function panics on a violation.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use isoscan_core::protocol::ServerMessage;
use isoscan_core::result::{FileRef, FileResult, Outcome};

use crate::ports::*;

pub mod faults;
mod notifier;
mod ocr;
mod reports;
mod source;
mod uploads;
pub use notifier::{notifier, Follower};
pub use ocr::{ocr, OcrCase};
pub use reports::{reports, FetchFn};
pub use source::{source, SourceCase};
pub use uploads::{upload_store, PutFn};

fn result(path: &str, codes: &[&str], error: bool) -> FileResult {
    let file = FileRef {
        id: None,
        path: path.into(),
        size: Some(1),
        link: format!("file:///{path}"),
    };
    let outcome = if error {
        Outcome::Error {
            reason: "damaged".into(),
        }
    } else {
        Outcome::Read {
            codes: codes.iter().map(|c| c.to_string()).collect(),
            pages: codes
                .iter()
                .map(|c| (c.to_string(), vec![1]))
                .collect::<BTreeMap<_, _>>(),
            ocr: false,
            needs_ocr: vec![],
        }
    };
    FileResult { file, outcome }
}

/// `SessionStore`: conditional create, exact counters under redelivery and concurrency, one
/// finalize winner, paginated results, progress claims.
pub async fn session_store(store: Arc<dyn SessionStore>, prefix: &str) {
    let id = format!("{prefix}-s1");
    let s = Session::new(
        id.clone(),
        "alice".into(),
        "/drawings".into(),
        2,
        1,
        None,
        1000,
    );
    let targets = vec!["A".to_string(), "B".to_string()];
    store.create(&s, &targets).await.expect("create");
    assert_eq!(
        store.create(&s, &[]).await,
        Err(StoreError::AlreadyExists(id.clone()))
    );
    assert_eq!(store.targets(&id).await.expect("targets"), targets);
    assert_eq!(store.get(&id).await.expect("get"), Some(s.clone()));
    assert_eq!(
        store
            .get(&format!("{prefix}-missing"))
            .await
            .expect("get missing"),
        None
    );

    // Listing: counted once per page, whatever the cursor's length; a retry gets the cursor
    // the first count recorded, not the one it brings.
    let long_cursor = format!(
        "{{\"pending\":[{}]}}",
        vec!["\"1AbCdEfGhIjKlMnOpQrStUvWxYz0123\""; 150].join(",")
    );
    let Listed::Counted(after) = store
        .add_listed(&id, "", Some(&long_cursor), 3, 1)
        .await
        .expect("list")
    else {
        panic!("the first count of a page counts");
    };
    assert_eq!(
        (after.total, after.skipped, after.listing_done),
        (3, 1, false)
    );
    assert_eq!(
        store
            .add_listed(&id, "", Some("another-token"), 3, 1)
            .await
            .expect("list again"),
        Listed::Repeated {
            next: Some(long_cursor.clone())
        }
    );
    assert!(!store
        .try_begin_finalize(&id, 2000)
        .await
        .expect("finalize early"));

    // Results: written once, counters exact.
    let r1 = result("a/x.pdf", &["A"], false);
    match store.record(&id, &r1).await.expect("record") {
        Recorded::Inserted(s) => assert_eq!((s.processed, s.matches, s.errors), (1, 1, 0)),
        other => panic!("{other:?}"),
    }
    match store.record(&id, &r1).await.expect("record again") {
        Recorded::Duplicate(s) => assert_eq!((s.processed, s.matches), (1, 1)),
        other => panic!("{other:?}"),
    }
    assert!(store.has_result(&id, "a/x.pdf").await.expect("has"));
    assert!(!store.has_result(&id, "b/x.pdf").await.expect("has not"));
    // Same file name in another folder is another file.
    store
        .record(&id, &result("b/x.pdf", &[], true))
        .await
        .expect("record b");
    let s = store.get(&id).await.expect("get").expect("some");
    assert_eq!((s.processed, s.matches, s.errors), (2, 1, 1));

    // Concurrent redeliveries of one file count once.
    let r3 = result("c/y.pdf", &["B"], false);
    let mut handles = vec![];
    for _ in 0..8 {
        let store = store.clone();
        let id = id.clone();
        let r3 = r3.clone();
        handles.push(tokio::spawn(async move { store.record(&id, &r3).await }));
    }
    let mut inserted = 0;
    for h in handles {
        if let Ok(Ok(Recorded::Inserted(_))) = h.await {
            inserted += 1;
        }
    }
    assert_eq!(inserted, 1);
    // Several results in one write: the new ones counted, those in already and a path given
    // twice left alone; racing writers of overlapping sets count each path once; more than
    // one transaction holds.
    let id3 = format!("{prefix}-many");
    store
        .create(
            &Session::new(id3.clone(), "alice".into(), "/d".into(), 1, 0, None, 1000),
            &[],
        )
        .await
        .expect("create many");
    store
        .record(&id3, &result("m/0.pdf", &["A"], false))
        .await
        .expect("one");
    let batch = vec![
        result("m/0.pdf", &["A"], false),
        result("m/1.pdf", &["A"], false),
        result("m/2.pdf", &[], true),
        result("m/1.pdf", &["A"], false),
        result("m/3.pdf", &[], false),
    ];
    let done = store.record_many(&id3, &batch).await.expect("many");
    assert_eq!(done.inserted, vec![false, true, true, false, true]);
    assert_eq!(
        (
            done.session.processed,
            done.session.matches,
            done.session.errors
        ),
        (4, 2, 1)
    );
    let again = store.record_many(&id3, &batch).await.expect("many again");
    assert_eq!(again.inserted, vec![false; 5]);
    assert_eq!(again.session.processed, 4);
    let mut handles = vec![];
    for w in 0..4usize {
        let (store, id3) = (store.clone(), id3.clone());
        // Writer w: files w*5 .. w*5+10, so each file is in two writers' sets.
        let set: Vec<FileResult> = (w * 5..w * 5 + 10)
            .map(|i| result(&format!("race/{i:02}.pdf"), &["B"], false))
            .collect();
        handles.push(tokio::spawn(async move {
            store.record_many(&id3, &set).await.map(|d| d.inserted)
        }));
    }
    let mut counted = 0;
    for h in handles {
        counted += h
            .await
            .expect("join")
            .expect("race")
            .iter()
            .filter(|i| **i)
            .count();
    }
    assert_eq!(counted, 25);
    let large: Vec<FileResult> = (0..RECORD_MAX + 31)
        .map(|i| result(&format!("large/{i:03}.pdf"), &[], false))
        .collect();
    let done = store.record_many(&id3, &large).await.expect("large");
    assert!(done.inserted.iter().all(|i| *i));
    assert_eq!(done.session.processed, 4 + 25 + RECORD_MAX as u64 + 31);
    assert_eq!(
        store.record_many(&format!("{prefix}-nobody"), &batch).await,
        Err(StoreError::NotFound(format!("{prefix}-nobody")))
    );

    // All processed but listing not done: no finalize.
    assert!(!store.try_begin_finalize(&id, 2000).await.expect("not yet"));
    assert!(matches!(
        store
            .add_listed(&id, &long_cursor, None, 0, 0)
            .await
            .expect("done"),
        Listed::Counted(s) if s.listing_done
    ));
    assert_eq!(
        store
            .add_listed(&id, &long_cursor, None, 0, 0)
            .await
            .expect("done again"),
        Listed::Repeated { next: None }
    );
    // Exactly one of many concurrent callers wins finalize.
    let mut handles = vec![];
    for _ in 0..8 {
        let store = store.clone();
        let id = id.clone();
        handles.push(tokio::spawn(async move {
            store.try_begin_finalize(&id, 3000).await
        }));
    }
    let mut claims = vec![];
    for h in handles {
        claims.push(h.await.expect("join"));
    }
    let wins = claims.iter().filter(|c| matches!(c, Ok(true))).count();
    assert_eq!(wins, 1, "one winner: {claims:?}");
    let s = store.get(&id).await.expect("get").expect("some");
    assert_eq!(
        (s.status, s.status_since_ms),
        (SessionStatus::Finalizing, 3000)
    );
    assert!(store
        .transition(
            &id,
            SessionStatus::Finalizing,
            SessionStatus::Complete,
            5000,
            Some("url".into())
        )
        .await
        .expect("complete"));
    assert!(!store
        .transition(
            &id,
            SessionStatus::Finalizing,
            SessionStatus::Complete,
            6000,
            None
        )
        .await
        .expect("again"));
    let s = store.get(&id).await.expect("get").expect("some");
    assert_eq!(
        (
            s.status,
            s.finished_at_ms,
            s.report_url.as_deref(),
            s.status_since_ms
        ),
        (SessionStatus::Complete, Some(5000), Some("url"), 5000)
    );

    // Results page in path order.
    let id2 = format!("{prefix}-s2");
    store
        .create(
            &Session::new(id2.clone(), "bob".into(), "/d".into(), 0, 0, None, 0),
            &[],
        )
        .await
        .expect("create 2");
    for i in (0..25).rev() {
        store
            .record(&id2, &result(&format!("f{i:03}.pdf"), &[], false))
            .await
            .expect("record");
    }
    let mut seen = vec![];
    let mut after: Option<String> = None;
    loop {
        let page = store
            .results(&id2, after.as_deref(), 10)
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        after = page.last().map(|r| r.file.path.clone());
        seen.extend(page.into_iter().map(|r| r.file.path));
    }
    let expected: Vec<String> = (0..25).map(|i| format!("f{i:03}.pdf")).collect();
    assert_eq!(seen, expected);

    // Paths of any length, each its own result: two long paths that differ only at the end,
    // and a short one that sorts between them.
    let deep = format!("{}/", "a-folder-name-of-forty-characters-------".repeat(50));
    let long = [format!("{deep}1.pdf"), format!("{deep}2.pdf")];
    for p in &long {
        assert!(!store.has_result(&id2, p).await.expect("has long"));
        assert!(matches!(
            store.record(&id2, &result(p, &[], false)).await,
            Ok(Recorded::Inserted(_))
        ));
        assert!(matches!(
            store.record(&id2, &result(p, &[], false)).await,
            Ok(Recorded::Duplicate(_))
        ));
        assert!(store.has_result(&id2, p).await.expect("has long"));
    }
    let mut all = vec![];
    let mut after: Option<String> = None;
    loop {
        let page = store
            .results(&id2, after.as_deref(), 7)
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        after = page.last().map(|r| r.file.path.clone());
        all.extend(page.into_iter().map(|r| r.file.path));
    }
    assert_eq!(all.len(), 27, "every result once, long paths whole");
    for p in &long {
        assert_eq!(all.iter().filter(|a| *a == p).count(), 1);
    }
    let s2 = store.get(&id2).await.expect("get").expect("some");
    assert_eq!(s2.processed, 27);
    assert!(store
        .results(&id, None, 10)
        .await
        .expect("results")
        .iter()
        .any(|r| r == &r1));

    // Progress claims at most every interval.
    assert!(store
        .claim_progress(&id2, 10_000, 250)
        .await
        .expect("claim"));
    assert!(!store
        .claim_progress(&id2, 10_100, 250)
        .await
        .expect("too soon"));
    assert!(store
        .claim_progress(&id2, 10_250, 250)
        .await
        .expect("later"));
    assert!(matches!(
        store
            .add_listed(&format!("{prefix}-nope"), "", None, 1, 0)
            .await,
        Err(StoreError::NotFound(_))
    ));

    // Sessions that have not ended, per owner: running and finalizing count, ended ones not.
    let owner = format!("{prefix}-carol");
    assert_eq!(store.active(&owner).await.expect("none yet"), 0);
    for (i, to) in [
        None,
        Some(SessionStatus::Finalizing),
        Some(SessionStatus::Cancelled),
    ]
    .into_iter()
    .enumerate()
    {
        let sid = format!("{prefix}-carol-{i}");
        let s = Session::new(sid.clone(), owner.clone(), "/d".into(), 0, 0, None, 0);
        store.create(&s, &[]).await.expect("create carol's");
        if let Some(to) = to {
            assert!(store
                .transition(&sid, SessionStatus::Running, to, 1, None)
                .await
                .expect("move"));
        }
    }
    assert_eq!(store.active(&owner).await.expect("active"), 2);
    // Whoever started them, what has not ended is what the sweeper looks over.
    let unfinished: Vec<Session> = store
        .unfinished()
        .await
        .expect("unfinished")
        .into_iter()
        .filter(|s| s.id.starts_with(&format!("{prefix}-carol-")))
        .collect();
    let mut ids: Vec<(String, SessionStatus)> = unfinished
        .iter()
        .map(|s| (s.id.clone(), s.status))
        .collect();
    ids.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        ids,
        [
            (format!("{prefix}-carol-0"), SessionStatus::Running),
            (format!("{prefix}-carol-1"), SessionStatus::Finalizing)
        ]
    );
    assert!(store
        .unfinished()
        .await
        .expect("unfinished")
        .iter()
        .all(|s| !s.status.is_final()));
    assert_eq!(
        store
            .active(&format!("{prefix}-dave"))
            .await
            .expect("other"),
        0
    );
}

/// `EventLog`: `seq` from 1 per session, replay after `since`.
pub async fn event_log(log: Arc<dyn EventLog>, prefix: &str) {
    let a = format!("{prefix}-ev-a");
    let b = format!("{prefix}-ev-b");
    for i in 0..5u64 {
        let e = log
            .append(
                &a,
                &ServerMessage::Progress {
                    value: i as u8,
                    processed: i,
                    total: 5,
                    matches: 0,
                    errors: 0,
                },
            )
            .await
            .expect("append");
        assert_eq!((e.seq, e.session_id.as_str()), (i + 1, a.as_str()));
    }
    let e = log
        .append(
            &b,
            &ServerMessage::Cancelled {
                message: "x".into(),
            },
        )
        .await
        .expect("append b");
    assert_eq!(e.seq, 1);
    let all = log.since(&a, 0, 100).await.expect("since 0");
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    let tail = log.since(&a, 3, 100).await.expect("since 3");
    assert_eq!(tail.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 5]);
    assert_eq!(log.since(&a, 1, 2).await.expect("limit").len(), 2);
    assert!(log
        .since(&format!("{prefix}-none"), 0, 10)
        .await
        .expect("none")
        .is_empty());
    // Concurrent appends get distinct seqs.
    let mut handles = vec![];
    for _ in 0..10 {
        let log = log.clone();
        let b = b.clone();
        handles.push(tokio::spawn(async move {
            log.append(
                &b,
                &ServerMessage::Cancelled {
                    message: "y".into(),
                },
            )
            .await
            .map(|e| e.seq)
        }));
    }
    let mut seqs = vec![];
    for h in handles {
        seqs.push(h.await.expect("join").expect("append"));
    }
    seqs.sort();
    assert_eq!(seqs, (2..=11).collect::<Vec<u64>>());
}

/// `JobQueue`: delivery, acknowledgement, redelivery after the visibility timeout with a
/// growing receive count, retry with delay.
pub async fn job_queue(queue: Arc<dyn JobQueue>, prefix: &str) {
    let s = format!("{prefix}-q");
    let jobs: Vec<Job> = (0..3)
        .map(|i| Job::List {
            session: s.clone(),
            cursor: Some(i.to_string()),
        })
        .collect();
    queue.send(jobs.clone()).await.expect("send");
    let got = queue
        .receive(10, Duration::from_millis(300), Duration::from_secs(2))
        .await
        .expect("receive");
    assert_eq!(got.len(), 3);
    let mut received: Vec<Job> = got.iter().map(|d| d.job.clone()).collect();
    received.sort_by_key(|j| format!("{j:?}"));
    assert_eq!(received, jobs);
    assert!(got.iter().all(|d| d.receive_count == 1));
    // Hidden while in flight.
    assert!(queue
        .receive(10, Duration::from_millis(300), Duration::from_millis(50))
        .await
        .expect("hidden")
        .is_empty());
    queue.ack(&got[0].receipt).await.expect("ack");
    // A second acknowledgement changes nothing; SQS answers it with success, others refuse it.
    assert!(matches!(
        queue.ack(&got[0].receipt).await,
        Ok(()) | Err(QueueError::UnknownReceipt)
    ));
    queue
        .retry(&got[1].receipt, Duration::from_millis(100))
        .await
        .expect("retry");
    // got[2] is never acknowledged: delivered again after its visibility timeout.
    let mut again = vec![];
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while again.len() < 2 && std::time::Instant::now() < deadline {
        again.extend(
            queue
                .receive(10, Duration::from_secs(30), Duration::from_millis(500))
                .await
                .expect("redeliver"),
        );
    }
    assert_eq!(again.len(), 2);
    assert!(again.iter().all(|d| d.receive_count == 2));
    for d in &again {
        queue.ack(&d.receipt).await.expect("ack again");
    }
    assert!(queue
        .receive(10, Duration::from_secs(30), Duration::from_millis(400))
        .await
        .expect("empty")
        .is_empty());
}
