//! The same drawings in a local folder, under an S3 prefix (moto) and in a Drive folder (the
//! repository's Drive v3 server): `isoscan scan` and `isoscan serve` give the same matches from
//! all three.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use isoscan_drive::testing::{serve_in_thread, FakeDrive, ACCOUNT};
use isoscan_pdfgen::{code_list, write_corpus, DrawingOptions};
use serde_json::{json, Value};
use support::*;

const ROOT: &str = "projectroot00000000000000";
const UNSHARED: &str = "notshared0000000000000000";

struct Remote {
    dir: tempfile::TempDir,
    codes: Vec<String>,
    drive: Arc<FakeDrive>,
    env: Vec<(String, String)>,
    key: PathBuf,
    s3: String,
}

impl Remote {
    fn folder(&self) -> String {
        self.dir.path().join("root/drawings").display().to_string()
    }
    fn drive_link(&self) -> String {
        format!("https://drive.google.com/drive/folders/{ROOT}?usp=sharing")
    }
}

fn files_under(dir: &Path, base: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            files_under(&p, base, out);
        } else {
            let rel = p
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, std::fs::read(&p).expect("read")));
        }
    }
}

fn setup(n: usize) -> Remote {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = dir.path().join("root/drawings");
    let mut truth = BTreeMap::new();
    for (sub, count, seed) in [("Area A", n / 2, 3), ("Area B/Line 1", n - n / 2, 4)] {
        let t = write_corpus(
            &local.join(sub),
            count,
            seed,
            DrawingOptions {
                small: true,
                ..Default::default()
            },
        )
        .expect("corpus");
        truth.extend(t.into_iter().map(|(k, v)| (format!("{sub}/{k}"), v)));
    }
    std::fs::write(local.join("notes.txt"), "not a drawing").unwrap();
    let codes = code_list(&truth, 40);
    let mut files = vec![];
    files_under(&local, &local, &mut files);

    let drive = FakeDrive::new("unused");
    drive.folder(ROOT, "Project", None);
    drive.folder(UNSHARED, "Private", None);
    for (rel, bytes) in &files {
        if rel.ends_with(".pdf") {
            drive.put_path(ROOT, rel, bytes.clone());
        } else {
            drive.file(
                "notes0000000000000000000",
                rel,
                ROOT,
                "text/plain",
                bytes.clone(),
            );
        }
    }
    drive.behave(|b| {
        b.page_cap = 5;
        b.empty_pages = true;
        b.rate_limited_once.insert(ROOT.into());
        b.not_shared.insert(UNSHARED.into());
    });
    let endpoint = serve_in_thread(drive.clone());
    let key = dir.path().join("service-account.json");
    std::fs::write(&key, drive.service_account_key()).unwrap();

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let bucket = rt.block_on(async {
        let conf = isoscan_aws::testing::config().await;
        let s3 = isoscan_aws::testing::s3(&conf);
        let bucket = isoscan_aws::testing::unique("drawings").to_lowercase();
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("bucket");
        for (rel, bytes) in &files {
            s3.put_object()
                .bucket(&bucket)
                .key(format!("site/drawings/{rel}"))
                .body(bytes.clone().into())
                .send()
                .await
                .expect("put");
        }
        bucket
    });
    let env = vec![
        ("ISOSCAN_DRIVE_ENDPOINT".into(), endpoint),
        ("AWS_ENDPOINT_URL".into(), isoscan_aws::testing::endpoint()),
        ("AWS_ACCESS_KEY_ID".into(), "test".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("AWS_S3_FORCE_PATH_STYLE".into(), "true".into()),
    ];
    Remote {
        codes,
        drive,
        env,
        key,
        s3: format!("s3://{bucket}/site/drawings"),
        dir,
    }
}

/// `isoscan scan LOCATION`: (exit success, stderr, events).
fn scan(r: &Remote, location: &str, extra: &[&str], name: &str) -> (bool, String, Vec<Value>) {
    let run = scan_command(location, &r.codes, extra, &r.env, r.dir.path(), name);
    (run.ok, run.stderr, run.events)
}

/// path -> codes of every MATCH_FOUND.
fn matches(msgs: &[Value]) -> BTreeMap<String, Vec<String>> {
    msgs.iter()
        .filter(|m| m["type"] == "MATCH_FOUND")
        .map(|m| {
            let mut codes: Vec<String> = m["data"]["codes"]
                .as_array()
                .expect("codes")
                .iter()
                .map(|c| c.as_str().unwrap_or("").to_string())
                .collect();
            codes.sort();
            (m["data"]["path"].as_str().unwrap_or("").to_string(), codes)
        })
        .collect()
}

fn totals(msgs: &[Value]) -> Vec<Value> {
    let done = msgs.last().expect("events");
    assert_eq!(done["type"], "COMPLETE", "{done}");
    [
        "total_files",
        "total_processed",
        "total_matches",
        "errors",
        "skipped",
        "codes_found",
    ]
    .iter()
    .map(|k| done[*k].clone())
    .collect()
}

#[test]
fn a_folder_an_s3_prefix_and_a_drive_folder_give_the_same_matches() {
    let r = setup(24);
    let key = r.key.display().to_string();
    let (ok, err, local) = scan(&r, &r.folder(), &[], "local");
    assert!(ok, "{err}");
    let (ok, err, s3) = scan(&r, &r.s3, &[], "s3");
    assert!(ok, "{err}");
    let (ok, err, drive) = scan(&r, &r.drive_link(), &["--drive-credentials", &key], "drive");
    assert!(ok, "{err}");
    assert!(matches(&local).len() > 5);
    assert!(matches(&local)
        .keys()
        .any(|p| p.starts_with("Area B/Line 1/")));
    assert_eq!(matches(&s3), matches(&local));
    assert_eq!(matches(&drive), matches(&local));
    assert_eq!(totals(&s3), totals(&local));
    assert_eq!(totals(&drive), totals(&local));
    // Drive's links open the file in Drive; S3's are presigned.
    let link = |msgs: &[Value]| {
        msgs.iter()
            .find(|m| m["type"] == "MATCH_FOUND")
            .map(|m| m["data"]["pdf_link"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    assert!(
        link(&drive).starts_with("https://drive.google.com/file/d/"),
        "{}",
        link(&drive)
    );
    assert!(link(&s3).contains("X-Amz-Signature"), "{}", link(&s3));
    // The 429 on the first page was retried; short and empty pages were followed.
    assert!(r.drive.refusals.load(std::sync::atomic::Ordering::Relaxed) >= 1);
}

#[test]
fn drive_errors_say_what_to_do() {
    let r = setup(2);
    let key = r.key.display().to_string();
    // No credentials at all.
    let (ok, err, _) = scan(&r, &r.drive_link(), &[], "nocreds");
    assert!(!ok);
    assert!(err.contains("--drive-credentials"), "{err}");
    // A folder not shared with the service account: its address, and what to do.
    let (ok, err, _) = scan(
        &r,
        &format!("https://drive.google.com/drive/u/0/folders/{UNSHARED}"),
        &["--drive-credentials", &key],
        "unshared",
    );
    assert!(!ok);
    assert!(err.contains(ACCOUNT) && err.contains("share"), "{err}");
    // Not a folder link.
    let (ok, err, _) = scan(
        &r,
        "https://drive.google.com/drive/my-drive",
        &["--drive-credentials", &key],
        "badlink",
    );
    assert!(!ok);
    assert!(err.contains("drive.google.com/drive/folders/"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isoscan_serve_scans_drive_and_s3_like_a_folder() {
    let r = tokio::task::spawn_blocking(|| setup(12)).await.unwrap();
    let key = r.key.display().to_string();
    // The operator allows this bucket's prefix and Drive.
    let server = Server::start_with_env(
        &r.dir.path().join("data"),
        &r.dir.path().join("root"),
        &[
            "--jobs",
            "2",
            "--drive-credentials",
            &key,
            "--allow-drive",
            "--allow-s3",
            &r.s3,
        ],
        &r.env,
    );
    let mut alice = server.client(ALICE).await;
    let mut got = vec![];
    for location in [r.folder(), r.s3.clone(), r.drive_link()] {
        alice.start(&location, &r.codes).await;
        let msgs = alice.until(is_end).await;
        assert_eq!(msgs.last().unwrap()["type"], "COMPLETE", "{location}");
        got.push((matches(&msgs), totals(&msgs)));
    }
    assert!(!got[0].0.is_empty());
    assert_eq!(got[1], got[0], "S3");
    assert_eq!(got[2], got[0], "Drive");
}

/// The original dashboard's messages, in its order, against `isoscan serve`: `start_scan` with
/// a Drive link and the codes, then, as when its page reloads, `reconnect` on a new connection
/// and its heartbeat. The SYNC_STATE restores its progress bar, table and download link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_dashboard_reloads_against_isoscan_serve() {
    let r = tokio::task::spawn_blocking(|| setup(12)).await.unwrap();
    let key = r.key.display().to_string();
    let server = Server::start_with_env(
        &r.dir.path().join("data"),
        &r.dir.path().join("root"),
        &["--jobs", "1", "--drive-credentials", &key, "--allow-drive"],
        &r.env,
    );
    let mut page = server.client(ALICE).await;
    page.send(
        json!({"action": "start_scan", "drive_link": r.drive_link(), "target_hole_codes": r.codes}),
    )
    .await;
    let started = page
        .until(|m| m["type"] == "STARTED" || m["type"] == "ERROR")
        .await
        .pop()
        .unwrap();
    assert_eq!(started["type"], "STARTED", "{started}");
    let session = started["session_id"].as_str().unwrap().to_string();

    // Reloaded while the scan runs (or just after, on a fast machine).
    let mut reloaded = server.client(ALICE).await;
    reloaded
        .send(json!({"action": "reconnect", "session_id": session}))
        .await;
    let sync = reloaded
        .until(|m| m["type"] == "SYNC_STATE" || m["type"] == "ERROR")
        .await
        .pop()
        .unwrap();
    assert_eq!(sync["type"], "SYNC_STATE", "{sync}");
    let (processed, total) = (
        sync["processed_count"].as_u64().unwrap(),
        sync["total_files"].as_u64().unwrap(),
    );
    assert!(processed <= total, "{sync}");
    match sync["status"].as_str() {
        Some("IN_PROGRESS") => {
            assert!(sync.get("download_url").is_none(), "{sync}");
            assert_eq!(
                sync["message"],
                format!("Processing: {processed}/{total} files")
            );
        }
        Some("COMPLETE") => assert_eq!(sync["progress"], 100),
        other => panic!("status {other:?}: {sync}"),
    }
    // The reloaded page follows the scan to its end, and its heartbeat is answered.
    let end = reloaded.until(is_end).await.pop().unwrap();
    assert_eq!(end["type"], "COMPLETE", "{end}");
    reloaded.send(json!({"action": "ping"})).await;
    assert_eq!(
        reloaded.next_within(60).await.expect("a reply")["type"],
        "PONG"
    );

    // Reloaded after it completed.
    let msgs = page.until(is_end).await;
    let mut again = server.client(ALICE).await;
    again
        .send(json!({"action": "reconnect", "session_id": session}))
        .await;
    let sync = again
        .until(|m| m["type"] == "SYNC_STATE")
        .await
        .pop()
        .unwrap();
    assert_eq!(sync["status"], "COMPLETE", "{sync}");
    assert_eq!(sync["progress"], 100);
    assert_eq!(sync["processed_count"], end["total_processed"]);
    assert_eq!(sync["total_files"], end["total_processed"]);
    assert_eq!(sync["message"], end["message"]);
    assert_eq!(sync["download_url"], end["download_url"]);
    let row = |m: &Value| {
        let f = |k: &str| m[k].as_str().unwrap_or_default().to_string();
        (f("hole_code"), f("file_name"), f("status"), f("pdf_link"))
    };
    let live: std::collections::BTreeSet<_> = msgs
        .iter()
        .filter(|m| m["type"] == "MATCH_FOUND")
        .map(|m| row(&m["data"]))
        .collect();
    let shown: Vec<_> = sync["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(row)
        .collect();
    assert!(!live.is_empty());
    assert_eq!(shown.len(), live.len(), "one row a drawing");
    assert_eq!(
        shown.into_iter().collect::<std::collections::BTreeSet<_>>(),
        live
    );
    // Its "Download Final Excel" link.
    let (status, body) = http("GET", sync["download_url"].as_str().unwrap(), b"").await;
    assert_eq!(status, 200);
    assert!(body.starts_with(b"PK"));
}
