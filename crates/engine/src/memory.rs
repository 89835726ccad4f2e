//! In-memory adapters of every port. They are as strict as the cloud ones: conditional
//! inserts, one winner for finalize, redelivery after the visibility timeout.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use isoscan_core::protocol::{Envelope, ServerMessage};
use isoscan_core::result::FileResult;
use tokio::sync::Notify;

use crate::ports::*;

#[derive(Default)]
struct SessionRow {
    session: Option<Session>,
    results: BTreeMap<String, FileResult>,
    last_progress_ms: Option<u64>,
    events: Vec<Envelope>,
    pages: std::collections::HashSet<String>,
    targets: Vec<String>,
}

/// Sessions, results and the event log in memory.
#[derive(Default)]
pub struct MemoryStore {
    rows: Mutex<HashMap<String, SessionRow>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(
        &self,
        id: &str,
        f: impl FnOnce(&mut SessionRow) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut rows = self
            .rows
            .lock()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?;
        match rows.get_mut(id) {
            Some(row) if row.session.is_some() => f(row),
            _ => Err(StoreError::NotFound(id.to_string())),
        }
    }
}

fn session_mut(row: &mut SessionRow) -> Result<&mut Session, StoreError> {
    row.session
        .as_mut()
        .ok_or_else(|| StoreError::NotFound(String::new()))
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create(&self, session: &Session, targets: &[String]) -> Result<(), StoreError> {
        let mut rows = self
            .rows
            .lock()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?;
        if rows.get(&session.id).is_some_and(|r| r.session.is_some()) {
            return Err(StoreError::AlreadyExists(session.id.clone()));
        }
        let row = rows.entry(session.id.clone()).or_default();
        row.session = Some(session.clone());
        row.targets = targets.to_vec();
        Ok(())
    }

    async fn targets(&self, id: &str) -> Result<Vec<String>, StoreError> {
        self.with(id, |row| Ok(row.targets.clone()))
    }

    async fn get(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let rows = self
            .rows
            .lock()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?;
        Ok(rows.get(id).and_then(|r| r.session.clone()))
    }

    async fn add_listed(
        &self,
        id: &str,
        page: &str,
        files: u64,
        skipped: u64,
        done: bool,
    ) -> Result<Option<Session>, StoreError> {
        self.with(id, |row| {
            if !row.pages.insert(page.to_string()) {
                return Ok(None);
            }
            let s = session_mut(row)?;
            s.total += files;
            s.skipped += skipped;
            s.listing_done |= done;
            Ok(Some(s.clone()))
        })
    }

    async fn record(&self, id: &str, result: &FileResult) -> Result<Recorded, StoreError> {
        self.with(id, |row| {
            if row.results.contains_key(&result.file.path) {
                return Ok(Recorded::Duplicate(session_mut(row)?.clone()));
            }
            row.results.insert(result.file.path.clone(), result.clone());
            let s = session_mut(row)?;
            s.processed += 1;
            s.matches += u64::from(result.is_match());
            s.errors += u64::from(result.is_error());
            Ok(Recorded::Inserted(s.clone()))
        })
    }

    async fn has_result(&self, id: &str, path: &str) -> Result<bool, StoreError> {
        self.with(id, |row| Ok(row.results.contains_key(path)))
    }

    async fn try_begin_finalize(&self, id: &str) -> Result<bool, StoreError> {
        self.with(id, |row| {
            let s = session_mut(row)?;
            if s.status == SessionStatus::Running && s.all_processed() {
                s.status = SessionStatus::Finalizing;
                Ok(true)
            } else {
                Ok(false)
            }
        })
    }

    async fn transition(
        &self,
        id: &str,
        from: SessionStatus,
        to: SessionStatus,
        now_ms: u64,
        report_url: Option<String>,
    ) -> Result<bool, StoreError> {
        self.with(id, |row| {
            let s = session_mut(row)?;
            if s.status != from {
                return Ok(false);
            }
            s.status = to;
            if to.is_final() {
                s.finished_at_ms = Some(now_ms);
            }
            if report_url.is_some() {
                s.report_url = report_url;
            }
            Ok(true)
        })
    }

    async fn results(
        &self,
        id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FileResult>, StoreError> {
        self.with(id, |row| {
            let iter: Box<dyn Iterator<Item = (&String, &FileResult)>> =
                match after {
                    Some(a) => Box::new(row.results.range::<str, _>((
                        std::ops::Bound::Excluded(a),
                        std::ops::Bound::Unbounded,
                    ))),
                    None => Box::new(row.results.iter()),
                };
            Ok(iter.take(limit).map(|(_, r)| r.clone()).collect())
        })
    }

    async fn active(&self, owner: &str) -> Result<u64, StoreError> {
        let rows = self
            .rows
            .lock()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?;
        Ok(rows
            .values()
            .filter_map(|r| r.session.as_ref())
            .filter(|s| s.owner == owner && !s.status.is_final())
            .count() as u64)
    }

    async fn claim_progress(
        &self,
        id: &str,
        now_ms: u64,
        min_interval_ms: u64,
    ) -> Result<bool, StoreError> {
        self.with(id, |row| match row.last_progress_ms {
            Some(last) if now_ms < last.saturating_add(min_interval_ms) => Ok(false),
            _ => {
                row.last_progress_ms = Some(now_ms);
                Ok(true)
            }
        })
    }
}

#[async_trait]
impl EventLog for MemoryStore {
    async fn append(
        &self,
        session_id: &str,
        message: &ServerMessage,
    ) -> Result<Envelope, StoreError> {
        let mut rows = self
            .rows
            .lock()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?;
        let row = rows.entry(session_id.to_string()).or_default();
        let env = Envelope {
            session_id: session_id.to_string(),
            seq: row.events.len() as u64 + 1,
            ts: None,
            req_id: None,
            message: message.clone(),
        };
        row.events.push(env.clone());
        Ok(env)
    }

    async fn since(
        &self,
        session_id: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<Envelope>, StoreError> {
        let rows = self
            .rows
            .lock()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?;
        Ok(rows
            .get(session_id)
            .map(|r| {
                r.events
                    .iter()
                    .skip(since as usize)
                    .take(limit)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }
}

struct InFlight {
    job: Job,
    until: Instant,
    receive_count: u32,
}

#[derive(Default)]
struct QueueState {
    /// (visible at, job, receives so far)
    ready: VecDeque<(Instant, Job, u32)>,
    in_flight: HashMap<String, InFlight>,
    next_receipt: u64,
}

/// An at-least-once queue in memory.
#[derive(Default)]
pub struct MemoryQueue {
    state: Mutex<QueueState>,
    notify: Notify,
}

impl MemoryQueue {
    pub fn new() -> Self {
        Self::default()
    }

    fn take(
        &self,
        max: usize,
        visibility: Duration,
    ) -> Result<(Vec<Delivery>, Option<Instant>), QueueError> {
        let mut st = self
            .state
            .lock()
            .map_err(|_| QueueError::Unavailable("lock poisoned".into()))?;
        let now = Instant::now();
        // Jobs whose visibility timeout ran out are delivered again.
        let expired: Vec<String> = st
            .in_flight
            .iter()
            .filter(|(_, f)| f.until <= now)
            .map(|(r, _)| r.clone())
            .collect();
        for r in expired {
            if let Some(f) = st.in_flight.remove(&r) {
                st.ready.push_back((now, f.job, f.receive_count));
            }
        }
        let mut out = vec![];
        let mut i = 0;
        while i < st.ready.len() && out.len() < max {
            if st.ready[i].0 <= now {
                if let Some((_, job, count)) = st.ready.remove(i) {
                    st.next_receipt += 1;
                    let receipt = format!("r{}", st.next_receipt);
                    st.in_flight.insert(
                        receipt.clone(),
                        InFlight {
                            job: job.clone(),
                            until: now + visibility,
                            receive_count: count + 1,
                        },
                    );
                    out.push(Delivery {
                        job,
                        receipt,
                        receive_count: count + 1,
                    });
                }
            } else {
                i += 1;
            }
        }
        let next = st
            .ready
            .iter()
            .map(|r| r.0)
            .chain(st.in_flight.values().map(|f| f.until))
            .min();
        Ok((out, next))
    }
}

#[async_trait]
impl JobQueue for MemoryQueue {
    async fn send(&self, jobs: Vec<Job>) -> Result<(), QueueError> {
        {
            let mut st = self
                .state
                .lock()
                .map_err(|_| QueueError::Unavailable("lock poisoned".into()))?;
            let now = Instant::now();
            for j in jobs {
                st.ready.push_back((now, j, 0));
            }
        }
        self.notify.notify_waiters();
        Ok(())
    }

    async fn receive(
        &self,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        let deadline = Instant::now() + wait;
        loop {
            let notified = self.notify.notified();
            let (got, next) = self.take(max, visibility)?;
            let now = Instant::now();
            if !got.is_empty() || now >= deadline {
                return Ok(got);
            }
            let until = next.map(|n| n.min(deadline)).unwrap_or(deadline);
            let _ = tokio::time::timeout(until.saturating_duration_since(now), notified).await;
        }
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        let mut st = self
            .state
            .lock()
            .map_err(|_| QueueError::Unavailable("lock poisoned".into()))?;
        st.in_flight
            .remove(receipt)
            .map(|_| ())
            .ok_or(QueueError::UnknownReceipt)
    }

    async fn retry(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        {
            let mut st = self
                .state
                .lock()
                .map_err(|_| QueueError::Unavailable("lock poisoned".into()))?;
            let f = st
                .in_flight
                .remove(receipt)
                .ok_or(QueueError::UnknownReceipt)?;
            st.ready
                .push_back((Instant::now() + delay, f.job, f.receive_count));
        }
        self.notify.notify_waiters();
        Ok(())
    }
}

/// Keeps reports in memory; the URL is `memory://SESSION`.
#[derive(Default)]
pub struct MemoryReports {
    pub reports: std::sync::Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

/// A report written into memory, kept on `store`.
struct MemoryReportWriter {
    session: String,
    bytes: std::io::Cursor<Vec<u8>>,
    reports: std::sync::Arc<Mutex<HashMap<String, Vec<u8>>>>,
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

/// Uploads held in memory: the record and files by name per key.
#[derive(Default)]
pub struct MemoryUploads {
    uploads: Mutex<HashMap<String, MemoryUpload>>,
    next: std::sync::atomic::AtomicU64,
}

struct MemoryUpload {
    meta: UploadMeta,
    files: BTreeMap<String, Vec<u8>>,
}

impl MemoryUploads {
    pub fn new() -> Self {
        Self::default()
    }

    /// What a client's PUT to the ticket's URL does.
    pub fn put(&self, key: &str, file_name: &str, bytes: Vec<u8>) -> Result<(), UploadError> {
        let mut u = self
            .uploads
            .lock()
            .map_err(|_| UploadError::Unavailable("lock poisoned".into()))?;
        let up = u
            .get_mut(key)
            .ok_or_else(|| UploadError::NotFound(key.to_string()))?;
        up.files.insert(file_name.to_string(), bytes);
        Ok(())
    }

    fn with<T>(
        &self,
        key: &str,
        f: impl FnOnce(&MemoryUpload) -> Result<T, UploadError>,
    ) -> Result<T, UploadError> {
        let u = self
            .uploads
            .lock()
            .map_err(|_| UploadError::Unavailable("lock poisoned".into()))?;
        f(u.get(key)
            .ok_or_else(|| UploadError::NotFound(key.to_string()))?)
    }
}

#[async_trait]
impl UploadStore for MemoryUploads {
    async fn create(&self, meta: &UploadMeta) -> Result<String, UploadError> {
        let k = format!(
            "u{}",
            self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        self.uploads
            .lock()
            .map_err(|_| UploadError::Unavailable("lock poisoned".into()))?
            .insert(
                k.clone(),
                MemoryUpload {
                    meta: meta.clone(),
                    files: BTreeMap::new(),
                },
            );
        Ok(k)
    }

    async fn meta(&self, key: &str) -> Result<UploadMeta, UploadError> {
        self.with(key, |u| Ok(u.meta.clone()))
    }

    async fn ticket(&self, key: &str, name: &str, _size: u64) -> Result<UploadTicket, UploadError> {
        self.with(key, |_| Ok(()))?;
        Ok(UploadTicket {
            url: format!("memory://{key}/{name}"),
            key: key.to_string(),
            expires_in: crate::usecases::UPLOAD_LINK_S,
        })
    }

    async fn files(&self, key: &str) -> Result<Vec<(String, u64)>, UploadError> {
        self.with(key, |u| {
            Ok(u.files
                .iter()
                .map(|(n, b)| (n.clone(), b.len() as u64))
                .collect())
        })
    }

    async fn read(&self, key: &str, name: &str) -> Result<Vec<u8>, UploadError> {
        self.with(key, |u| {
            u.files
                .get(name)
                .cloned()
                .ok_or_else(|| UploadError::NotFound(format!("{key}/{name}")))
        })
    }

    async fn usage(&self, owner: &str) -> Result<Option<UploadUsage>, UploadError> {
        let u = self
            .uploads
            .lock()
            .map_err(|_| UploadError::Unavailable("lock poisoned".into()))?;
        let mut usage = UploadUsage::default();
        for up in u.values().filter(|up| up.meta.owner == owner) {
            if up.files.is_empty() {
                usage.waiting += 1;
                usage.bytes += up.meta.announced;
            } else {
                usage.bytes += up.files.values().map(|b| b.len() as u64).sum::<u64>();
            }
        }
        Ok(Some(usage))
    }
}

/// Collects every published message.
#[derive(Default)]
pub struct MemoryNotifier {
    pub sent: Mutex<Vec<Envelope>>,
}

#[async_trait]
impl Notifier for MemoryNotifier {
    async fn publish(&self, envelope: &Envelope) -> Result<(), NotifyError> {
        self.sent
            .lock()
            .map_err(|_| NotifyError("lock poisoned".into()))?
            .push(envelope.clone());
        Ok(())
    }
}

/// The system clock, and ids of 128 random bits (32 hex digits): a session id is not to be
/// guessed from the time it was made.
#[derive(Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    fn new_id(&self) -> String {
        use rand::{RngCore, SeedableRng};
        let mut b = [0u8; 16];
        rand::rngs::StdRng::from_os_rng().fill_bytes(&mut b);
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}

/// A source of in-memory files: `location` names a folder of `files`, listed `page_size` at a
/// time. Paths ending in `.pdf` are drawings, others are skipped; a path in `broken` fails to
/// fetch; `transient` fetch failures happen that many times first.
#[derive(Default)]
pub struct MemorySource {
    pub files: BTreeMap<String, Vec<u8>>,
    pub broken: Vec<String>,
    pub page_size: usize,
    pub transient: Mutex<u32>,
    /// Links that expire: each `relink` signs anew (`memory:PATH?signed=N`).
    pub expiring_links: bool,
    pub signed: std::sync::atomic::AtomicU64,
}

#[async_trait]
impl Source for MemorySource {
    async fn check(&self, location: &str) -> Result<(), SourceError> {
        if location == "memory:" {
            Ok(())
        } else {
            Err(SourceError::NotFound(location.to_string()))
        }
    }

    async fn list(&self, location: &str, cursor: Option<&str>) -> Result<ListPage, SourceError> {
        self.check(location).await?;
        let start: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
        let names: Vec<&String> = self.files.keys().collect();
        let size = self.page_size.max(1);
        let mut page = ListPage::default();
        for name in names.iter().skip(start).take(size) {
            if name.ends_with(".pdf") {
                page.files.push(isoscan_core::result::FileRef {
                    id: None,
                    path: name.to_string(),
                    size: None,
                    link: if self.expiring_links {
                        format!("memory:{name}?listed")
                    } else {
                        format!("memory:{name}")
                    },
                });
            } else {
                page.skipped.push(name.to_string());
            }
        }
        if start + size < names.len() {
            page.next = Some((start + size).to_string());
        }
        Ok(page)
    }

    async fn fetch(
        &self,
        _location: &str,
        file: &isoscan_core::result::FileRef,
        max_bytes: u64,
    ) -> Result<Vec<u8>, SourceError> {
        {
            let mut t = self
                .transient
                .lock()
                .map_err(|_| SourceError::Transient("lock".into()))?;
            if *t > 0 {
                *t -= 1;
                return Err(SourceError::Transient("try again".into()));
            }
        }
        if self.broken.contains(&file.path) {
            return Err(SourceError::File("cannot read".into()));
        }
        let b = self
            .files
            .get(&file.path)
            .ok_or_else(|| SourceError::File("gone".into()))?;
        if b.len() as u64 > max_bytes {
            return Err(SourceError::File(format!("larger than {max_bytes} bytes")));
        }
        Ok(b.clone())
    }

    async fn relink(
        &self,
        _location: &str,
        file: &isoscan_core::result::FileRef,
    ) -> Option<String> {
        if !self.expiring_links {
            return None;
        }
        let n = self
            .signed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(format!("memory:{}?signed={n}", file.path))
    }
}

/// Reads a "drawing" as UTF-8 text, pages split by form feeds; invalid UTF-8 is unreadable.
#[derive(Default)]
pub struct TextExtractor;

#[async_trait]
impl Extractor for TextExtractor {
    async fn extract(
        &self,
        _file: &isoscan_core::result::FileRef,
        bytes: Vec<u8>,
    ) -> Result<isoscan_core::text::DocText, ExtractFailure> {
        let text = String::from_utf8(bytes).map_err(|_| ExtractFailure::File("not text".into()))?;
        Ok(isoscan_core::text::DocText {
            pages: text
                .split('\u{c}')
                .map(|p| isoscan_core::text::PageText {
                    ocr: false,
                    text: p.to_string(),
                    needs_ocr: p.trim().is_empty(),
                })
                .collect(),
        })
    }
}
