//! Extraction in worker processes, so that no file can take a scan down: a file that crashes
//! its reader, exhausts the memory limit or runs past the time limit costs one worker process
//! (restarted for the next file) and is a FILE_ERROR with the reason.
//!
//! The parent and a worker speak length-prefixed frames over the worker's stdin and stdout: a
//! request (a kind byte, then the file's bytes, or the pages whose pictures OCR needs and the
//! file) one way, a JSON [`Reply`] the other (followed, for pictures, by one raw frame each).
//! Pages without a text layer are read by OCR (Tesseract, [`crate::ocr::TesseractOcr`]) in the
//! parent, outside the worker's memory limit, with limits of its own; their pictures are
//! decoded here, in a worker.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use isoscan_core::result::FileRef;
use isoscan_core::text::DocText;
use isoscan_engine::ports::{ExtractFailure, Extractor};
use isoscan_extract::raster::{page_images, Gray};
use isoscan_extract::{extract, Limits};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Semaphore;

/// The hidden subcommand a worker process runs.
pub const WORKER_COMMAND: &str = "__extract-worker";

/// Request kinds: read a file's text; send the pictures of pages of a file (the pages' JSON
/// length as 4 bytes LE, the JSON, then the file).
const READ_TEXT: u8 = 0;
const READ_IMAGES: u8 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    Text(DocText),
    /// Pages with a picture (page, width, height, pixels per inch), each followed by a frame of
    /// `width * height` gray bytes.
    Images(Vec<(u32, usize, usize, f32)>),
    Error {
        code: String,
        message: String,
    },
}

#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// The `isoscan` binary (the current executable, normally).
    pub program: PathBuf,
    pub workers: usize,
    pub limits: Limits,
    /// Address-space limit of a worker, in MiB (0: none).
    pub memory_mb: u64,
    /// Time a worker gets past the wall-time limit before it is killed.
    pub grace: Duration,
}

impl PoolConfig {
    pub fn new(program: PathBuf, workers: usize) -> Self {
        PoolConfig {
            program,
            workers: workers.max(1),
            limits: Limits::default(),
            memory_mb: 1024,
            grace: Duration::from_secs(5),
        }
    }
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    stderr_tail: Arc<Mutex<String>>,
}

/// A pool of worker processes behind the [`Extractor`] port.
pub struct ProcessPool {
    cfg: PoolConfig,
    idle: Mutex<Vec<Worker>>,
    permits: Semaphore,
}

impl ProcessPool {
    pub fn new(cfg: PoolConfig) -> Self {
        let n = cfg.workers;
        ProcessPool {
            cfg,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(n),
        }
    }

    fn spawn(&self) -> std::io::Result<Worker> {
        let l = &self.cfg.limits;
        let mut child = Command::new(&self.cfg.program)
            .arg(WORKER_COMMAND)
            .arg(format!("--wall-ms={}", l.wall_time.as_millis()))
            .arg(format!("--max-decompressed={}", l.max_decompressed_bytes))
            .arg(format!("--max-ops={}", l.max_ops_per_page))
            .arg(format!("--max-glyphs={}", l.max_glyphs_per_page))
            .arg(format!("--max-xobject-depth={}", l.max_xobject_depth))
            .arg(format!("--max-ref-depth={}", l.max_ref_depth))
            .arg(format!("--memory-mb={}", self.cfg.memory_mb))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(std::io::Error::other("worker pipes missing"));
        };
        let tail = Arc::new(Mutex::new(String::new()));
        let t = tail.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(mut t) = t.lock() {
                    t.push_str(&line);
                    t.push('\n');
                    if t.len() > 4096 {
                        let cut = t.len() - 2048;
                        let cut = (cut..t.len()).find(|i| t.is_char_boundary(*i)).unwrap_or(0);
                        t.drain(..cut);
                    }
                }
            }
        });
        Ok(Worker {
            child,
            stdin,
            stdout,
            stderr_tail: tail,
        })
    }

    async fn read_frame(w: &mut Worker) -> std::io::Result<Vec<u8>> {
        let mut len = [0u8; 8];
        w.stdout.read_exact(&mut len).await?;
        let len = u64::from_le_bytes(len);
        if len > 1 << 30 {
            return Err(std::io::Error::other("reply too large"));
        }
        let mut buf = vec![0u8; len as usize];
        w.stdout.read_exact(&mut buf).await?;
        Ok(buf)
    }

    async fn roundtrip(w: &mut Worker, kind: u8, bytes: &[u8]) -> std::io::Result<Reply> {
        w.stdin.write_all(&[kind]).await?;
        w.stdin
            .write_all(&(bytes.len() as u64).to_le_bytes())
            .await?;
        w.stdin.write_all(bytes).await?;
        w.stdin.flush().await?;
        let buf = Self::read_frame(w).await?;
        serde_json::from_slice(&buf).map_err(std::io::Error::other)
    }

    /// The pictures of `pages` of `file`.
    async fn images(
        w: &mut Worker,
        file: &[u8],
        pages: &[u32],
    ) -> std::io::Result<Result<Vec<(u32, Gray)>, String>> {
        let json = serde_json::to_vec(pages).map_err(std::io::Error::other)?;
        let mut ask = Vec::with_capacity(4 + json.len() + file.len());
        ask.extend_from_slice(&(json.len() as u32).to_le_bytes());
        ask.extend_from_slice(&json);
        ask.extend_from_slice(file);
        match Self::roundtrip(w, READ_IMAGES, &ask).await? {
            Reply::Images(list) => {
                let mut out = vec![];
                for (page, width, height, dpi) in list {
                    let data = Self::read_frame(w).await?;
                    if data.len() != width * height {
                        return Err(std::io::Error::other("picture of the wrong size"));
                    }
                    out.push((
                        page,
                        Gray {
                            width,
                            height,
                            data,
                            dpi,
                        },
                    ));
                }
                Ok(Ok(out))
            }
            Reply::Error { message, .. } => Ok(Err(message)),
            Reply::Text(_) => Err(std::io::Error::other("unexpected reply")),
        }
    }

    fn crash_reason(&self, status: Option<std::process::ExitStatus>, tail: &str) -> String {
        if tail.contains("memory allocation of") || tail.contains("out of memory") {
            return format!(
                "limit exceeded: over the memory limit of {} MiB",
                self.cfg.memory_mb
            );
        }
        if tail.contains("overflowed its stack") {
            return "limit exceeded: nested too deeply (stack overflow)".into();
        }
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            if let Some(sig) = status.and_then(|s| s.signal()) {
                return format!("the reader crashed on this file (signal {sig})");
            }
        }
        match status.and_then(|s| s.code()) {
            Some(c) => format!("the reader stopped on this file (exit code {c})"),
            None => "the reader stopped on this file".into(),
        }
    }
}

