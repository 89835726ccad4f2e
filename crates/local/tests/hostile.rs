//! `isoscan serve` and `isoscan scan` against an attacker who holds a valid token: crafted
//! workbooks, the largest list allowed, another user's uploads, buckets and pages the server
//! must not serve, and clients that hold sockets open.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use isoscan_pdfgen::{write_corpus, DrawingOptions};
use serde_json::{json, Value};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/fixtures")
        .join(name)
}

/// Runs `cmd` to its end: (exit code, stderr, peak resident memory in bytes). The child is
/// reaped by `wait4`, which also gives its peak memory.
#[allow(clippy::zombie_processes)]
fn run_measured(cmd: &mut Command) -> (i32, String, u64) {
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut stderr = child.stderr.expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut s).ok();
        s
    });
    let mut status = 0;
    // SAFETY: zeroed rusage filled in by wait4 for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    (
        code,
        reader.join().unwrap_or_default(),
        usage.ru_maxrss as u64 * 1024,
    )
}

/// Peak resident memory of a running process, from /proc.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn corpus(dir: &Path, n: usize) {
    write_corpus(dir, n, 7, DrawingOptions::default()).expect("corpus");
}

/// The workbook of one header cell and one cell at XFD1048576 made the list reader hold 17
/// billion cells: the command aborted, and the server died with every user's scan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workbook_with_one_far_cell_is_a_clear_error_and_the_server_lives() {
    let dir = tempfile::tempdir().unwrap();
    corpus(&dir.path().join("root/isos"), 2);
    for (list, says) in [
        ("far_cell_only.xlsx", "no codes in sheet"),
        ("far_cell.xls", "save the list as .xlsx"),
    ] {
        let (code, stderr, peak) = run_measured(
            Command::new(env!("CARGO_BIN_EXE_isoscan"))
                .arg("scan")
                .arg(dir.path().join("root/isos"))
                .arg("--targets")
                .arg(fixture(list))
                .arg("--out")
                .arg(dir.path().join("r.xlsx")),
        );
        assert_eq!(code, 1, "{list}: {stderr}");
        assert!(stderr.contains(says), "{list}: {stderr}");
        assert!(peak < 300 << 20, "{list}: {} MiB at peak", peak >> 20);
        eprintln!(
            "isoscan scan --targets {list}: exit {code}, peak {} MiB",
            peak >> 20
        );
    }

    let server = Server::start(&dir.path().join("data"), &dir.path().join("root"), &[]);
    let mut alice = server.client(ALICE).await;
    let mut bob = server.client(BOB).await;
    for list in [
        "far_cell_only.xlsx",
        "far_cell.xls",
        "repeated_in_codes.ods",
    ] {
        let b64 =
            base64::engine::general_purpose::STANDARD.encode(std::fs::read(fixture(list)).unwrap());
        let m = alice
            .ask(
                json!({"action": "check_targets", "file_content": b64}),
                "TARGETS",
            )
            .await;
        assert_eq!(
            (m["type"].as_str(), m["code"].as_str()),
            (Some("ERROR"), Some("bad_request")),
            "{list}: {m}"
        );
        assert!(
            m["message"].as_str().unwrap().starts_with("code list: "),
            "{m}"
        );
        // A start_scan with it is refused the same way.
        let m = alice
            .ask(json!({"action": "start_scan", "drive_link": dir.path().join("root/isos"), "file_content": b64}), "STARTED")
            .await;
        assert_eq!(m["type"], "ERROR", "{list}: {m}");
    }
    // The same connection and another user's are answered; the process is alive.
    assert_eq!(
        alice.ask(json!({"action": "ping"}), "PONG").await["type"],
        "PONG"
    );
    assert_eq!(
        bob.ask(json!({"action": "ping"}), "PONG").await["type"],
        "PONG"
    );
    let peak = peak_rss(server.child.id());
    assert!(peak < 300 << 20, "server: {} MiB at peak", peak >> 20);
}

