//! Reports in memory.

use super::*;

/// Keeps reports in memory; the URL is `memory://SESSION`.
#[derive(Default)]
pub struct MemoryReports {
    pub reports: Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

/// A report written into memory, kept on `store`.
pub(super) struct MemoryReportWriter {
    session: String,
    bytes: std::io::Cursor<Vec<u8>>,
    reports: Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

impl std::io::Write for MemoryReportWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl std::io::Seek for MemoryReportWriter {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.bytes.seek(pos)
    }
}

#[async_trait]
impl ReportWriter for MemoryReportWriter {
    async fn store(self: Box<Self>) -> Result<String, ReportStoreError> {
        let url = format!("memory://{}", self.session);
        self.reports
            .lock()
            .map_err(|_| ReportStoreError("lock poisoned".into()))?
            .insert(self.session, self.bytes.into_inner());
        Ok(url)
    }
}

#[async_trait]
impl ReportStore for MemoryReports {
    fn scratch_dir(&self) -> Option<PathBuf> {
        None
    }

    async fn writer(&self, session_id: &str) -> Result<Box<dyn ReportWriter>, ReportStoreError> {
        Ok(Box::new(MemoryReportWriter {
            session: session_id.to_string(),
            bytes: std::io::Cursor::new(Vec::new()),
            reports: self.reports.clone(),
        }))
    }

    async fn link(&self, session_id: &str) -> Result<(String, u64), ReportStoreError> {
        let has = self
            .reports
            .lock()
            .map_err(|_| ReportStoreError("lock poisoned".into()))?
            .contains_key(session_id);
        if has {
            Ok((format!("memory://{session_id}"), 3600))
        } else {
            Err(ReportStoreError(format!("no report for {session_id}")))
        }
    }
}
