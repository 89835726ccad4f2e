//! Adapters of the command line: an events writer and progress bar behind the Notifier port,
//! and a report file behind the ReportStore port.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use indicatif::{ProgressBar, ProgressStyle};
use isoscan_core::protocol::{Envelope, ServerMessage};
use isoscan_engine::ports::{Notifier, NotifyError, ReportStore, ReportStoreError, ReportWriter};
use tokio::sync::watch;

use crate::source::file_url;

/// Writes every message as one NDJSON line (when asked), drives the progress bar, and tells
/// the command when the scan has ended.
pub struct CliNotifier {
    events: Option<Mutex<Box<dyn Write + Send>>>,
    bar: Option<ProgressBar>,
    done: watch::Sender<Option<Envelope>>,
}

impl CliNotifier {
    pub fn new(
        events: Option<Box<dyn Write + Send>>,
        progress_bar: bool,
    ) -> (Self, watch::Receiver<Option<Envelope>>) {
        let bar = progress_bar.then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} files {rate} ETA {eta} {msg}")
                    .map(|s| {
                        s.with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = write!(w, "{:.0}/s", state.per_sec());
                        })
                    })
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        let (tx, rx) = watch::channel(None);
        (
            CliNotifier {
                events: events.map(Mutex::new),
                bar,
                done: tx,
            },
            rx,
        )
    }

    pub fn finish_bar(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[async_trait]
impl Notifier for CliNotifier {
    async fn publish(&self, env: &Envelope) -> Result<(), NotifyError> {
        if let Some(out) = &self.events {
            let line = serde_json::to_string(env).map_err(|e| NotifyError(e.to_string()))?;
            let mut out = out
                .lock()
                .map_err(|_| NotifyError("events writer poisoned".into()))?;
            writeln!(out, "{line}")
                .and_then(|_| out.flush())
                .map_err(|e| NotifyError(format!("cannot write events: {e}")))?;
        }
        match &env.message {
            ServerMessage::Progress {
                processed,
                total,
                matches,
                errors,
                ..
            } => {
                if let Some(bar) = &self.bar {
                    bar.set_length(*total);
                    bar.set_position(*processed);
                    bar.set_message(format!("{matches} matches, {errors} errors"));
                }
            }
            ServerMessage::Complete { .. }
            | ServerMessage::Cancelled { .. }
            | ServerMessage::Error { .. } => {
                let _ = self.done.send(Some(env.clone()));
            }
            _ => {}
        }
        Ok(())
    }
}

/// A report written to a temporary file beside its destination and renamed into place on
/// `store`: a reader never sees half a workbook, and one never stored is removed.
pub struct PartFile {
    file: std::io::BufWriter<tempfile::NamedTempFile>,
    dest: PathBuf,
    url: String,
    /// Run once the file is in place.
    on_stored: Option<Box<dyn FnOnce() + Send>>,
}

impl PartFile {
    /// A part file in `dest`'s folder, created with `mode` (less the umask).
    pub fn create(dest: PathBuf, url: String, mode: u32) -> std::io::Result<PartFile> {
        use std::os::unix::fs::PermissionsExt;
        let dir = dest.parent().unwrap_or(Path::new("."));
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".part")
            .permissions(std::fs::Permissions::from_mode(mode))
            .tempfile_in(dir)?;
        Ok(PartFile {
            file: std::io::BufWriter::new(file),
            dest,
            url,
            on_stored: None,
        })
    }

    /// Runs `f` once the report is in place.
    pub fn on_stored(mut self, f: impl FnOnce() + Send + 'static) -> PartFile {
        self.on_stored = Some(Box::new(f));
        self
    }
}

impl Write for PartFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl std::io::Seek for PartFile {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.file.seek(pos)
    }
}

#[async_trait]
impl ReportWriter for PartFile {
    async fn store(self: Box<Self>) -> Result<String, ReportStoreError> {
        let PartFile {
            file,
            dest,
            url,
            on_stored,
        } = *self;
        let err = |e: &dyn std::fmt::Display| {
            ReportStoreError(format!("cannot write {}: {e}", dest.display()))
        };
        let file = file.into_inner().map_err(|e| err(&e.error().to_string()))?;
        let target = dest.clone();
        tokio::task::spawn_blocking(move || {
            file.as_file().sync_all()?;
            file.persist(&target).map_err(|e| e.error)
        })
        .await
        .map_err(|e| err(&e))?
        .map_err(|e| err(&e))?;
        if let Some(f) = on_stored {
            f();
        }
        Ok(url)
    }
}

/// Writes the report to one file, atomically (a temporary file renamed into place). One scan
/// a command: the file is the report of the session that stored it last.
pub struct ReportFile {
    path: PathBuf,
    stored: std::sync::Arc<Mutex<Option<String>>>,
}

impl ReportFile {
    pub fn new(path: PathBuf) -> ReportFile {
        ReportFile {
            path,
            stored: Default::default(),
        }
    }
}

#[async_trait]
impl ReportStore for ReportFile {
    fn scratch_dir(&self) -> Option<PathBuf> {
        Some(std::env::temp_dir())
    }

    async fn writer(&self, session_id: &str) -> Result<Box<dyn ReportWriter>, ReportStoreError> {
        let path = absolute(&self.path);
        let err =
            |e: std::io::Error| ReportStoreError(format!("cannot write {}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let url = file_url(&path);
        // A report the user asked for by name: the umask decides who reads it.
        let (stored, session) = (self.stored.clone(), session_id.to_string());
        let part = PartFile::create(path.clone(), url, 0o666)
            .map_err(err)?
            .on_stored(move || {
                if let Ok(mut s) = stored.lock() {
                    *s = Some(session);
                }
            });
        Ok(Box::new(part))
    }

    async fn link(&self, session_id: &str) -> Result<(String, u64), ReportStoreError> {
        let ours = self
            .stored
            .lock()
            .map(|s| s.as_deref() == Some(session_id))
            .unwrap_or(false);
        if !ours {
            return Err(ReportStoreError(format!("no report for {session_id}")));
        }
        // A file on this machine: its URL never expires.
        Ok((file_url(&absolute(&self.path)), 0))
    }
}

pub fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}
