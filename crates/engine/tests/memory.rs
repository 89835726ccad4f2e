//! The shared port suites on the in-memory adapters, and whole scans through the use cases.

use std::sync::Arc;
use std::time::Duration;

use isoscan_core::protocol::{ErrorCode, ServerMessage, UploadPurpose};
use isoscan_core::result::Outcome;
use isoscan_core::targets::TargetList;
use isoscan_engine::memory::*;
use isoscan_engine::ports::*;
use isoscan_engine::suite;
use isoscan_engine::{
    Engine, EngineConfig, EngineError, JobOutcome, Ports, ScanRequest, UploadQuota,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_the_store_suite() {
    suite::session_store(Arc::new(MemoryStore::new()), "mem").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_the_event_log_suite() {
    suite::event_log(Arc::new(MemoryStore::new()), "mem").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_queue_passes_the_queue_suite() {
    suite::job_queue(Arc::new(MemoryQueue::new()), "mem").await;
}

#[tokio::test]
async fn memory_uploads_pass_the_upload_store_suite() {
    let up = Arc::new(MemoryUploads::new());
    let target = up.clone();
    let put: suite::PutFn = Arc::new(move |t, name, bytes| {
        let target = target.clone();
        Box::pin(async move { target.put(&t.key, &name, bytes).expect("put") })
    });
    suite::upload_store(up, put, "alice").await;
}

/// What `request_upload` answers, and the key of the upload it made.
async fn ask_upload(
    e: &Engine,
    owner: &str,
    name: &str,
    size: u64,
    purpose: UploadPurpose,
    key: Option<&str>,
) -> Result<String, EngineError> {
    match e.request_upload(owner, name, size, purpose, key).await? {
        ServerMessage::UploadUrl { key, .. } => Ok(key),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_upload_policy_holds_whatever_the_store() {
    let up = Arc::new(MemoryUploads::new());
    let mut r = rig(MemorySource::default());
    let mut ports = r.engine.ports.clone();
    ports.uploads = up.clone();
    let config = EngineConfig {
        upload_quota: Some(UploadQuota {
            waiting: 2,
            bytes: 1000,
        }),
        ..EngineConfig::default()
    };
    r.engine = Arc::new(Engine::new(ports, config));
    let e = &r.engine;
    use UploadPurpose::{Drawings, Targets};

    // Kinds by name, and sizes.
    for (name, purpose) in [
        ("run.exe", Drawings),
        (".pdf", Drawings),
        ("a.pdf", Targets),
        ("codes.xlsx", Drawings),
        ("", Targets),
    ] {
        let r = ask_upload(e, "alice", name, 10, purpose, None).await;
        assert!(
            matches!(&r, Err(e) if e.client_code() == ErrorCode::BadRequest),
            "{name} as {purpose:?}: {r:?}"
        );
    }
    let big = ask_upload(
        e,
        "alice",
        "codes.xlsx",
        64 * 1024 * 1024 + 1,
        Targets,
        None,
    )
    .await;
    assert!(matches!(big, Err(EngineError::InvalidRequest(m)) if m.contains("at most 64 MiB")));
    // An archive of drawings may be far larger than any one drawing: only the quota counts it.
    let archive = ask_upload(e, "alice", "site.zip", 2 << 30, Drawings, None).await;
    assert!(
        matches!(&archive, Err(e) if e.client_code() == ErrorCode::Quota),
        "{archive:?}"
    );
    // A path is reduced to its file's name.
    let list = ask_upload(e, "alice", "C:\\lists\\codes.csv", 6, Targets, None)
        .await
        .expect("list");
    assert_eq!(up.meta(&list).await.unwrap().owner, "alice");

    // Owners and purposes.
    let drawings = ask_upload(e, "alice", "a.pdf", 4, Drawings, None)
        .await
        .expect("drawings");
    let code = |r: Result<String, EngineError>| r.map_err(|e| e.client_code());
    assert_eq!(
        code(ask_upload(e, "bob", "b.pdf", 4, Drawings, Some(&drawings)).await),
        Err(ErrorCode::Forbidden)
    );
    assert_eq!(
        code(ask_upload(e, "alice", "b.csv", 4, Targets, Some(&drawings)).await),
        Err(ErrorCode::BadUpload)
    );
    assert_eq!(
        code(ask_upload(e, "alice", "b.pdf", 4, Drawings, Some(&list)).await),
        Err(ErrorCode::BadUpload)
    );
    // Nothing has arrived yet.
    assert!(matches!(
        e.read_list_upload("alice", &list, 1 << 20).await,
        Err(UploadError::NotFound(_))
    ));
    assert!(matches!(
        e.check_drawings_upload("alice", &drawings).await,
        Err(UploadError::NotFound(_))
    ));
    // The quota: two uploads wait already.
    assert_eq!(
        code(ask_upload(e, "alice", "c.pdf", 4, Drawings, None).await),
        Err(ErrorCode::Quota)
    );
    assert!(ask_upload(e, "bob", "c.pdf", 4, Drawings, None)
        .await
        .is_ok());
    up.put(&list, "codes.csv", b"A\nB\nC\n".to_vec()).unwrap();
    up.put(&drawings, "a.pdf", b"%PDF".to_vec()).unwrap();
    // Files joining an upload are not new uploads waiting; bytes still count.
    let same = ask_upload(e, "alice", "b.pdf", 4, Drawings, Some(&drawings))
        .await
        .expect("joins");
    assert_eq!(same, drawings);
    assert_eq!(
        code(ask_upload(e, "alice", "huge.pdf", 991, Drawings, None).await),
        Err(ErrorCode::Quota)
    );

    // Reading back.
    assert_eq!(
        e.read_list_upload("alice", &list, 1 << 20).await.unwrap(),
        ("codes.csv".to_string(), b"A\nB\nC\n".to_vec())
    );
    assert!(matches!(
        e.read_list_upload("bob", &list, 1 << 20).await,
        Err(UploadError::Forbidden(_))
    ));
    assert!(matches!(
        e.read_list_upload("alice", &list, 3).await,
        Err(UploadError::Invalid(_))
    ));
    assert!(matches!(
        e.read_list_upload("alice", &drawings, 1 << 20).await,
        Err(UploadError::Invalid(_))
    ));
    e.check_drawings_upload("alice", &drawings)
        .await
        .expect("arrived");
    assert!(matches!(
        e.check_drawings_upload("bob", &drawings).await,
        Err(UploadError::Forbidden(_))
    ));
    assert!(matches!(
        e.check_drawings_upload("alice", &list).await,
        Err(UploadError::Invalid(_))
    ));
}

#[tokio::test]
async fn memory_reports_pass_the_reports_suite() {
    let reports = Arc::new(MemoryReports::default());
    let held = reports.reports.clone();
    let fetch: suite::FetchFn = Arc::new(move |url| {
        let session = url
            .strip_prefix("memory://")
            .expect("memory url")
            .to_string();
        let bytes = held.lock().expect("lock").get(&session).cloned();
        Box::pin(async move { bytes.expect("a stored report") })
    });
    suite::reports(reports, fetch, "mem").await;
}

struct Rig {
    engine: Arc<Engine>,
    store: Arc<MemoryStore>,
    notifier: Arc<MemoryNotifier>,
    reports: Arc<MemoryReports>,
}

fn rig(source: MemorySource) -> Rig {
    rig_with(source, EngineConfig::default())
}

fn rig_with(source: MemorySource, config: EngineConfig) -> Rig {
    let store = Arc::new(MemoryStore::new());
    let notifier = Arc::new(MemoryNotifier::default());
    let reports = Arc::new(MemoryReports::default());
    let ports = Ports {
        sessions: store.clone(),
        events: store.clone(),
        queue: Arc::new(MemoryQueue::new()),
        source: Arc::new(source),
        extractor: Arc::new(TextExtractor),
        ocr: Some(Arc::new(MemoryOcr::default())),
        notifier: notifier.clone(),
        reports: reports.clone(),
        uploads: Arc::new(isoscan_engine::memory::MemoryUploads::new()),
        clock: Arc::new(SystemClock),
    };
    Rig {
        engine: Arc::new(Engine::new(ports, config)),
        store,
        notifier,
        reports,
    }
}

/// Starts a scan of the memory source without a list.
async fn start(r: &Rig) -> Session {
    r.engine
        .start_scan(ScanRequest {
            owner: "me".into(),
            source: "memory:".into(),
            targets: None,
            pattern: None,
        })
        .await
        .unwrap()
}

async fn run_until_final(r: &Rig, id: &str, workers: usize) -> Session {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut handles = vec![];
    for _ in 0..workers {
        let e = r.engine.clone();
        let rx = rx.clone();
        handles.push(tokio::spawn(async move { e.work(rx).await }));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let s = loop {
        let s = r.store.get(id).await.unwrap().unwrap();
        if s.status.is_final() || std::time::Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let _ = tx.send(true);
    for h in handles {
        let _ = h.await;
    }
    s
}

fn source(n: usize) -> MemorySource {
    let mut s = MemorySource {
        page_size: 7,
        ..Default::default()
    };
    for i in 0..n {
        let text = match i % 4 {
            0 => format!("see HC-{i:04} (typ.)\u{c}page two HC-9999"),
            1 => "nothing here".to_string(),
            2 => format!("HC-{i:04}1 is not HC-{i:04}"),
            _ => "\u{c}".to_string(),
        };
        s.files
            .insert(format!("dir{}/f{i:03}.pdf", i % 3), text.into_bytes());
    }
    s.files.insert("notes.txt".into(), b"HC-0000".to_vec());
    s.files.insert("dir0/bad.pdf".into(), vec![0xff, 0xfe]);
    s.broken.push("dir1/f001.pdf".into());
    *s.transient.lock().unwrap() = 3;
    s
}

/// What a memory notifier was given, by session.
struct Sent(Arc<MemoryNotifier>);

#[async_trait::async_trait]
impl suite::Follower for Sent {
    async fn follow(&self, _session: &str) {}

    async fn received(&self, session: &str) -> Vec<isoscan_core::protocol::Envelope> {
        let sent = self.0.sent.lock().unwrap();
        sent.iter()
            .filter(|e| e.session_id == session)
            .cloned()
            .collect()
    }
}

#[tokio::test]
async fn memory_source_passes_the_source_suite() {
    let drawings: std::collections::BTreeMap<String, Vec<u8>> = (0..5)
        .map(|i| {
            (
                format!("d{}/f{i}.pdf", i % 2),
                format!("drawing {i}").into_bytes(),
            )
        })
        .collect();
    let mut s = MemorySource {
        page_size: 2,
        ..Default::default()
    };
    s.files.extend(drawings.clone());
    s.files.insert("notes.txt".into(), b"notes".to_vec());
    suite::source(
        Arc::new(s),
        suite::SourceCase {
            location: "memory:".into(),
            drawings,
            others: 1,
            missing: "memory:nowhere".into(),
        },
    )
    .await;
}

#[tokio::test]
async fn memory_notifier_passes_the_notifier_suite() {
    let n = Arc::new(MemoryNotifier::default());
    suite::notifier(n.clone(), &Sent(n), "mem").await;
}

#[tokio::test]
async fn memory_ocr_passes_the_ocr_suite() {
    suite::ocr(
        Arc::new(MemoryOcr::default()),
        suite::OcrCase {
            bytes: format!("plan HC-1\u{c}{SCANNED} HC-2 weld\u{c}{SCANNED}HC-3").into_bytes(),
            page_count: 3,
            scanned_page: 2,
            reads: "HC-2".into(),
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanned_pages_are_read_by_ocr_once_and_marked() {
    let mut files = MemorySource::default();
    for (name, text) in [
        ("vector.pdf", "HC-1 on the sheet".to_string()),
        ("scan.pdf", format!("{SCANNED} HC-2\u{c}HC-3 in text")),
        ("broken-scan.pdf", format!("{SCANNED}!unreadable")),
    ] {
        files.files.insert(name.into(), text.into_bytes());
    }
    let codes = ["HC-1", "HC-2", "HC-3"].map(String::from).to_vec();
    let list = TargetList {
        codes,
        duplicates: 0,
        sheet: "Sheet1".into(),
        column: "A".into(),
        header: None,
    };
    for with_ocr in [true, false] {
        let mut r = rig(MemorySource {
            files: files.files.clone(),
            ..Default::default()
        });
        let ocr = Arc::new(MemoryOcr::default());
        let mut ports = r.engine.ports.clone();
        ports.ocr = with_ocr.then(|| ocr.clone() as Arc<dyn Ocr>);
        r.engine = Arc::new(Engine::new(ports, EngineConfig::default()));
        let s = r
            .engine
            .start_scan(ScanRequest {
                owner: "me".into(),
                source: "memory:".into(),
                targets: Some(list.clone()),
                pattern: None,
            })
            .await
            .unwrap();
        let done = run_until_final(&r, &s.id, 2).await;
        let results = r.store.results(&s.id, None, 100).await.unwrap();
        let read = |path: &str| {
            results
                .iter()
                .find(|f| f.file.path == path)
                .map(|f| f.outcome.clone())
                .unwrap()
        };
        match read("scan.pdf") {
            Outcome::Read {
                codes,
                ocr,
                needs_ocr,
                ..
            } if with_ocr => {
                assert_eq!(codes, ["HC-2", "HC-3"]);
                assert!(ocr, "a code seen on a page OCR read marks the file");
                assert!(needs_ocr.is_empty());
            }
            Outcome::Read {
                codes, needs_ocr, ..
            } => {
                assert_eq!(codes, ["HC-3"]);
                assert_eq!(needs_ocr, [1]);
            }
            other => panic!("{other:?}"),
        }
        match read("vector.pdf") {
            Outcome::Read { codes, ocr, .. } => {
                assert_eq!(codes, ["HC-1"]);
                assert!(!ocr);
            }
            other => panic!("{other:?}"),
        }
        let broken = read("broken-scan.pdf");
        assert_eq!(
            matches!(broken, Outcome::Error { .. }),
            with_ocr,
            "an unreadable scan is a FILE_ERROR when OCR runs: {broken:?}"
        );
        // Only pages without text went to OCR.
        let pages_read = ocr.pages_read.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(pages_read, usize::from(with_ocr));
        assert_eq!(done.errors, u64::from(with_ocr));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scan_counts_every_file_once_and_completes_once() {
    let r = rig(source(40));
    let targets = TargetList {
        codes: vec![
            "HC-0000".into(),
            "HC-9999".into(),
            "HC-0002".into(),
            "NOPE-1".into(),
        ],
        duplicates: 2,
        sheet: "Sheet1".into(),
        column: "A".into(),
        header: None,
    };
    let s = r
        .engine
        .start_scan(ScanRequest {
            owner: "me".into(),
            source: "memory:".into(),
            targets: Some(targets),
            pattern: None,
        })
        .await
        .unwrap();
    let done = run_until_final(&r, &s.id, 4).await;
    assert_eq!(done.status, SessionStatus::Complete);
    // 41 .pdf names (40 + bad.pdf), notes.txt skipped.
    assert_eq!((done.total, done.processed, done.skipped), (41, 41, 1));
    // bad.pdf is not text; f001 cannot be fetched.
    assert_eq!(done.errors, 2);
    // The ten files with i % 4 == 0 hold HC-9999 (f000 also HC-0000); f002 holds HC-0002.
    assert_eq!(done.matches, 11);
    let sent = r.notifier.sent.lock().unwrap().clone();
    let seqs: Vec<u64> = sent.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=sent.len() as u64).collect::<Vec<_>>());
    assert!(matches!(sent[0].message, ServerMessage::Started { .. }));
    let completes: Vec<_> = sent
        .iter()
        .filter(|e| matches!(e.message, ServerMessage::Complete { .. }))
        .collect();
    assert_eq!(completes.len(), 1);
    assert!(
        matches!(sent.last().unwrap().message, ServerMessage::Complete { .. }),
        "{:?}",
        &sent[sent.len().saturating_sub(3)..]
    );
    match &completes[0].message {
        ServerMessage::Complete {
            total_files,
            total_processed,
            errors,
            skipped,
            codes_found,
            codes_not_found,
            total_matches,
            needs_ocr,
            ..
        } => {
            // f003, f007, ... f039 have no text at all.
            assert_eq!(*needs_ocr, 10);
            assert_eq!(
                (
                    *total_files,
                    *total_processed,
                    *errors,
                    *skipped,
                    *total_matches
                ),
                (42, 41, 2, 1, 11)
            );
            assert_eq!(
                codes_found,
                &vec![
                    "HC-0000".to_string(),
                    "HC-9999".to_string(),
                    "HC-0002".to_string()
                ]
            );
            assert_eq!(codes_not_found, &vec!["NOPE-1".to_string()]);
        }
        _ => unreachable!(),
    }
    let last_progress = sent.iter().rev().find_map(|e| match &e.message {
        ServerMessage::Progress {
            processed,
            total,
            value,
            ..
        } => Some((*processed, *total, *value)),
        _ => None,
    });
    assert_eq!(last_progress, Some((41, 41, 100)));
    // Progress never goes backwards.
    let processed: Vec<u64> = sent
        .iter()
        .filter_map(|e| match &e.message {
            ServerMessage::Progress { processed, .. } => Some(*processed),
            _ => None,
        })
        .collect();
    assert!(processed.windows(2).all(|w| w[0] <= w[1]), "{processed:?}");
    let matches: Vec<_> = sent
        .iter()
        .filter_map(|e| match &e.message {
            ServerMessage::MatchFound { data } => Some(data.clone()),
            _ => None,
        })
        .collect();
    let f000 = matches.iter().find(|m| m.path == "dir0/f000.pdf").unwrap();
    assert_eq!(f000.codes, vec!["HC-0000", "HC-9999"]);
    assert_eq!(f000.pages.get("HC-9999"), Some(&vec![2]));
    assert!(r.reports.reports.lock().unwrap().contains_key(&s.id));
    // A redelivered finalize job changes nothing and sends no second COMPLETE.
    r.engine.finalize(&s.id).await.unwrap();
    let n = r
        .notifier
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e.message, ServerMessage::Complete { .. }))
        .count();
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivered_batches_change_nothing() {
    let r = rig(source(12));
    let s = start(&r).await;
    let done = run_until_final(&r, &s.id, 2).await;
    assert_eq!(done.status, SessionStatus::Complete);
    let before = r.store.get(&s.id).await.unwrap().unwrap();
    // Every batch again, as a queue that redelivers would.
    let files: Vec<_> = r
        .store
        .results(&s.id, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.file)
        .collect();
    for chunk in files.chunks(10) {
        r.engine.process_batch(&s.id, chunk, 2, None).await.unwrap();
    }
    r.engine.list_source(&s.id, None).await.unwrap();
    assert_eq!(r.store.get(&s.id).await.unwrap().unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_the_scan_and_checks_the_owner() {
    let r = rig(source(30));
    let s = start(&r).await;
    assert!(matches!(
        r.engine.cancel(&s.id, "someone-else").await,
        Err(isoscan_engine::EngineError::Forbidden(_))
    ));
    r.engine.cancel(&s.id, "me").await.unwrap();
    let done = run_until_final(&r, &s.id, 2).await;
    assert_eq!(done.status, SessionStatus::Cancelled);
    assert!(r
        .notifier
        .sent
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e.message, ServerMessage::Cancelled { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_before_anything_starts() {
    let r = rig(source(1));
    let e = r
        .engine
        .start_scan(ScanRequest {
            owner: "me".into(),
            source: "elsewhere".into(),
            targets: None,
            pattern: None,
        })
        .await;
    assert!(matches!(
        e,
        Err(isoscan_engine::EngineError::Source(SourceError::NotFound(
            _
        )))
    ));
    let e = r
        .engine
        .start_scan(ScanRequest {
            owner: "me".into(),
            source: "memory:".into(),
            targets: None,
            pattern: Some("(".into()),
        })
        .await;
    assert!(matches!(
        e,
        Err(isoscan_engine::EngineError::InvalidRequest(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_that_keep_failing_are_recorded_as_errors_after_five_receives() {
    let src = source(6);
    // Every fetch fails as a throttle would, more times than a job is tried.
    *src.transient.lock().unwrap() = 1_000;
    let config = EngineConfig {
        retry_base: Duration::from_millis(1),
        ..EngineConfig::default()
    };
    let r = rig_with(src, config);
    let s = start(&r).await;
    let done = run_until_final(&r, &s.id, 2).await;
    assert_eq!(done.status, SessionStatus::Complete);
    assert_eq!((done.processed, done.errors), (7, 7));
    let results = r.store.results(&s.id, None, 100).await.unwrap();
    assert!(results.iter().all(|x| matches!(&x.outcome, isoscan_core::result::Outcome::Error { reason } if reason.contains("gave up"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiring_links_are_signed_anew_for_the_report_and_for_a_client_that_asks() {
    use calamine::Reader;
    let mut src = source(20);
    src.expiring_links = true;
    let r = rig(src);
    let s = start(&r).await;
    let s = run_until_final(&r, &s.id, 2).await;
    assert_eq!(s.status, SessionStatus::Complete);
    let live: Vec<String> = r
        .notifier
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match &e.message {
            ServerMessage::MatchFound { data } => Some(data.pdf_link.clone()),
            _ => None,
        })
        .collect();
    assert!(
        !live.is_empty() && live.iter().all(|l| l.contains("?listed")),
        "{live:?}"
    );
    // The report's links were signed when it was written.
    let bytes = r.reports.reports.lock().unwrap()[&s.id].clone();
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).expect("xlsx");
    let rows = book.worksheet_range("Processing Results").expect("sheet");
    let links: Vec<String> = rows
        .rows()
        .skip(1)
        .map(|row| row.get(3).map(|c| c.to_string()).unwrap_or_default())
        .collect();
    // Without a list every drawing read is a row.
    assert!(links.len() >= live.len());
    assert!(
        links
            .iter()
            .all(|f| f.contains("?signed=") && !f.contains("?listed")),
        "{links:?}"
    );
    // A client asking gets links signed for it, anew each time.
    let snapshot = |m: ServerMessage| match m {
        ServerMessage::SyncState { matches, .. } => {
            matches.into_iter().map(|m| m.pdf_link).collect::<Vec<_>>()
        }
        other => panic!("{other:?}"),
    };
    let first = snapshot(r.engine.sync_state(&s.id, "me", None, false).await.unwrap());
    let second = snapshot(r.engine.sync_state(&s.id, "me", None, false).await.unwrap());
    assert_eq!(first.len(), live.len());
    assert!(
        first
            .iter()
            .all(|l| l.contains("?signed=") && l.contains("#page=")),
        "{first:?}"
    );
    assert!(first.iter().zip(&second).all(|(a, b)| a != b));
}

/// The length of `m` as the client gets it.
fn wire_len(session: &str, m: &ServerMessage) -> usize {
    let env = isoscan_core::protocol::Envelope {
        session_id: session.into(),
        seq: u64::MAX,
        ts: Some(u64::MAX),
        req_id: Some("r".repeat(64)),
        message: m.clone(),
    };
    serde_json::to_string(&env).unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_thousand_codes_complete_in_messages_that_fit_and_a_report_with_every_code() {
    use calamine::Reader;
    use isoscan_core::protocol::{COMPLETE_CODES_MAX, MESSAGE_MAX};
    let r = rig(plain_source(40));
    let codes: Vec<String> = (0..50_000).map(|i| format!("HC-{i:04}")).collect();
    let s = r
        .engine
        .start_scan(ScanRequest {
            owner: "me".into(),
            source: "memory:".into(),
            targets: Some(TargetList {
                codes,
                duplicates: 0,
                sheet: "Sheet1".into(),
                column: "A".into(),
                header: None,
            }),
            pattern: None,
        })
        .await
        .unwrap();
    let done = run_until_final(&r, &s.id, 4).await;
    assert_eq!(done.status, SessionStatus::Complete);
    let complete = r
        .notifier
        .sent
        .lock()
        .unwrap()
        .iter()
        .find(|e| matches!(e.message, ServerMessage::Complete { .. }))
        .cloned()
        .expect("COMPLETE");
    assert!(wire_len(&s.id, &complete.message) <= MESSAGE_MAX);
    let ServerMessage::Complete {
        codes_found,
        codes_not_found,
        codes_found_count,
        codes_not_found_count,
        codes_truncated,
        ..
    } = &complete.message
    else {
        unreachable!()
    };
    // f000, f004, ... f036 hold HC-0000, HC-0004, ... HC-0036.
    assert_eq!((*codes_found_count, *codes_not_found_count), (10, 49_990));
    assert!(codes_truncated);
    assert_eq!(codes_found.len(), 10);
    assert_eq!(codes_not_found.len(), COMPLETE_CODES_MAX);
    // In list order.
    assert_eq!(&codes_not_found[..3], ["HC-0001", "HC-0002", "HC-0003"]);
    // A client that reloads gets the counts and the cut lists, in one message that fits.
    let sync = r.engine.sync_state(&s.id, "me", None, true).await.unwrap();
    assert!(wire_len(&s.id, &sync) <= MESSAGE_MAX);
    let ServerMessage::SyncState { session, .. } = &sync else {
        panic!("{sync:?}")
    };
    assert_eq!(session.codes_not_found_count, 49_990);
    assert!(session.codes_truncated);
    // The report lists every code.
    let bytes = r.reports.reports.lock().unwrap()[&s.id].clone();
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).expect("xlsx");
    let rows = book.worksheet_range("Codes").expect("sheet");
    assert_eq!(rows.rows().count(), 50_001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reload_after_5000_matches_gets_every_row_in_messages_that_fit() {
    use isoscan_core::protocol::{ClientMessage, MESSAGE_MAX};
    use isoscan_engine::Step;
    let mut src = MemorySource {
        page_size: 500,
        ..Default::default()
    };
    for i in 0..5_000 {
        src.files.insert(
            format!(
                "area-{:02}/line-{i:05}/isometric-drawing-{i:05}.pdf",
                i % 50
            ),
            format!("see HC-{i:05} and HC-{:05}", i + 1).into_bytes(),
        );
    }
    let r = rig(src);
    let s = start(&r).await;
    let done = run_until_final(&r, &s.id, 4).await;
    assert_eq!(
        (done.status, done.matches),
        (SessionStatus::Complete, 5_000)
    );
    // A client reloads with nothing; each `subscribe` gets a snapshot and one page of the log
    // after it (as a replay cut short by its time would), then subscribes again from there.
    let mut rows = std::collections::HashSet::new();
    let mut since = None;
    let mut snapshots = 0;
    loop {
        let steps = r
            .engine
            .answer(
                "me",
                ClientMessage::Subscribe {
                    session_id: s.id.clone(),
                    since,
                    original: false,
                },
            )
            .await;
        let mut last = None;
        let mut replayed = 0;
        for step in steps {
            match step {
                Step::Reply { message, .. } => {
                    assert!(wire_len(&s.id, &message) <= MESSAGE_MAX);
                    let ServerMessage::SyncState {
                        matches, last_seq, ..
                    } = message
                    else {
                        panic!("{message:?}")
                    };
                    assert!(last_seq >= since.unwrap_or(0));
                    snapshots += 1;
                    rows.extend(matches.into_iter().map(|m| m.path));
                    last = Some(last_seq);
                }
                Step::Follow { since: from, .. } => {
                    assert_eq!(
                        Some(from),
                        last,
                        "the follow starts where the snapshot ends"
                    );
                    let page = r.engine.replay(&s.id, from, 1_000).await.unwrap();
                    replayed = page.len();
                    for env in page {
                        assert!(env.seq > from);
                        last = Some(env.seq);
                        if let ServerMessage::MatchFound { data } = env.message {
                            rows.insert(data.path);
                        }
                    }
                }
            }
        }
        if replayed == 0 {
            break;
        }
        since = last;
    }
    assert_eq!(rows.len(), 5_000);
    // More than one snapshot, none of them the whole log.
    assert!(snapshots > 2, "{snapshots}");
}

/// A memory source of `n` drawings as text, every fourth with a code, listed 7 to a page.
fn plain_source(n: usize) -> MemorySource {
    let mut s = MemorySource {
        page_size: 7,
        ..Default::default()
    };
    for i in 0..n {
        let text = if i % 4 == 0 {
            format!("see HC-{i:04}")
        } else {
            "nothing here".to_string()
        };
        s.files
            .insert(format!("dir{}/f{i:03}.pdf", i % 3), text.into_bytes());
    }
    s
}

fn fault_ports(n: usize) -> Ports {
    let store = Arc::new(MemoryStore::new());
    Ports {
        sessions: store.clone(),
        events: store,
        queue: Arc::new(MemoryQueue::new()),
        source: Arc::new(plain_source(n)),
        extractor: Arc::new(TextExtractor),
        ocr: None,
        notifier: Arc::new(MemoryNotifier::default()),
        reports: Arc::new(MemoryReports::default()),
        uploads: Arc::new(isoscan_engine::memory::MemoryUploads::new()),
        clock: Arc::new(SystemClock),
    }
}

/// Every call of a 50-file scan fails once, then stops its invocation once, each in a run of
/// its own; every run ends COMPLETE with exact counts, each result once and COMPLETE once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fault_at_any_call_of_a_scan_leaves_it_exact() {
    use suite::faults::{every_fault, Delivering, Fault};
    let how = Delivering {
        visibility: Duration::from_millis(15),
        drain_wait: Duration::from_millis(30),
        twice: false,
    };
    let (calls, swept) = every_fault(
        || async { fault_ports(50) },
        "memory:",
        50,
        &[Fault::Fail, Fault::Stop],
        how,
        1,
    )
    .await;
    // Every file is at least fetched, read, recorded and checked for: the loop covered them.
    assert!(calls > 4 * 50, "{calls} calls");
    // A finalize claimed and never queued is the sweeper's to find.
    assert!(swept > 0, "no run needed the sweeper");
}

/// A job's files are recorded in one write with the session's counters, and PROGRESS is
/// claimed once for them, not once per file: 50 files listed 7 to a page make 8 jobs, so 8
/// writes (one contended write on the session item per job instead of two per file).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_jobs_files_are_recorded_in_one_write() {
    use suite::faults::{assert_exact, run_scan, Delivering, Faults};
    let how = Delivering {
        visibility: Duration::from_millis(15),
        drain_wait: Duration::from_millis(30),
        twice: false,
    };
    let ports = fault_ports(50);
    let faults = Arc::new(Faults::default());
    let end = run_scan(&ports, &faults, None, "memory:", how).await;
    assert_exact(&ports, &end, 50, "one write a job").await;
    const { assert!(isoscan_engine::FILES_PER_JOB >= 7) };
    let jobs = 50u64.div_ceil(7);
    assert_eq!(faults.calls_of("record_many"), jobs);
    assert!(faults.calls_of("claim_progress") <= jobs);
}

/// Two workers on every message at once, with a fault at any call: still exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicate_deliveries_with_a_fault_leave_a_scan_exact() {
    use suite::faults::{every_fault, Delivering, Fault};
    let how = Delivering {
        visibility: Duration::from_millis(15),
        drain_wait: Duration::from_millis(30),
        twice: true,
    };
    every_fault(
        || async { fault_ports(20) },
        "memory:",
        20,
        &[Fault::Fail, Fault::Stop],
        how,
        1,
    )
    .await;
}

/// A batch given an instant already past starts no file and hands back every one as a job;
/// given time, it runs them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_past_its_instant_hands_back_the_files_it_did_not_start() {
    let r = rig(plain_source(12));
    let s = start(&r).await;
    let queue = r.engine.ports.queue.clone();
    let list = queue
        .receive(10, Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(r.engine.run_job(&list[0], None).await, JobOutcome::Done);
    let batch = queue
        .receive(10, Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap()
        .into_iter()
        .find(|d| matches!(d.job, Job::Files { .. }))
        .expect("a file batch");
    let outcome = r
        .engine
        .run_job(&batch, Some(std::time::Instant::now()))
        .await;
    assert_eq!(outcome, JobOutcome::Rest(batch.job.clone()));
    assert_eq!(r.store.get(&s.id).await.unwrap().unwrap().processed, 0);
    let later = std::time::Instant::now() + Duration::from_secs(60);
    assert_eq!(
        r.engine.run_job(&batch, Some(later)).await,
        JobOutcome::Done
    );
    let Job::Files { files, .. } = &batch.job else {
        unreachable!()
    };
    assert_eq!(
        r.store.get(&s.id).await.unwrap().unwrap().processed,
        files.len() as u64
    );
}
