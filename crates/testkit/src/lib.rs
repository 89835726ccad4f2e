//! What the tests of several crates share, and nothing a deployment runs: the real drawings
//! of `../shared/corpus/real/` with the codes that are and are not on them, and the AWS
//! emulator (moto, through `scripts/moto_server.py`) started on loopback for a test binary.
//! Generated drawings come from `isoscan-pdfgen`. It depends on no other isoscan crate.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The real drawings beside the repository, or `None` (saying so) where they are absent.
pub fn real_corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/real");
    if dir.join("expected.json").exists() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: {} is absent (the real drawings sit beside the repository)",
            dir.display()
        );
        None
    }
}

/// The codes `expected.json` says are on `file` (present) and are not (absent, look-alikes).
pub fn expected(dir: &Path, file: &str) -> (Vec<String>, Vec<String>) {
    let text = std::fs::read(dir.join("expected.json")).expect("expected.json");
    let v: serde_json::Value = serde_json::from_slice(&text).expect("expected.json is JSON");
    let list = |k: &str| {
        v[file][k]
            .as_array()
            .unwrap_or_else(|| panic!("expected.json: no {k} list for {file}"))
            .iter()
            .filter_map(|c| c.as_str().map(str::to_string))
            .collect()
    };
    (list("present"), list("absent"))
}

/// The emulator's endpoint: `ISOSCAN_MOTO_ENDPOINT`, or moto started for this process (and
/// stopped with it) through `scripts/moto_server.py`, which adds what moto leaves out (the
/// management API's 410 Gone and throttling, Textract answers per document).
pub fn moto_endpoint() -> String {
    static EP: OnceLock<String> = OnceLock::new();
    EP.get_or_init(|| {
        if let Some(e) = std::env::var("ISOSCAN_MOTO_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty())
        {
            return e;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        // The death signal is tied to the thread that starts the child: a thread that lives
        // as long as the test binary starts it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut cmd = std::process::Command::new("python3");
            cmd.args([
                concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/moto_server.py"),
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
            // SAFETY: prctl in the child before exec: SIGTERM when its parent thread ends, so
            // the emulator never outlives the tests.
            unsafe {
                use std::os::unix::process::CommandExt;
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                    Ok(())
                });
            }
            let child = cmd.spawn();
            let _ = tx.send(child.is_ok());
            let _child = child;
            loop {
                std::thread::park();
            }
        });
        assert!(
            rx.recv().unwrap_or(false),
            "moto is needed: pip install 'moto[server]' (or set ISOSCAN_MOTO_ENDPOINT)"
        );
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        format!("http://127.0.0.1:{port}")
    })
    .clone()
}