impl ProcessPool {
    /// A turn in the pool and its worker.
    async fn take(&self) -> Result<(tokio::sync::SemaphorePermit<'_>, Worker), ExtractFailure> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| ExtractFailure::Transient(e.to_string()))?;
        Ok((permit, self.worker()?))
    }

    /// A worker: an idle one still alive, or a new one.
    fn worker(&self) -> Result<Worker, ExtractFailure> {
        // An idle worker that has died since its last file is not this file's fault.
        let reused = self
            .idle
            .lock()
            .ok()
            .and_then(|mut v| v.pop())
            .and_then(|mut w| matches!(w.child.try_wait(), Ok(None)).then_some(w));
        match reused {
            Some(w) => Ok(w),
            None => self.spawn().map_err(|e| {
                ExtractFailure::Transient(format!("cannot start a reader process: {e}"))
            }),
        }
    }

    /// The pictures of `pages` of a file, decoded in a worker process, placed as the pages
    /// show them; a page without a picture is left out.
    pub async fn pictures(
        &self,
        file: &FileRef,
        bytes: &[u8],
        pages: &[u32],
    ) -> Result<Vec<(u32, Gray)>, ExtractFailure> {
        let (_permit, mut w) = self.take().await?;
        let hard = self.cfg.limits.wall_time + self.cfg.grace;
        match tokio::time::timeout(hard, Self::images(&mut w, bytes, pages)).await {
            Ok(Ok(Ok(images))) => {
                self.release(w);
                Ok(images)
            }
            Ok(Ok(Err(message))) => {
                self.release(w);
                Err(ExtractFailure::File(message))
            }
            Ok(Err(_)) => Err(ExtractFailure::File(self.died(w, file).await)),
            Err(_) => {
                let _ = w.child.kill().await;
                Err(ExtractFailure::File(
                    "timed out decoding the scanned pages".into(),
                ))
            }
        }
    }
}

#[async_trait]
impl Extractor for ProcessPool {
    async fn extract(
        &self,
        file: &FileRef,
        bytes: Arc<Vec<u8>>,
    ) -> Result<DocText, ExtractFailure> {
        let (_permit, mut w) = self.take().await?;
        let hard = self.cfg.limits.wall_time + self.cfg.grace;
        match tokio::time::timeout(hard, Self::roundtrip(&mut w, READ_TEXT, &bytes)).await {
            Ok(Ok(Reply::Text(doc))) => {
                self.release(w);
                Ok(doc)
            }
            Ok(Ok(Reply::Error { message, .. })) => {
                self.release(w);
                Err(ExtractFailure::File(message))
            }
            Ok(Ok(Reply::Images(_))) => Err(ExtractFailure::Transient("unexpected reply".into())),
            Ok(Err(_)) => Err(ExtractFailure::File(self.died(w, file).await)),
            Err(_) => {
                let _ = w.child.kill().await;
                Err(ExtractFailure::File(format!(
                    "timed out after {} s",
                    self.cfg.limits.wall_time.as_secs_f32()
                )))
            }
        }
    }
}