/// The largest list a user may upload (64 MiB: 1,048,576 rows, 100,000 distinct codes) read
/// three times at once while another user pings: every ping answered within a second, the
/// server under 1 GiB, and the TARGETS replies small.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_list_is_read_while_other_users_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("root")).unwrap();
    let server = Server::start(&dir.path().join("data"), &dir.path().join("root"), &[]);
    let mut list = String::with_capacity(64 << 20);
    for row in 0..1_048_576u32 {
        // 63 characters and a newline a row: 64 MiB in all.
        list.push_str(&format!("PEN-{:059}\n", row % 100_000));
    }
    assert_eq!(list.len(), 64 << 20);
    let mut alice = server.client(ALICE).await;
    let up = alice
        .ask(
            json!({"action": "request_upload", "file_name": "codes.txt", "size": list.len(), "purpose": "targets"}),
            "UPLOAD_URL",
        )
        .await;
    assert_eq!(up["type"], "UPLOAD_URL", "{up}");
    assert_eq!(
        http("PUT", up["url"].as_str().unwrap(), list.as_bytes())
            .await
            .0,
        204
    );
    drop(list);
    let key = up["key"].as_str().unwrap().to_string();

    let mut readers = vec![];
    for _ in 0..3 {
        let mut c = server.client(ALICE).await;
        let key = key.clone();
        readers.push(tokio::spawn(async move {
            c.send(json!({"action": "check_targets", "targets_upload": key}))
                .await;
            let t0 = Instant::now();
            let reply = loop {
                match c.next_raw().await {
                    Some(t) if t.contains("\"TARGETS\"") || t.contains("\"ERROR\"") => break t,
                    Some(_) => continue,
                    None => panic!("connection closed"),
                }
            };
            (reply, t0.elapsed())
        }));
    }
    let mut bob = server.client(BOB).await;
    let mut slowest = Duration::ZERO;
    let mut pings = 0;
    while readers.iter().any(|r| !r.is_finished()) {
        let t0 = Instant::now();
        bob.send(json!({"action": "ping"})).await;
        let m = bob.next_within(5).await.expect("pong");
        assert_eq!(m["type"], "PONG");
        slowest = slowest.max(t0.elapsed());
        pings += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for r in readers {
        let (reply, took) = r.await.unwrap();
        assert!(
            reply.len() < 4096,
            "a TARGETS reply of {} bytes",
            reply.len()
        );
        let v: Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(
            (v["type"].as_str(), v["count"].as_u64()),
            (Some("TARGETS"), Some(100_000)),
            "{v}"
        );
        assert_eq!(v["duplicates"], 948_576);
        eprintln!("a 64 MiB list read in {:.1} s", took.as_secs_f64());
    }
    let peak = peak_rss(server.child.id());
    eprintln!(
        "{pings} pings, slowest {} ms; server peak {} MiB",
        slowest.as_millis(),
        peak >> 20
    );
    assert!(pings >= 2, "the lists were read before any ping");
    assert!(
        slowest < Duration::from_secs(1),
        "a ping waited {slowest:?}"
    );
    assert!(peak < 1 << 30, "server: {} MiB at peak", peak >> 20);
}

