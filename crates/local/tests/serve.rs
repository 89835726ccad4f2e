//! `isoscan serve` over a real WebSocket: the whole flow, bad requests, auth and ownership,
//! reconnect, cancel, two sessions at once, uploads, and a server killed mid-scan.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use calamine::{Reader, Xlsx};
use futures::StreamExt;
use isoscan_pdfgen::{code_list, write_corpus, DrawingOptions};
use serde_json::{json, Value};
use support::*;

struct Corpus {
    dir: tempfile::TempDir,
    codes: Vec<String>,
}

impl Corpus {
    fn new(n: usize, small: bool) -> Corpus {
        let dir = tempfile::tempdir().expect("tempdir");
        let truth = write_corpus(
            &dir.path().join("root/drawings"),
            n,
            7,
            DrawingOptions {
                small,
                ..Default::default()
            },
        )
        .expect("corpus");
        std::fs::write(dir.path().join("root/drawings/notes.txt"), "not a drawing").unwrap();
        std::fs::write(
            dir.path().join("root/drawings/broken.pdf"),
            "%PDF-1.4 garbage",
        )
        .unwrap();
        let codes = code_list(&truth, 40);
        Corpus { dir, codes }
    }
    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
    fn folder(&self) -> String {
        self.root().join("drawings").display().to_string()
    }
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

/// path -> codes of every MATCH_FOUND.
fn matches(msgs: &[Value]) -> BTreeMap<String, Vec<String>> {
    msgs.iter()
        .filter(|m| m["type"] == "MATCH_FOUND")
        .map(|m| {
            let codes = m["data"]["codes"]
                .as_array()
                .expect("codes")
                .iter()
                .map(|c| c.as_str().unwrap_or("").to_string())
                .collect();
            (m["data"]["path"].as_str().unwrap_or("").to_string(), codes)
        })
        .collect()
}

fn seqs(msgs: &[Value]) -> Vec<u64> {
    msgs.iter()
        .filter_map(|m| m["seq"].as_u64())
        .filter(|s| *s > 0)
        .collect()
}

fn scan_command(folder: &str, codes: &[String], dir: &Path) -> Vec<Value> {
    let list = dir.join("codes.txt");
    std::fs::write(&list, codes.join("\n")).unwrap();
    let events = dir.join("events.ndjson");
    let out = Command::new(env!("CARGO_BIN_EXE_isoscan"))
        .args(["scan", folder, "--targets"])
        .arg(&list)
        .arg("--out")
        .arg(dir.join("scan.xlsx"))
        .arg("--events")
        .arg(&events)
        .output()
        .expect("isoscan scan");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_over_the_socket_gives_what_the_command_gives_and_a_report() {
    let c = Corpus::new(60, true);
    let server = Server::start(&c.data(), &c.root(), &["--jobs", "2"]);
    let mut alice = server.client(ALICE).await;
    let session = alice.start(&c.folder(), &c.codes).await;
    let msgs = alice.until(is_end).await;
    let done = msgs.last().unwrap();
    assert_eq!(done["type"], "COMPLETE", "{done}");
    assert_eq!(done["total_processed"], 61);
    assert_eq!(done["total_files"], 62);
    assert_eq!(done["skipped"], 1);
    assert_eq!(done["errors"], 1);
    // Every message of the session, in order, none twice.
    let s = seqs(&msgs);
    assert_eq!(s, (2..=s.len() as u64 + 1).collect::<Vec<_>>());
    assert!(msgs.iter().all(|m| m["session_id"] == session.as_str()));

    let cli = scan_command(&c.folder(), &c.codes, c.dir.path());
    assert_eq!(matches(&msgs), matches(&cli));
    assert!(!matches(&msgs).is_empty());
    let cli_done = cli.last().unwrap();
    for k in [
        "total_matches",
        "total_processed",
        "errors",
        "codes_found",
        "codes_not_found",
    ] {
        assert_eq!(done[k], cli_done[k], "{k}");
    }

    // The drawing link opens the drawing (at its first page), served by this server.
    let m = msgs.iter().find(|m| m["type"] == "MATCH_FOUND").unwrap();
    let link = m["data"]["pdf_link"].as_str().unwrap();
    assert!(link.starts_with(&server.url("/drawings?")), "{link}");
    assert!(link.contains("#page="), "{link}");
    let (status, body) = http("GET", link.split('#').next().unwrap(), b"").await;
    assert_eq!(status, 200);
    assert!(body.starts_with(b"%PDF"));
    let forged = link.split('#').next().unwrap().replace("iso_", "isx_");
    assert_eq!(http("GET", &forged, b"").await.0, 403);

    // The report downloads and reads back; the link is for this session only.
    let url = done["download_url"].as_str().unwrap();
    let (status, bytes) = http("GET", url, b"").await;
    assert_eq!(status, 200);
    let mut wb = Xlsx::new(std::io::Cursor::new(bytes)).expect("xlsx");
    let rows = wb.worksheet_range("Processing Results").expect("sheet");
    assert_eq!(rows.height() - 1, matches(&msgs).len());
    let codes = wb.worksheet_range("Codes").expect("codes sheet");
    assert_eq!(codes.height() - 1, c.codes.len());
    assert_eq!(
        http("GET", &url.replace(&session, "other-session"), b"")
            .await
            .0,
        403
    );
    let expired = url.replace("exp=", "exp=1");
    assert_eq!(http("GET", &expired, b"").await.0, 403);
    // get_report signs a fresh link.
    let r = alice
        .ask(
            json!({"action": "get_report", "session_id": session}),
            "REPORT_URL",
        )
        .await;
    assert_eq!(r["type"], "REPORT_URL", "{r}");
    assert_eq!(
        http("GET", r["download_url"].as_str().unwrap(), b"")
            .await
            .0,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_a_clear_error_and_the_connection_stays_open() {
    let c = Corpus::new(2, true);
    let server = Server::start(&c.data(), &c.root(), &["--jobs", "1"]);
    let mut alice = server.client(ALICE).await;
    let big = format!(r#"{{"action":"ping","pad":"{}"}}"#, "x".repeat(130 * 1024));
    let outside = tempfile::tempdir().unwrap();
    let cases: Vec<(String, &str, &str)> = vec![
        ("{not json".into(), "malformed", "JSON"),
        ("[1,2]".into(), "no_action", "action"),
        (r#"{"action":"dance"}"#.into(), "unknown_action", "dance"),
        (r#"{"action":"subscribe"}"#.into(), "bad_request", "session_id"),
        (r#"{"action":"subscribe","session_id":7}"#.into(), "bad_request", "session_id"),
        (r#"{"action":"start_scan"}"#.into(), "bad_request", "drive_link"),
        (big, "too_large", "too large"),
        (r#"{"action":"subscribe","session_id":"nope"}"#.into(), "unknown_session", "nope"),
        (r#"{"action":"cancel_scan","session_id":"nope"}"#.into(), "unknown_session", "nope"),
        (r#"{"action":"get_report","session_id":"nope"}"#.into(), "unknown_session", "nope"),
        (
            json!({"action":"start_scan","drive_link": outside.path(),"target_hole_codes":["A"]}).to_string(),
            "source_forbidden",
            "allowed folders",
        ),
        (
            json!({"action":"start_scan","drive_link": format!("{}/../..", c.folder()),"target_hole_codes":["A"]}).to_string(),
            "source_forbidden",
            "..",
        ),
        (
            json!({"action":"start_scan","drive_link": c.root().join("missing"),"target_hole_codes":["A"]}).to_string(),
            "source_not_found",
            "does not exist",
        ),
        (
            json!({"action":"start_scan","drive_link": c.folder(),"file_content":"%%%"}).to_string(),
            "bad_request",
            "base64",
        ),
        (
            json!({"action":"check_targets","file_content":"aGVsbG8="}).to_string(),
            "bad_request",
            "code list",
        ),
        (
            json!({"action":"start_scan","drive_link":"upload:0123456789abcdef0123456789abcdef","target_hole_codes":["A"]}).to_string(),
            "unknown_upload",
            "unknown upload",
        ),
        (
            json!({"action":"request_upload","file_name":"x.exe","size":3,"purpose":"drawings"}).to_string(),
            "bad_request",
            ".pdf",
        ),
    ];
    for (text, code, says) in cases {
        alice.send_text(text.clone()).await;
        let m = alice.next().await;
        assert_eq!(m["type"], "ERROR", "{text:.80}: {m}");
        assert_eq!(m["code"], code, "{text:.80}: {m}");
        let msg = m["message"].as_str().unwrap();
        assert!(msg.contains(says), "{text:.80}: {msg}");
        // Still open.
        assert_eq!(
            alice.ask(json!({"action":"ping"}), "PONG").await["type"],
            "PONG"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_ownership() {
    let c = Corpus::new(20, true);
    let server = Server::start(&c.data(), &c.root(), &["--jobs", "1"]);
    // No token, a wrong token: refused before the upgrade.
    for url in [
        format!("ws://127.0.0.1:{}/ws", server.port),
        format!(
            "ws://127.0.0.1:{}/ws?token=wrong-token-0123456789",
            server.port
        ),
    ] {
        match tokio_tungstenite::connect_async(url).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
            other => panic!("connected without a valid token: {:?}", other.map(|_| ())),
        }
    }
    let mut alice = server.client(ALICE).await;
    let mut bob = server.client(BOB).await;
    let session = alice.start(&c.folder(), &c.codes).await;
    for action in ["subscribe", "cancel_scan", "get_report"] {
        let m = bob
            .ask(json!({"action": action, "session_id": session}), "NONE")
            .await;
        assert_eq!(m["type"], "ERROR", "{action}: {m}");
        assert_eq!(m["code"], "forbidden", "{action}: {m}");
    }
    let done = alice.until(is_end).await;
    assert_eq!(done.last().unwrap()["type"], "COMPLETE");
    // Bob saw nothing of alice's scan; his report request stays refused after completion.
    let m = bob
        .ask(
            json!({"action": "get_report", "session_id": session}),
            "REPORT_URL",
        )
        .await;
    assert_eq!(m["code"], "forbidden");
    // Bob's uploads are his own.
    let up = alice
        .ask(
            json!({"action":"request_upload","file_name":"codes.csv","size":4,"purpose":"targets"}),
            "UPLOAD_URL",
        )
        .await;
    assert_eq!(
        http("PUT", up["url"].as_str().unwrap(), b"A\nB\n").await.0,
        204
    );
    let m = bob
        .ask(
            json!({"action":"check_targets","targets_upload": up["key"]}),
            "TARGETS",
        )
        .await;
    assert_eq!(m["code"], "forbidden", "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_of_a_code_list_and_of_drawings() {
    let c = Corpus::new(12, true);
    let server = Server::start(&c.data(), &c.root(), &["--jobs", "2"]);
    let mut alice = server.client(ALICE).await;
    // A code list with a header, a duplicate and a blank.
    let csv = format!("Hole Code\n{}\n{}\n\n", c.codes.join("\n"), c.codes[0]);
    let up = alice
        .ask(
            json!({"action":"request_upload","file_name":"list.csv","size":csv.len(),"purpose":"targets"}),
            "UPLOAD_URL",
        )
        .await;
    assert_eq!(up["type"], "UPLOAD_URL", "{up}");
    let url = up["url"].as_str().unwrap();
    // Wrong size, then right.
    assert_eq!(http("PUT", url, b"short").await.0, 400);
    assert_eq!(http("PUT", url, csv.as_bytes()).await.0, 204);
    let t = alice
        .ask(
            json!({"action":"check_targets","targets_upload": up["key"]}),
            "TARGETS",
        )
        .await;
    assert_eq!(t["count"], c.codes.len() as u64, "{t}");
    assert_eq!(t["duplicates"], 1);
    assert_eq!(t["sample"][0], c.codes[0].as_str());
    assert_eq!(t["column"], "A");

    // Drawings: a zip in one upload; two loose PDFs in another.
    let mut zipped = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut zipped);
        for i in 0..12 {
            let name = format!("area-00/iso_{i:05}.pdf");
            z.start_file(&name, zip::write::SimpleFileOptions::default())
                .unwrap();
            let bytes = std::fs::read(c.root().join("drawings").join(&name)).unwrap();
            std::io::Write::write_all(&mut z, &bytes).unwrap();
        }
        z.finish().unwrap();
    }
    let zipped = zipped.into_inner();
    let up = alice
        .ask(
            json!({"action":"request_upload","file_name":"isos.zip","size":zipped.len(),"purpose":"drawings"}),
            "UPLOAD_URL",
        )
        .await;
    assert_eq!(
        http("PUT", up["url"].as_str().unwrap(), &zipped).await.0,
        204
    );
    let key = up["key"].as_str().unwrap();
    let m = alice
        .ask(
            json!({"action":"start_scan","drive_link": format!("upload:{key}"),"targets_upload": t["session_id"].as_str().map(|_| Value::Null).unwrap_or(Value::Null), "target_hole_codes": c.codes}),
            "STARTED",
        )
        .await;
    assert_eq!(m["type"], "STARTED", "{m}");
    let from_zip = alice.until(is_end).await;
    let done = from_zip.last().unwrap();
    assert_eq!(done["type"], "COMPLETE", "{done}");
    assert_eq!(done["total_processed"], 12);
    let folder_scan = {
        let s = alice.start(&c.folder(), &c.codes).await;
        let msgs = alice.until(is_end).await;
        assert!(msgs.iter().all(|m| m["session_id"] == s.as_str()));
        msgs
    };
    let expected: BTreeMap<String, Vec<String>> = matches(&folder_scan)
        .into_iter()
        .filter(|(p, _)| p.starts_with("area-00/iso_000"))
        .collect();
    assert_eq!(matches(&from_zip), expected);

    let first = alice
        .ask(
            json!({"action":"request_upload","file_name":"a.pdf","size":4,"purpose":"drawings"}),
            "UPLOAD_URL",
        )
        .await;
    let key = first["key"].as_str().unwrap().to_string();
    let a = std::fs::read(c.root().join("drawings/area-00/iso_00000.pdf")).unwrap();
    let b = std::fs::read(c.root().join("drawings/area-00/iso_00001.pdf")).unwrap();
    let first = alice
        .ask(
            json!({"action":"request_upload","file_name":"a.pdf","size":a.len(),"purpose":"drawings","key":key}),
            "UPLOAD_URL",
        )
        .await;
    let second = alice
        .ask(
            json!({"action":"request_upload","file_name":"b.pdf","size":b.len(),"purpose":"drawings","key":key}),
            "UPLOAD_URL",
        )
        .await;
    assert_eq!(http("PUT", first["url"].as_str().unwrap(), &a).await.0, 204);
    assert_eq!(
        http("PUT", second["url"].as_str().unwrap(), &b).await.0,
        204
    );
    let s = alice.start(&format!("upload:{key}"), &c.codes).await;
    let msgs = alice.until(is_end).await;
    let done = msgs.last().unwrap();
    assert_eq!(done["total_processed"], 2, "{done}");
    assert!(msgs.iter().all(|m| m["session_id"] == s.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reconnects_with_since_misses_nothing() {
    let c = Corpus::new(300, true);
    let server = Server::start(&c.data(), &c.root(), &["--jobs", "1"]);
    let mut first = server.client(ALICE).await;
    let session = first.start(&c.folder(), &c.codes).await;
    let mut seen = vec![];
    while seen.len() < 5 {
        let m = first.next().await;
        assert!(!is_end(&m), "the scan ended before the reconnect: {m}");
        seen.push(m);
    }
    let last = *seqs(&seen).last().unwrap();
    drop(first);
    let mut again = server.client(ALICE).await;
    again
        .send(json!({"action":"subscribe","session_id": session, "since": last}))
        .await;
    let sync = again.next().await;
    assert_eq!(sync["type"], "SYNC_STATE", "{sync}");
    assert_eq!(sync["session"]["status"], "RUNNING");
    let rest = again.until(is_end).await;
    let mut all = seen.clone();
    all.extend(rest);
    // No gap, nothing twice: seq 2.. (STARTED was 1) to COMPLETE.
    let s = seqs(&all);
    assert_eq!(s, (2..=s.len() as u64 + 1).collect::<Vec<_>>());
    assert_eq!(all.last().unwrap()["type"], "COMPLETE");
    let done = all.last().unwrap().clone();

    // A client that lost everything (a reload) gets the snapshot, then only what follows it.
    let mut fresh = server.client(ALICE).await;
    fresh
        .send(json!({"action":"subscribe","session_id": session}))
        .await;
    let sync = fresh.next().await;
    assert_eq!(sync["session"]["status"], "COMPLETE");
    let snapshot: BTreeSet<String> = sync["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["path"].as_str().unwrap().to_string())
        .collect();
    let live: BTreeSet<String> = matches(&all).into_keys().collect();
    assert_eq!(snapshot, live);
    assert_eq!(sync["last_seq"], done["seq"]);
    assert_eq!(sync["session"]["download_url"], done["download_url"]);
    // Nothing after the snapshot; the socket answers.
    assert_eq!(fresh.ask(json!({"action":"ping"}), "PONG").await["seq"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_carry_the_req_id_of_their_request() {
    let c = Corpus::new(2, true);
    let server = Server::start(&c.data(), &c.root(), &["--jobs", "1"]);
    let mut alice = server.client(ALICE).await;
    let pong = alice
        .ask(json!({"action":"ping","req_id":"r1"}), "PONG")
        .await;
    assert_eq!(pong["req_id"], "r1", "{pong}");
    // A refusal carries it too, even of a message that is not one the server knows.
    let refused = alice
        .ask(json!({"action":"dance","req_id":"r2"}), "ERROR")
        .await;
    assert_eq!(
        (refused["code"].as_str(), refused["req_id"].as_str()),
        (Some("unknown_action"), Some("r2")),
        "{refused}"
    );
    let synced = alice
        .ask(
            json!({"action":"get_report","session_id":"nope","req_id":"r3"}),
            "REPORT_URL",
        )
        .await;
    assert_eq!(synced["req_id"], "r3", "{synced}");
    // Without one, none comes back; an overlong one is not echoed.
    let plain = alice.ask(json!({"action":"ping"}), "PONG").await;
    assert!(plain.get("req_id").is_none(), "{plain}");
    let long = "x".repeat(65);
    let pong = alice
        .ask(json!({"action":"ping","req_id": long}), "PONG")
        .await;
    assert!(pong.get("req_id").is_none(), "{pong}");
    // Logged messages a client follows are not replies: STARTED has no req_id.
    let started = alice
        .ask(
            json!({"action":"start_scan","drive_link": c.folder(),"target_hole_codes":["A"],"req_id":"r4"}),
            "STARTED",
        )
        .await;
    assert!(started.get("req_id").is_none(), "{started}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_scan_and_two_scans_run_at_once() {
    let c = Corpus::new(400, true);
    let server = Server::start(&c.data(), &c.root(), &["--jobs", "2"]);
    let mut alice = server.client(ALICE).await;
    let mut bob = server.client(BOB).await;
    let a = alice.start(&c.folder(), &c.codes).await;
    let b = bob.start(&c.folder(), &c.codes).await;
    assert_ne!(a, b);
    alice
        .send(json!({"action":"cancel_scan","session_id": a}))
        .await;
    let msgs = alice.until(is_end).await;
    let end = msgs.last().unwrap();
    assert_eq!(end["type"], "CANCELLED", "{end}");
    assert!(msgs.iter().all(|m| m["session_id"] == a.as_str()));
    // Cancelling again is refused; the other scan runs to its end, with its own counts.
    let again = alice
        .ask(json!({"action":"cancel_scan","session_id": a}), "CANCELLED")
        .await;
    assert_eq!(again["code"], "not_running", "{again}");
    let bmsgs = bob.until(is_end).await;
    let bend = bmsgs.last().unwrap();
    assert_eq!(bend["type"], "COMPLETE");
    assert_eq!(bend["total_processed"], 401);
    assert!(bmsgs.iter().all(|m| m["session_id"] == b.as_str()));
    // The cancelled scan stays cancelled and has no report.
    let r = alice
        .ask(json!({"action":"get_report","session_id": a}), "REPORT_URL")
        .await;
    assert_eq!(r["code"], "not_ready", "{r}");
    let sync = alice
        .ask(json!({"action":"subscribe","session_id": a}), "SYNC_STATE")
        .await;
    assert_eq!(sync["session"]["status"], "CANCELLED");
    assert!(sync["session"]["processed"].as_u64().unwrap() < 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_scan_resumes_with_exact_counts() {
    let c = Corpus::new(600, false);
    let mut server = Server::start(&c.data(), &c.root(), &["--jobs", "1"]);
    let mut alice = server.client(ALICE).await;
    let session = alice.start(&c.folder(), &c.codes).await;
    // Kill it hard once some files are done, well before the end.
    loop {
        let m = alice.next().await;
        assert!(!is_end(&m), "finished before the kill: {m}");
        if m["type"] == "PROGRESS" && m["processed"].as_u64().unwrap() >= 20 {
            assert!(m["processed"].as_u64().unwrap() < 601);
            break;
        }
    }
    server.kill();
    drop(alice);
    let server = Server::start(&c.data(), &c.root(), &["--jobs", "2"]);
    let mut alice = server.client(ALICE).await;
    alice
        .send(json!({"action":"subscribe","session_id": session, "since": 0}))
        .await;
    let sync = alice.next().await;
    assert_eq!(sync["type"], "SYNC_STATE");
    assert_eq!(sync["session"]["status"], "RUNNING", "{sync}");
    let all = alice.until(|m| m["type"] == "COMPLETE").await;
    let done = all.last().unwrap();
    assert_eq!(done["total_processed"], 601, "{done}");
    assert_eq!(done["errors"], 1);
    assert_eq!(all.iter().filter(|m| m["type"] == "COMPLETE").count(), 1);
    // Matches: exactly those of a scan that was never interrupted.
    let cli = scan_command(&c.folder(), &c.codes, c.dir.path());
    assert_eq!(matches(&all), matches(&cli));
    assert_eq!(done["total_matches"], cli.last().unwrap()["total_matches"]);
    // The log holds one COMPLETE, and stays so after another restart.
    drop(alice);
    drop(server);
    let server = Server::start(&c.data(), &c.root(), &["--jobs", "1"]);
    let mut alice = server.client(ALICE).await;
    alice
        .send(json!({"action":"subscribe","session_id": session, "since": 0}))
        .await;
    let sync = alice.next().await;
    assert_eq!(sync["session"]["status"], "COMPLETE");
    let replay = alice.until(|m| m["type"] == "COMPLETE").await;
    assert_eq!(replay.iter().filter(|m| m["type"] == "COMPLETE").count(), 1);
    assert_eq!(
        alice.ask(json!({"action":"ping"}), "PONG").await["type"],
        "PONG"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_sockets_with_a_reason_and_exits_cleanly() {
    let c = Corpus::new(5, true);
    let mut server = Server::start(&c.data(), &c.root(), &["--jobs", "1"]);
    let mut alice = server.client(ALICE).await;
    assert_eq!(
        alice.ask(json!({"action":"ping"}), "PONG").await["type"],
        "PONG"
    );
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    let close = loop {
        match alice.ws.next().await {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(f))) => break f,
            Some(Ok(_)) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    let f = close.expect("a close frame with a reason");
    assert_eq!(u16::from(f.code), 1001);
    assert!(f.reason.contains("shutting down"));
}