impl ProcessPool {
    fn release(&self, w: Worker) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(w);
        }
    }

    /// Why a worker died on a file.
    async fn died(&self, mut w: Worker, file: &FileRef) -> String {
        let status = tokio::time::timeout(Duration::from_secs(5), w.child.wait())
            .await
            .ok()
            .and_then(Result::ok);
        // Let the stderr reader drain what the worker said last.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let tail = w.stderr_tail.lock().map(|t| t.clone()).unwrap_or_default();
        let reason = self.crash_reason(status, &tail);
        tracing::warn!(path = %file.path, %reason, stderr = %tail.trim(), "reader process died");
        reason
    }
}

/// Options of the worker subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    #[arg(long)]
    pub wall_ms: u64,
    #[arg(long)]
    pub max_decompressed: u64,
    #[arg(long)]
    pub max_ops: usize,
    #[arg(long)]
    pub max_glyphs: usize,
    #[arg(long)]
    pub max_xobject_depth: usize,
    #[arg(long)]
    pub max_ref_depth: usize,
    #[arg(long, default_value_t = 0)]
    pub memory_mb: u64,
}

#[cfg(unix)]
fn limit_memory(mb: u64) {
    if mb == 0 {
        return;
    }
    let bytes = mb.saturating_mul(1024 * 1024) as libc::rlim_t;
    let lim = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: setrlimit with a valid pointer to an initialised struct.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_AS, &lim) };
    if rc != 0 {
        eprintln!("isoscan worker: cannot set the memory limit");
    }
}

#[cfg(not(unix))]
fn limit_memory(_mb: u64) {}

/// The worker process: reads files from stdin, writes replies to stdout, until stdin closes.
pub fn run_worker(args: WorkerArgs) -> std::io::Result<()> {
    let limits = Limits {
        wall_time: Duration::from_millis(args.wall_ms),
        max_decompressed_bytes: args.max_decompressed,
        max_ops_per_page: args.max_ops,
        max_glyphs_per_page: args.max_glyphs,
        max_xobject_depth: args.max_xobject_depth,
        max_ref_depth: args.max_ref_depth,
        ..Limits::default()
    };
    // A generous stack for the PDF parser, within the address-space limit.
    let handle = std::thread::Builder::new().stack_size(64 << 20).spawn(
        move || -> std::io::Result<()> {
            limit_memory(args.memory_mb);
            let stdin = std::io::stdin();
            let stdout = std::io::stdout();
            let mut input = stdin.lock();
            let mut output = stdout.lock();
            let send = |output: &mut std::io::StdoutLock, frame: &[u8]| -> std::io::Result<()> {
                output.write_all(&(frame.len() as u64).to_le_bytes())?;
                output.write_all(frame)
            };
            loop {
                let mut head = [0u8; 9];
                match input.read_exact(&mut head) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                    Err(e) => return Err(e),
                }
                let len = u64::from_le_bytes(head[1..].try_into().unwrap_or_default());
                let mut bytes = Vec::new();
                (&mut input).take(len).read_to_end(&mut bytes)?;
                let error = |code: &str, message: String| Reply::Error {
                    code: code.into(),
                    message,
                };
                if head[0] == READ_IMAGES {
                    let json_len = bytes
                        .get(..4)
                        .and_then(|b| b.try_into().ok())
                        .map_or(0, u32::from_le_bytes) as usize;
                    let (json, file) = bytes
                        .get(4..)
                        .unwrap_or_default()
                        .split_at(json_len.min(bytes.len().saturating_sub(4)));
                    let pages: Vec<u32> = serde_json::from_slice(json).unwrap_or_default();
                    match page_images(file, &limits, &pages) {
                        Ok(list) => {
                            let list: Vec<(u32, Gray)> = list
                                .into_iter()
                                .filter_map(|(p, g)| g.map(|g| (p, g)))
                                .collect();
                            let meta = Reply::Images(
                                list.iter()
                                    .map(|(p, g)| (*p, g.width, g.height, g.dpi))
                                    .collect(),
                            );
                            send(
                                &mut output,
                                &serde_json::to_vec(&meta).map_err(std::io::Error::other)?,
                            )?;
                            for (_, g) in &list {
                                send(&mut output, &g.data)?;
                            }
                        }
                        Err(e) => {
                            let r = error(e.code(), format!("scanned page: {e}"));
                            send(
                                &mut output,
                                &serde_json::to_vec(&r).map_err(std::io::Error::other)?,
                            )?;
                        }
                    }
                    output.flush()?;
                    continue;
                }
                let reply = match extract(&bytes, &limits) {
                    Ok(doc) => Reply::Text(doc),
                    Err(e) => error(e.code(), e.to_string()),
                };
                drop(bytes);
                let out = serde_json::to_vec(&reply).map_err(std::io::Error::other)?;
                send(&mut output, &out)?;
                output.flush()?;
            }
        },
    )?;
    handle
        .join()
        .map_err(|_| std::io::Error::other("worker thread panicked"))?
}