/// The defaults put the data folder inside the folder clients may scan: Bob must not reach
/// Alice's upload through any path, link or key, and her files are hers alone on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_upload_is_out_of_reach_under_the_default_folders() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().join("plant");
    corpus(&cwd.join("isos"), 2);
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, format!("alice {ALICE}\nbob {BOB}\n")).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_isoscan"));
    cmd.current_dir(&cwd)
        .args(["serve", "--port", "0", "--tokens-file"])
        .arg(&tokens);
    let data = cwd.join("isoscan-data");
    let (server, printed) = Server::spawn(cmd, &data);
    assert!(
        printed
            .iter()
            .any(|l| l.contains("the data folder is inside") && l.contains("never listed")),
        "{printed:?}"
    );

    // Alice uploads a drawing that holds codes.
    let pdf = std::fs::read(cwd.join("isos/area-00/iso_00000.pdf")).unwrap();
    let mut alice = server.client(ALICE).await;
    let up = alice
        .ask(
            json!({"action": "request_upload", "file_name": "secret.pdf", "size": pdf.len(), "purpose": "drawings"}),
            "UPLOAD_URL",
        )
        .await;
    assert_eq!(http("PUT", up["url"].as_str().unwrap(), &pdf).await.0, 204);
    let key = up["key"].as_str().unwrap().to_string();
    let upload = data.join("uploads").join(&key);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&upload), 0o700);
        assert_eq!(mode(&upload.join("files")), 0o700);
        assert_eq!(mode(&upload.join("files/secret.pdf")), 0o600);
        assert_eq!(mode(&upload.join("meta.json")), 0o600);
    }
    // A link to the data folder, left in the scanned folder.
    std::os::unix::fs::symlink(&data, cwd.join("isos/shortcut")).unwrap();

    let mut bob = server.client(BOB).await;
    let tries = [
        "isoscan-data/uploads".to_string(),
        "isoscan-data".to_string(),
        format!("./isoscan-data/uploads/{key}/files"),
        upload.join("files").display().to_string(),
        "isos/shortcut".to_string(),
        format!("upload:{key}"),
        ".".to_string(),
        "isos".to_string(),
        cwd.display().to_string(),
    ];
    for location in &tries {
        // No code list: every code the discovery pattern finds is reported.
        let m = bob
            .ask(
                json!({"action": "start_scan", "drive_link": location}),
                "STARTED",
            )
            .await;
        if m["type"] == "ERROR" {
            assert!(
                matches!(m["code"].as_str(), Some("source_forbidden" | "forbidden")),
                "{location}: {m}"
            );
            continue;
        }
        let msgs = bob.until(is_end).await;
        let done = msgs.last().unwrap();
        assert_eq!(done["type"], "COMPLETE", "{location}: {done}");
        for m in &msgs {
            let text = m.to_string();
            assert!(
                !text.contains("secret.pdf")
                    && !text.contains(&key)
                    && !text.contains("isoscan-data"),
                "{location} reached Alice's upload: {text}"
            );
        }
        // The whole folder: the two drawings, nothing of the data folder, not even skipped.
        if location == "." || location == "isos" || *location == cwd.display().to_string() {
            assert_eq!(done["total_files"], 2, "{location}: {done}");
            assert_eq!(done["skipped"], 0, "{location}: {done}");
        }
    }
    // Alice herself still scans her upload.
    let m = alice
        .ask(
            json!({"action": "start_scan", "drive_link": format!("upload:{key}")}),
            "STARTED",
        )
        .await;
    assert_eq!(m["type"], "STARTED", "{m}");
    let done = alice.until(is_end).await.pop().unwrap();
    assert_eq!(done["total_matches"], 1, "{done}");
}

/// Where a path outside the roots exists must not be learnable from the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_do_not_tell_whether_a_path_outside_the_roots_exists() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("root")).unwrap();
    std::fs::write(dir.path().join("private.txt"), "x").unwrap();
    let server = Server::start(&dir.path().join("data"), &dir.path().join("root"), &[]);
    let mut bob = server.client(BOB).await;
    let mut answers = vec![];
    for p in ["private.txt", "nope.txt"] {
        let location = dir.path().join(p).display().to_string();
        let m = bob
            .ask(json!({"action": "start_scan", "drive_link": location, "target_hole_codes": ["HC-1"]}), "STARTED")
            .await;
        assert_eq!(m["code"], "source_forbidden", "{m}");
        answers.push(m["message"].as_str().unwrap().replace(&location, "PATH"));
    }
    assert_eq!(answers[0], answers[1]);
    // Session ids are 128 random bits.
    let m = bob
        .ask(json!({"action": "start_scan", "drive_link": dir.path().join("root"), "target_hole_codes": ["HC-1"]}), "STARTED")
        .await;
    let id = m["session_id"].as_str().unwrap();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
}

