//! `isoscan scan`: wires the local adapters to the engine and runs one scan in-process.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use isoscan_core::protocol::ServerMessage;
use isoscan_core::targets::read_targets;
use isoscan_engine::memory::{MemoryQueue, MemoryStore, SystemClock};
use isoscan_engine::{Engine, EngineConfig, Ports, ScanRequest};

use crate::cli::{CliNotifier, ReportFile};
use crate::sandbox::{PoolConfig, ProcessPool};
use crate::source::LocalSource;

#[derive(Debug, Clone, clap::Args)]
pub struct ScanArgs {
    /// A folder of drawings, a .zip archive of them, a Google Drive folder link (or ID), or
    /// s3://bucket/prefix.
    pub source: PathBuf,
    /// The code list: .xlsx, .xlsm, .xls, .ods, .csv or .txt. Without one, every file is
    /// reported with the codes the discovery pattern finds.
    #[arg(long, short)]
    pub targets: Option<PathBuf>,
    /// Sheet of the code list (name or 1-based number); the first by default.
    #[arg(long)]
    pub sheet: Option<String>,
    /// Column of the code list (letter, 1-based number or header); A by default.
    #[arg(long)]
    pub column: Option<String>,
    /// Discovery pattern for scans without a code list.
    #[arg(long, conflicts_with = "targets")]
    pub pattern: Option<String>,
    /// Where to write the Excel report.
    #[arg(long, short, default_value = "isoscan-report.xlsx")]
    pub out: PathBuf,
    /// Write every event as NDJSON to this file, or to standard output with `-`.
    #[arg(long)]
    pub events: Option<String>,
    #[command(flatten)]
    pub reading: ReadingArgs,
    #[command(flatten)]
    pub remote: crate::remote::RemoteArgs,
}

/// How drawings are read: parallelism and the per-file limits (`scan` and `serve` alike).
#[derive(Debug, Clone, clap::Args)]
pub struct ReadingArgs {
    /// Files read at once (default: the number of cores).
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Time limit per file, in seconds.
    #[arg(long, default_value_t = 30)]
    pub file_timeout: u64,
    /// Memory limit of each reader process, in MiB.
    #[arg(long, default_value_t = 1024)]
    pub file_memory_mb: u64,
    /// Data a file may decompress to, in MiB.
    #[arg(long, default_value_t = 256)]
    pub file_max_inflate_mb: u64,
    /// Operators one page may hold.
    #[arg(long, default_value_t = 10_000_000)]
    pub page_max_operators: usize,
    /// Glyphs one page may show.
    #[arg(long, default_value_t = 2_000_000)]
    pub page_max_glyphs: usize,
    /// How deeply form XObjects may nest.
    #[arg(long, default_value_t = 16)]
    pub max_xobject_depth: usize,
    /// Leave scanned pages (no text layer) unread instead of reading them with Tesseract.
    #[arg(long)]
    pub no_ocr: bool,
    /// On scanned pages, read level text only: skips the five passes for text running up or
    /// down the sheet or along a pipe drawn at an angle (OCR faster; such codes are missed).
    #[arg(long)]
    pub ocr_level_only: bool,
}

impl ReadingArgs {
    pub fn jobs(&self) -> usize {
        self.jobs
            .unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2)
            })
            .max(1)
    }

    /// The reader pool these settings describe.
    pub fn pool(&self, program: PathBuf) -> PoolConfig {
        let mut pool = PoolConfig::new(program, self.jobs());
        pool.limits.wall_time = Duration::from_secs(self.file_timeout.max(1));
        pool.memory_mb = self.file_memory_mb;
        pool.limits.max_decompressed_bytes = self.file_max_inflate_mb.saturating_mul(1 << 20);
        pool.limits.max_ops_per_page = self.page_max_operators;
        pool.limits.max_glyphs_per_page = self.page_max_glyphs;
        pool.limits.max_xobject_depth = self.max_xobject_depth;
        pool
    }

    /// OCR as these settings ask for it; `None` when it is off.
    pub fn ocr_config(&self) -> Option<crate::ocr::OcrConfig> {
        let mut ocr = (!self.no_ocr).then(crate::ocr::OcrConfig::default)?;
        if self.ocr_level_only {
            ocr.passes.retain(|p| p.turn == 0);
        }
        Some(ocr)
    }

    /// The reader pool and the OCR over it.
    pub fn readers(
        &self,
        program: PathBuf,
    ) -> (
        Arc<ProcessPool>,
        Option<Arc<dyn isoscan_engine::ports::Ocr>>,
    ) {
        let pool = Arc::new(ProcessPool::new(self.pool(program)));
        let ocr = self.ocr_config().map(|cfg| {
            Arc::new(crate::ocr::TesseractOcr::new(pool.clone(), cfg))
                as Arc<dyn isoscan_engine::ports::Ocr>
        });
        (pool, ocr)
    }
}

