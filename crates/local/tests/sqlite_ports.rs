//! The engine's shared port suites on the SQLite adapters, and what a restart keeps.

use std::sync::Arc;
use std::time::Duration;

use isoscan_engine::ports::*;
use isoscan_engine::suite;
use isoscan_local::serve::adapters::{FolderUploads, Links, ReportFolder};
use isoscan_local::serve::auth::Signer;
use isoscan_local::sqlite::SqliteState;

fn open(dir: &tempfile::TempDir) -> Arc<SqliteState> {
    Arc::new(SqliteState::open(&dir.path().join("db.sqlite3")).expect("open"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_passes_the_store_suite() {
    let dir = tempfile::tempdir().unwrap();
    suite::session_store(open(&dir), "sql").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_passes_the_event_log_suite() {
    let dir = tempfile::tempdir().unwrap();
    suite::event_log(open(&dir), "sql").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_queue_passes_the_queue_suite() {
    let dir = tempfile::tempdir().unwrap();
    suite::job_queue(open(&dir), "sql").await;
}

#[tokio::test]
async fn folder_uploads_pass_the_upload_store_suite() {
    let dir = tempfile::tempdir().unwrap();
    let up = Arc::new(FolderUploads::new(
        dir.path().to_path_buf(),
        Links {
            base: "http://127.0.0.1:1".into(),
            signer: Signer::from_secret(b"0123456789abcdef0123456789abcdef"),
        },
    ));
    let target = up.clone();
    let put: suite::PutFn = Arc::new(move |t, name, bytes| {
        let dest = target.destination(&t.key, &name).expect("destination");
        assert!(t.url.contains(&t.key), "{}", t.url);
        Box::pin(async move { std::fs::write(dest, bytes).expect("write") })
    });
    suite::upload_store(up, put, "alice").await;
}

#[tokio::test]
async fn the_report_folder_passes_the_reports_suite() {
    let dir = tempfile::tempdir().unwrap();
    let links = Links {
        base: "http://127.0.0.1:1".into(),
        signer: Signer::from_secret(b"0123456789abcdef0123456789abcdef"),
    };
    let folder = Arc::new(ReportFolder {
        dir: dir.path().join("reports"),
        links: links.clone(),
    });
    let held = folder.clone();
    // What the download route does: check the link's signature, serve the session's file.
    let fetch: suite::FetchFn = Arc::new(move |url| {
        let rest = url
            .strip_prefix("http://127.0.0.1:1/reports/")
            .expect("a report link");
        let (file, query) = rest.split_once('?').expect("signed");
        let session = file.strip_suffix(".xlsx").expect("xlsx");
        let q: std::collections::HashMap<&str, &str> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let exp = q["exp"].parse().expect("exp");
        assert!(links.check_report(session, exp, q["sig"]), "{url}");
        let bytes = std::fs::read(held.path(session).expect("path")).expect("report");
        Box::pin(async move { bytes })
    });
    suite::reports(folder, fetch, "dir").await;
    // Nothing is left beside the reports, and they are the user's own.
    let names: Vec<String> = std::fs::read_dir(dir.path().join("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["dir-report-1.xlsx"]);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("reports/dir-report-1.xlsx"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn the_report_file_passes_the_reports_suite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out/report.xlsx");
    let file = Arc::new(isoscan_local::cli::ReportFile::new(path.clone()));
    // Every session's report is the one file the user named.
    let link = isoscan_local::source::file_url(&path);
    let fetch: suite::FetchFn = Arc::new(move |url| {
        assert_eq!(url, link);
        let bytes = std::fs::read(&path).expect("report");
        Box::pin(async move { bytes })
    });
    suite::reports(file.clone(), fetch, "cli").await;
    let names: Vec<_> = std::fs::read_dir(dir.path().join("out")).unwrap().collect();
    assert_eq!(names.len(), 1, "no part file is left");
    // The file is the last stored session's report; the one before has none now.
    assert!(file.link("cli-report-1").await.is_ok());
}

#[tokio::test]
async fn the_folder_source_passes_the_source_suite() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("isos");
    let drawings: std::collections::BTreeMap<String, Vec<u8>> = (0..5)
        .map(|i| {
            (
                format!("area-{}/iso-{i}.pdf", i % 2),
                format!("%PDF drawing {i}").into_bytes(),
            )
        })
        .collect();
    for (path, bytes) in &drawings {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    std::fs::write(root.join("readme.txt"), b"notes").unwrap();
    let src = isoscan_local::source::LocalSource::new(None);
    suite::source(
        Arc::new(src),
        suite::SourceCase {
            location: root.to_string_lossy().into_owned(),
            drawings,
            others: 1,
            missing: dir.path().join("missing").to_string_lossy().into_owned(),
        },
    )
    .await;
}

/// Follows sessions as sockets do: one queue per connection, drained as it fills.
#[derive(Default)]
struct Sockets {
    hub: Arc<isoscan_local::serve::hub::Hub>,
    /// (the session a connection follows, what it received)
    got: Arc<std::sync::Mutex<Vec<(String, isoscan_core::protocol::Envelope)>>>,
    next: std::sync::atomic::AtomicU64,
}

#[async_trait::async_trait]
impl suite::Follower for Sockets {
    async fn follow(&self, session: &str) {
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let (ctl, _ctl_rx) = tokio::sync::mpsc::unbounded_channel();
        let conn = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.hub.follow(session, conn, tx, ctl);
        let (got, following) = (self.got.clone(), session.to_string());
        tokio::spawn(async move {
            while let Some(out) = rx.recv().await {
                let env = serde_json::from_str(&out.json).expect("an envelope");
                got.lock().unwrap().push((following.clone(), env));
            }
        });
    }

    async fn received(&self, session: &str) -> Vec<isoscan_core::protocol::Envelope> {
        let got = self.got.lock().unwrap();
        got.iter()
            .filter(|(following, _)| following == session)
            .map(|(_, e)| e.clone())
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_passes_the_notifier_suite() {
    let sockets = Sockets::default();
    suite::notifier(sockets.hub.clone(), &sockets, "hub").await;
}

#[tokio::test]
async fn a_reopened_database_keeps_sessions_events_and_jobs_in_hand() {
    let dir = tempfile::tempdir().unwrap();
    let job = Job::Finalize {
        session: "s1".into(),
    };
    {
        let db = open(&dir);
        let s = Session::new("s1".into(), "alice".into(), "/d".into(), 1, 0, None, 5);
        db.create(&s, &["A".to_string()]).await.unwrap();
        db.append(
            "s1",
            &isoscan_core::protocol::ServerMessage::Cancelled {
                message: "x".into(),
            },
        )
        .await
        .unwrap();
        db.send(vec![job.clone()]).await.unwrap();
        // Received with a long lease, then the process "dies".
        let got = db
            .receive(1, Duration::from_secs(3600), Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(got.len(), 1);
    }
    let db = open(&dir);
    assert_eq!(
        db.get("s1").await.unwrap().map(|s| s.owner),
        Some("alice".into())
    );
    assert_eq!(db.since("s1", 0, 10).await.unwrap().len(), 1);
    assert_eq!(db.unfinished().await.unwrap().len(), 1);
    // Still leased: not visible until the new process takes back what the old one held.
    assert!(db
        .receive(1, Duration::from_secs(30), Duration::from_millis(100))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(db.recover().await.unwrap(), 1);
    let got = db
        .receive(1, Duration::from_secs(30), Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].job, job);
    assert_eq!(got[0].receive_count, 2);
}