/// Counts the connections made to a port, answering none: an S3 endpoint that must never be
/// reached.
async fn connection_counter() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = n.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(s);
        }
    });
    (port, n)
}

/// With AWS credentials in its environment, the server must not list a bucket a client names,
/// nor sign links with its key: S3 only where the operator allowed it, refused before any
/// request; Drive only when allowed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_and_drive_are_refused_before_any_request_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("root")).unwrap();
    let (port, requests) = connection_counter().await;
    let env: Vec<(String, String)> = [
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
        ("AWS_ACCESS_KEY_ID", "AKIAHOSTKEY".into()),
        ("AWS_SECRET_ACCESS_KEY", "host-secret".into()),
        ("AWS_REGION", "eu-west-1".into()),
        ("AWS_S3_FORCE_PATH_STYLE", "true".into()),
        ("AWS_MAX_ATTEMPTS", "1".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let server = Server::start_with_env(
        &dir.path().join("data"),
        &dir.path().join("root"),
        &["--allow-s3", "s3://plant-isos/project"],
        &env,
    );
    let mut bob = server.client(BOB).await;
    for location in [
        "s3://victim-bucket/private",
        "s3://plant-isos/project2",
        "s3://plant-isos/other",
        "s3://plant-isos/project/../other",
        "s3://plant-isos",
    ] {
        let m = bob
            .ask(json!({"action": "start_scan", "drive_link": location, "target_hole_codes": ["HC-1"]}), "STARTED")
            .await;
        assert_eq!(m["code"], "source_forbidden", "{location}: {m}");
        assert!(m["message"].as_str().unwrap().contains("--allow-s3"), "{m}");
    }
    let m = bob
        .ask(json!({"action": "start_scan", "drive_link": "https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOpQrStUvWxYz012345", "target_hole_codes": ["HC-1"]}), "STARTED")
        .await;
    assert_eq!(m["type"], "ERROR", "{m}");
    assert!(
        m["message"].as_str().unwrap().contains("--allow-drive"),
        "{m}"
    );
    assert_eq!(
        requests.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a request reached S3"
    );
    // The allowed prefix does go to S3 (which here answers nothing).
    let _ = bob
        .ask(json!({"action": "start_scan", "drive_link": "s3://plant-isos/project/area-1", "target_hole_codes": ["HC-1"]}), "STARTED")
        .await;
    assert!(
        requests.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "the allowed prefix was not read"
    );
}

/// 200 connections that send half a request head, or nothing, and wait: closed within 30 s (the per-address
/// cap closes most at once), while a client from another address is served throughout; a
/// socket that sends nothing is closed, one that pings is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("root")).unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &dir.path().join("root"),
        &["--socket-idle-s", "3"],
    );
    let t0 = Instant::now();
    let mut slow = vec![];
    for i in 0..200 {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        // Another loopback address than the clients below: the per-address cap is its own.
        sock.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let mut s = sock
            .connect(format!("127.0.0.1:{}", server.port).parse().unwrap())
            .await
            .expect("connect");
        // Half a request head, or nothing at all.
        if i % 2 == 0 {
            s.write_all(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr")
                .await
                .unwrap();
        }
        slow.push(tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            // Until the server closes the connection (or resets it).
            loop {
                match tokio::time::timeout(Duration::from_secs(40), s.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => return Some(Instant::now()),
                    Ok(Ok(_)) => continue,
                    Err(_) => return None,
                }
            }
        }));
    }
    // Served meanwhile, from the usual address.
    let mut alice = server.client(ALICE).await;
    assert_eq!(
        alice.ask(json!({"action": "ping"}), "PONG").await["type"],
        "PONG"
    );
    let mut last = Duration::ZERO;
    for s in slow {
        let closed = s
            .await
            .unwrap()
            .expect("a half-sent request was never closed");
        last = last.max(closed - t0);
    }
    eprintln!(
        "200 half-sent or silent requests closed within {:.1} s",
        last.as_secs_f64()
    );
    assert!(last < Duration::from_secs(30), "{last:?}");

    // A socket that sends nothing is closed with a reason; one that pings stays.
    let mut quiet = server.client(BOB).await;
    let mut talker = server.client(BOB).await;
    let t0 = Instant::now();
    let mut closed = None;
    while t0.elapsed() < Duration::from_secs(8) {
        assert_eq!(
            talker.ask(json!({"action": "ping"}), "PONG").await["type"],
            "PONG"
        );
        if closed.is_none() {
            if let Ok(r) = tokio::time::timeout(Duration::from_secs(1), quiet.next_raw()).await {
                assert!(r.is_none(), "the quiet socket got {r:?}");
                closed = Some(t0.elapsed());
            }
        } else {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    let closed = closed.expect("the quiet socket was not closed");
    assert!(closed >= Duration::from_secs(2), "{closed:?}");
}

/// A page of another site with a stolen token, and a name that rebinds to this machine, are
/// refused; the server's own page and scripts (no Origin) are served; every answer carries the
/// hardening headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_pages_and_names_are_refused_and_answers_are_hardened() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("root")).unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &dir.path().join("root"),
        &["--allow-origin", "http://localhost:5173"],
    );
    let ws = server.url(&format!("/ws?token={ALICE}"));
    let upgrade = [
        "Connection: Upgrade",
        "Upgrade: websocket",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    ];
    let own = format!("Origin: http://127.0.0.1:{}", server.port);
    for (origin, status) in [
        (Some("Origin: https://evil.example"), 403),
        (Some("Origin: null"), 403),
        (Some(own.as_str()), 101),
        (Some("Origin: http://localhost:5173"), 101),
        (None, 101),
    ] {
        let mut h: Vec<&str> = upgrade.to_vec();
        h.extend(origin);
        let (got, head, _) = http_with("GET", &ws, &h, b"").await;
        assert_eq!(got, status, "{origin:?}: {head}");
    }
    let (got, _, _) = http_with("GET", &server.url("/"), &["Host: rebind.evil.example"], b"").await;
    assert_eq!(got, 421);
    let (got, _, _) = http_with("GET", &server.url("/"), &["Host: localhost:1"], b"").await;
    assert_eq!(got, 421);
    for path in [
        "/",
        "/ws",
        "/reports/x.xlsx?exp=1&sig=0",
        "/drawings?src=a&path=b&sig=0",
    ] {
        let (_, head, _) = http_with("GET", &server.url(path), &[], b"").await;
        let head = head.to_ascii_lowercase();
        assert!(
            head.contains("x-content-type-options: nosniff"),
            "{path}: {head}"
        );
        assert!(
            head.contains("referrer-policy: no-referrer"),
            "{path}: {head}"
        );
        assert!(head.contains("content-security-policy:"), "{path}: {head}");
        let framing = if path.starts_with("/drawings") {
            "frame-ancestors 'self'"
        } else {
            "frame-ancestors 'none'"
        };
        assert!(head.contains(framing), "{path}: {head}");
    }
}

