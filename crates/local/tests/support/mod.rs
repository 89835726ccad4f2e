//! A real `isoscan serve` process on port 0 with a temporary data folder, a WebSocket client
//! and a minimal HTTP client, for the server's integration tests and its load benchmark.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

pub const ALICE: &str = "alice-token-0123456789";
pub const BOB: &str = "bob-token-0123456789ab";

pub struct Server {
    pub child: Child,
    pub port: u16,
    pub data: PathBuf,
}

impl Server {
    /// Starts the server with tokens for alice and bob, reading folders under `root`.
    pub fn start(data: &Path, root: &Path, extra: &[&str]) -> Server {
        Server::start_with_env(data, root, extra, &[])
    }

    /// As `start`, with more environment variables for the server.
    pub fn start_with_env(
        data: &Path,
        root: &Path,
        extra: &[&str],
        env: &[(String, String)],
    ) -> Server {
        std::fs::create_dir_all(data).expect("data dir");
        let tokens = data.join("tokens.txt");
        std::fs::write(&tokens, format!("alice {ALICE}\nbob {BOB}\n")).expect("tokens");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_isoscan"));
        cmd.args(["serve", "--port", "0", "--data"])
            .arg(data)
            .arg("--root")
            .arg(root)
            .arg("--tokens-file")
            .arg(&tokens)
            .args(extra)
            .envs(env.iter().map(|(k, v)| (k, v)));
        Server::spawn(cmd, data).0
    }

    /// Starts `cmd` (an `isoscan serve` on port 0) and reads its address; also returns the
    /// lines it printed up to the address and after, until it printed `open`.
    pub fn spawn(mut cmd: Command, data: &Path) -> (Server, Vec<String>) {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start isoscan serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut port = None;
        let mut printed = vec![];
        for line in lines.by_ref() {
            let line = line.expect("read stdout");
            if let Some(url) = line.strip_prefix("isoscan serve: listening on http://") {
                port = url.rsplit(':').next().and_then(|p| p.parse().ok());
            }
            let last = line.starts_with("isoscan serve: open ");
            printed.push(line);
            if last {
                break;
            }
        }
        // Keep draining, so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        (
            Server {
                child,
                port: port.expect("the server printed its address"),
                data: data.to_path_buf(),
            },
            printed,
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub async fn client(&self, token: &str) -> Client {
        Client::connect(self.port, token).await
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, and the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        // SAFETY: a signal to our own child process.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().expect("wait")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Client {
    pub ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Client {
    pub async fn connect(port: u16, token: &str) -> Client {
        let (ws, _) =
            tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws?token={token}"))
                .await
                .expect("connect");
        Client { ws }
    }

    pub async fn send(&mut self, v: Value) {
        self.send_text(v.to_string()).await;
    }

    pub async fn send_text(&mut self, t: String) {
        self.ws.send(Message::Text(t.into())).await.expect("send");
    }

    /// The next JSON message; panics after `secs` without one.
    pub async fn next_within(&mut self, secs: u64) -> Option<Value> {
        loop {
            let m = tokio::time::timeout(Duration::from_secs(secs), self.ws.next())
                .await
                .expect("a message in time")?;
            match m {
                Ok(Message::Text(t)) => return Some(serde_json::from_str(&t).expect("json")),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// The next text message as sent; `None` once the connection is closed.
    pub async fn next_raw(&mut self) -> Option<String> {
        loop {
            match self.ws.next().await? {
                Ok(Message::Text(t)) => return Some(t.to_string()),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    pub async fn next(&mut self) -> Value {
        self.next_within(60).await.expect("connection open")
    }

    /// Messages up to and including the first for which `stop` holds.
    pub async fn until(&mut self, stop: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut out = vec![];
        loop {
            let v = self.next().await;
            let done = stop(&v);
            out.push(v);
            if done {
                return out;
            }
        }
    }

    /// Sends and returns the first answer of type `ty` (or an ERROR).
    pub async fn ask(&mut self, v: Value, ty: &str) -> Value {
        self.send(v).await;
        loop {
            let m = self.next().await;
            if m["type"] == ty || m["type"] == "ERROR" {
                return m;
            }
        }
    }

    pub async fn start(&mut self, folder: &str, codes: &[String]) -> String {
        let m = self
            .ask(
                json!({"action": "start_scan", "drive_link": folder, "target_hole_codes": codes}),
                "STARTED",
            )
            .await;
        assert_eq!(m["type"], "STARTED", "{m}");
        m["session_id"].as_str().expect("session_id").to_string()
    }
}

pub fn is_end(v: &Value) -> bool {
    matches!(v["type"].as_str(), Some("COMPLETE" | "CANCELLED"))
        || (v["type"] == "ERROR" && v["seq"].as_u64().unwrap_or(0) > 0)
}

/// A plain HTTP/1.1 request on loopback: (status, body).
pub async fn http(method: &str, url: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let (status, _, body) = http_with(method, url, &[], body).await;
    (status, body)
}

/// A plain HTTP/1.1 request with more header lines (`Name: value`): (status, head, body).
/// A `Host:` line among them replaces the one made from the URL.
pub async fn http_with(
    method: &str,
    url: &str,
    headers: &[&str],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = tokio::net::TcpStream::connect(host).await.expect("connect");
    let mut extra = String::new();
    if !headers
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("host:"))
    {
        extra.push_str(&format!("Host: {host}\r\n"));
    }
    for h in headers {
        extra.push_str(h);
        extra.push_str("\r\n");
    }
    let head = format!(
        "{method} {path} HTTP/1.1\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("write");
    s.write_all(body).await.expect("write body");
    let mut buf = vec![];
    // Up to the end of the head; a switch of protocols (101) has no end to read to.
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.expect("read");
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    if !buf.starts_with(b"HTTP/1.1 101") {
        s.read_to_end(&mut buf).await.expect("read");
    }
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers");
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = buf[end + 4..].to_vec();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "chunked bodies are not read here"
    );
    (status, head, body)
}

/// What one `isoscan scan` run did.
pub struct ScanRun {
    pub ok: bool,
    pub stderr: String,
    pub events: Vec<Value>,
}

/// `isoscan scan LOCATION --targets CODES --events …` in `work` (files named after `name`),
/// with `extra` arguments and environment; Drive credentials of the caller's environment are
/// left out.
pub fn scan_command(
    location: &str,
    codes: &[String],
    extra: &[&str],
    env: &[(String, String)],
    work: &Path,
    name: &str,
) -> ScanRun {
    let list = work.join(format!("{name}-codes.txt"));
    std::fs::write(&list, codes.join("\n")).expect("code list");
    let events = work.join(format!("{name}.ndjson"));
    let out = Command::new(env!("CARGO_BIN_EXE_isoscan"))
        .args(["scan", location, "--targets"])
        .arg(&list)
        .arg("--out")
        .arg(work.join(format!("{name}.xlsx")))
        .arg("--events")
        .arg(&events)
        .args(extra)
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .env_remove("ISOSCAN_DRIVE_ACCESS_TOKEN")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("isoscan scan");
    ScanRun {
        ok: out.status.success(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        events: std::fs::read_to_string(&events)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
    }
}
