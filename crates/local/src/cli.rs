//! Adapters of the command line: an events writer and progress bar behind the Notifier port,
//! and a report file behind the ReportStore port.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use indicatif::{ProgressBar, ProgressStyle};
use isoscan_core::protocol::{Envelope, ServerMessage};
use isoscan_engine::ports::{Notifier, NotifyError, ReportStore, ReportStoreError};
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

/// Writes the report to one file, atomically (a temporary file renamed into place).
pub struct ReportFile {
    pub path: PathBuf,
}

#[async_trait]
impl ReportStore for ReportFile {
    fn scratch_dir(&self) -> Option<PathBuf> {
        Some(std::env::temp_dir())
    }

    async fn put(&self, _session_id: &str, bytes: Vec<u8>) -> Result<String, ReportStoreError> {
        let path = absolute(&self.path);
        let tmp = path.with_extension("xlsx.part");
        let err =
            |e: std::io::Error| ReportStoreError(format!("cannot write {}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        std::fs::write(&tmp, bytes).map_err(err)?;
        std::fs::rename(&tmp, &path).map_err(err)?;
        Ok(file_url(&path))
    }

    async fn link(&self, _session_id: &str) -> Result<(String, u64), ReportStoreError> {
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