/// Per-user limits: scans running at once and uploads waiting, each an ERROR naming it; 3,000
/// upload requests leave no more folders than the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_name_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    corpus(&dir.path().join("root/isos"), 40);
    let server = Server::start(
        &dir.path().join("data"),
        &dir.path().join("root"),
        &[
            "--jobs",
            "1",
            "--max-scans-per-user",
            "1",
            "--max-pending-uploads",
            "3",
        ],
    );
    let mut bob = server.client(BOB).await;
    let folder = dir.path().join("root/isos").display().to_string();
    let first = bob.start(&folder, &["HC-1".to_string()]).await;
    let m = bob
        .ask(
            json!({"action": "start_scan", "drive_link": folder, "target_hole_codes": ["HC-1"]}),
            "STARTED",
        )
        .await;
    assert_eq!(m["code"], "quota", "{m}");
    assert!(
        m["message"]
            .as_str()
            .unwrap()
            .contains("at most 1 may run at once"),
        "{m}"
    );
    // Another user is not held by Bob's limit.
    let mut alice = server.client(ALICE).await;
    alice.start(&folder, &["HC-1".to_string()]).await;
    let m = bob
        .ask(
            json!({"action": "cancel_scan", "session_id": first}),
            "CANCELLED",
        )
        .await;
    assert_eq!(m["type"], "CANCELLED", "{m}");
    bob.start(&folder, &["HC-1".to_string()]).await;

    let mut refused = 0;
    for i in 0..3000 {
        bob.send(json!({"action": "request_upload", "file_name": format!("l{i}.csv"), "size": 10, "purpose": "targets"})).await;
    }
    for _ in 0..3000 {
        let m = loop {
            let m = bob.next().await;
            if m["type"] == "UPLOAD_URL" || m["type"] == "ERROR" {
                break m;
            }
        };
        if m["type"] == "ERROR" {
            assert_eq!(m["code"], "quota", "{m}");
            assert!(
                m["message"]
                    .as_str()
                    .unwrap()
                    .contains("at most 3 may wait"),
                "{m}"
            );
            refused += 1;
        }
    }
    assert_eq!(refused, 2997);
    let uploads = dir.path().join("data/uploads");
    let folders: Vec<PathBuf> = std::fs::read_dir(&uploads)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(folders.len(), 3);

    // Links expired 15 minutes after they were given: those uploads stop counting and are
    // removed, except one whose file is still arriving.
    std::fs::write(folders[0].join("files/l0.csv.part"), "half").unwrap();
    for f in &folders {
        let status = Command::new("touch")
            .args(["-d", "20 minutes ago"])
            .arg(f.join("meta.json"))
            .status()
            .unwrap();
        assert!(status.success());
    }
    let m = bob
        .ask(json!({"action": "request_upload", "file_name": "late.csv", "size": 10, "purpose": "targets"}), "UPLOAD_URL")
        .await;
    assert_eq!(m["type"], "UPLOAD_URL", "{m}");
    let left: Vec<PathBuf> = std::fs::read_dir(&uploads)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(
        left.contains(&folders[0]),
        "the upload still arriving was removed"
    );
}

