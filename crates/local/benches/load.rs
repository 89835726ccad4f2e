//! Load benchmark of `isoscan serve` on loopback (not a test): 50 clients follow one scan while
//! 10 more scans run at once. Checks that every follower got every MATCH_FOUND, and reports the
//! latency from a file's result (the message's `ts`) to its arrival at each client, and the
//! server's peak RSS.
//!
//! `cargo bench -p isoscan-local --bench load -- [FILES] [FOLLOWERS] [SCANS]`

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use isoscan_pdfgen::{code_list, write_corpus, DrawingOptions};
use serde_json::{json, Value};
use support::*;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn vm_hwm_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Peak RSS of the server and its reader processes.
fn tree_hwm_kib(pid: u32) -> u64 {
    let mut total = vm_hwm_kib(pid);
    if let Ok(children) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
        for c in children.split_whitespace().filter_map(|c| c.parse().ok()) {
            total += vm_hwm_kib(c);
        }
    }
    total
}

struct Seen {
    /// MATCH_FOUND paths.
    paths: BTreeSet<String>,
    /// ms from `ts` to arrival, for messages sent live.
    latencies: Vec<u64>,
    complete: Option<Value>,
}

async fn follow(mut c: Client, session: String, subscribe: bool) -> Seen {
    if subscribe {
        c.send(json!({"action": "subscribe", "session_id": session, "since": 0}))
            .await;
    }
    let mut seen = Seen {
        paths: BTreeSet::new(),
        latencies: vec![],
        complete: None,
    };
    loop {
        let m = c.next_within(600).await.expect("open");
        let at = now_ms();
        if m["session_id"] != session.as_str() {
            continue;
        }
        if let Some(ts) = m["ts"].as_u64() {
            if m["type"] == "MATCH_FOUND" {
                seen.latencies.push(at.saturating_sub(ts));
            }
        }
        match m["type"].as_str() {
            Some("MATCH_FOUND") => {
                seen.paths
                    .insert(m["data"]["path"].as_str().unwrap_or("").to_string());
            }
            Some("COMPLETE") => {
                seen.complete = Some(m);
                return seen;
            }
            Some("ERROR") if m["code"] == "resubscribe" => {
                panic!("a follower fell behind: {m}")
            }
            Some("ERROR") | Some("CANCELLED") if m["seq"].as_u64().unwrap_or(0) > 0 => {
                panic!("the scan ended badly: {m}")
            }
            _ => {}
        }
    }
}

fn pct(v: &[u64], p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<usize> = raw.iter().filter_map(|a| a.parse().ok()).collect();
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this as a quick check.
    let full = raw.iter().any(|a| a == "--bench");
    let (files, followers, scans) = if full { (1000, 50, 10) } else { (20, 5, 2) };
    let files = args.first().copied().unwrap_or(files);
    let followers = args.get(1).copied().unwrap_or(followers);
    let scans = args.get(2).copied().unwrap_or(scans);
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    let truth = write_corpus(
        &root.join("drawings"),
        files,
        11,
        DrawingOptions {
            small: true,
            ..Default::default()
        },
    )
    .expect("corpus");
    // Every drawing's codes are on the list: every file is a MATCH_FOUND.
    let codes = code_list(&truth, 5000);
    let folder = root.join("drawings").display().to_string();
    let server = Server::start(&dir.path().join("data"), &root, &[]);
    let started = Instant::now();

    let mut owner = server.client(ALICE).await;
    let main = owner.start(&folder, &codes).await;
    let mut tasks = vec![tokio::spawn(follow(owner, main.clone(), false))];
    for _ in 1..followers {
        let c = server.client(ALICE).await;
        tasks.push(tokio::spawn(follow(c, main.clone(), true)));
    }
    let mut others = vec![];
    for i in 0..scans {
        let mut c = server.client(if i % 2 == 0 { ALICE } else { BOB }).await;
        let s = c.start(&folder, &codes).await;
        others.push(tokio::spawn(follow(c, s, false)));
    }
    let mut seen = vec![];
    for t in tasks {
        seen.push(t.await.expect("follower"));
    }
    let mut other_done = vec![];
    for t in others {
        other_done.push(t.await.expect("scan"));
    }
    let wall = started.elapsed().as_secs_f64();
    let rss_mib = tree_hwm_kib(server.child.id()) as f64 / 1024.0;

    let done = seen[0].complete.clone().expect("complete");
    let total_matches = done["total_matches"].as_u64().unwrap_or(0) as usize;
    let all: BTreeSet<String> = seen[0].paths.clone();
    let mut complete_followers = 0;
    for s in &seen {
        if s.paths == all && s.paths.len() == total_matches {
            complete_followers += 1;
        }
    }
    let mut lat: Vec<u64> = seen.iter().flat_map(|s| s.latencies.clone()).collect();
    lat.extend(other_done.iter().flat_map(|s| s.latencies.clone()));
    lat.sort_unstable();
    let other_ok = other_done
        .iter()
        .filter(|s| {
            s.paths.len() as u64
                == s.complete
                    .as_ref()
                    .map_or(0, |c| c["total_matches"].as_u64().unwrap_or(0))
        })
        .count();
    let mut by_ms: BTreeMap<u64, usize> = BTreeMap::new();
    for l in &lat {
        *by_ms.entry(*l).or_default() += 1;
    }
    println!(
        "load: {files} drawings; 1 scan followed by {followers} clients + {scans} scans at once; {wall:.1} s"
    );
    println!(
        "load: followers with every MATCH_FOUND: {complete_followers}/{followers} ({total_matches} each); other scans complete and whole: {other_ok}/{scans}"
    );
    println!(
        "load: result-to-client latency over {} live MATCH_FOUND: p50 {} ms, p99 {} ms, max {} ms",
        lat.len(),
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat.last().copied().unwrap_or(0)
    );
    println!("load: server peak RSS (server + readers) {rss_mib:.0} MiB");
    assert_eq!(
        complete_followers, followers,
        "a follower missed a MATCH_FOUND"
    );
    assert_eq!(other_ok, scans, "a scan lost a MATCH_FOUND");
}