/// What a scan that ran to its end reports.
pub struct Finished {
    pub summary: String,
}

/// Errors that end the command before or during a scan (exit code 1).
pub async fn run(args: ScanArgs, program: PathBuf) -> anyhow::Result<Finished> {
    let targets = match &args.targets {
        Some(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read the code list {}", path.display()))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let list = read_targets(&bytes, &name, args.sheet.as_deref(), args.column.as_deref())
                .with_context(|| format!("{}", path.display()))?;
            Some(list)
        }
        None => None,
    };
    check_writable(&args.out)?;
    let jobs = args.reading.jobs();
    let events: Option<Box<dyn std::io::Write + Send>> = match args.events.as_deref() {
        None => None,
        Some("-") => Some(Box::new(std::io::stdout())),
        Some(path) => Some(Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write the events file {path}"))?,
        ))),
    };
    let (notifier, mut done) = CliNotifier::new(events, std::io::stderr().is_terminal());
    let notifier = Arc::new(notifier);
    let (pool, ocr) = args.reading.readers(program);
    let store = Arc::new(MemoryStore::new());
    let ports = Ports {
        sessions: store.clone(),
        events: store.clone(),
        queue: Arc::new(MemoryQueue::new()),
        source: Arc::new(
            crate::remote::sources(&args.remote, Arc::new(LocalSource::new(None)), None).await?,
        ),
        extractor: pool,
        ocr,
        notifier: notifier.clone(),
        reports: Arc::new(ReportFile::new(args.out.clone())),
        uploads: Arc::new(isoscan_engine::memory::MemoryUploads::new()),
        clock: Arc::new(SystemClock),
    };
    let engine = Arc::new(Engine::new(ports, EngineConfig::default()));
    let source = args.source.to_string_lossy().into_owned();
    let session = engine
        .start_scan(ScanRequest {
            owner: "local".into(),
            source: source.clone(),
            targets,
            pattern: args.pattern.clone(),
        })
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut workers = vec![];
    for _ in 0..jobs {
        let e = engine.clone();
        let rx = stop_rx.clone();
        workers.push(tokio::spawn(async move { e.work(rx).await }));
    }
    let end = tokio::select! {
        r = done.wait_for(|d| d.is_some()) => r.ok().and_then(|d| d.clone()),
        _ = tokio::signal::ctrl_c() => {
            let _ = engine.cancel(&session.id, "local").await;
            None
        }
    };
    let _ = stop_tx.send(true);
    for w in workers {
        let _ = w.await;
    }
    notifier.finish_bar();
    match end.map(|e| e.message) {
        Some(ServerMessage::Complete {
            total_files,
            total_processed,
            total_matches,
            errors,
            skipped,
            codes_found_count,
            codes_not_found_count,
            needs_ocr,
            ..
        }) => {
            let codes = if codes_found_count + codes_not_found_count > 0 {
                format!(
                    "; {} of {} codes found",
                    codes_found_count,
                    codes_found_count + codes_not_found_count
                )
            } else {
                String::new()
            };
            let ocr = if needs_ocr > 0 {
                format!(", {needs_ocr} without a text layer (need OCR)")
            } else {
                String::new()
            };
            let report = crate::cli::absolute(&args.out);
            let summary = format!(
                "{total_files} files: {total_processed} read, {skipped} skipped, {total_matches} with a match, {errors} errors{ocr}{codes}. Report: {}",
                report.display()
            );
            Ok(Finished { summary })
        }
        Some(ServerMessage::Error { message, .. }) => Err(anyhow!("{message}")),
        _ => Err(anyhow!("the scan was cancelled")),
    }
}

/// Fails now, not after the scan, when the report cannot be written where asked.
fn check_writable(out: &std::path::Path) -> anyhow::Result<()> {
    let out = crate::cli::absolute(out);
    if out.is_dir() {
        return Err(anyhow!(
            "{} is a folder; give a file name for the report",
            out.display()
        ));
    }
    let dir = out
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the report folder {}", dir.display()))?;
    let probe = out.with_extension("xlsx.part");
    std::fs::write(&probe, b"")
        .with_context(|| format!("cannot write the report to {}", out.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}