/// Bound to every address, the server says so, prints the address other machines use, and
/// answers requests naming this machine or an address of it, not other names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_on_every_address_warns_and_names_the_address_clients_use() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("root")).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_isoscan"));
    cmd.args([
        "serve", "--port", "0", "--bind", "0.0.0.0", "--token", ALICE, "--data",
    ])
    .arg(dir.path().join("data"))
    .arg("--root")
    .arg(dir.path().join("root"));
    let (server, printed) = Server::spawn(cmd, &dir.path().join("data"));
    let listening = printed
        .iter()
        .find_map(|l| l.strip_prefix("isoscan serve: listening on http://"))
        .expect("address")
        .to_string();
    assert!(
        !listening.starts_with("127.0.0.1") && !listening.starts_with("0.0.0.0"),
        "{listening}"
    );
    assert!(
        printed
            .iter()
            .any(|l| l.contains("warning: listening on every address")
                && l.contains(&listening)
                && l.contains("TLS")),
        "{printed:?}"
    );
    for host in [listening.clone(), format!("10.20.30.40:{}", server.port)] {
        let (status, _, _) =
            http_with("GET", &server.url("/ws"), &[&format!("Host: {host}")], b"").await;
        // The route answers (here: not a WebSocket handshake), the name check let it through.
        assert_eq!(status, 400, "{host}");
    }
    let (status, _, _) = http_with(
        "GET",
        &server.url("/ws"),
        &[&format!("Host: rebind.example:{}", server.port)],
        b"",
    )
    .await;
    assert_eq!(status, 421);
}
