//! Fault injection over every port: a wrapper that fails, or stops the invocation at, the Nth
//! call of any port method, and a run that loops N over every call of a scan. After each run
//! the scan must have reached COMPLETE with every count exact, each result once and COMPLETE
//! once, whatever adapters the ports are (memory here; DynamoDB and SQS on moto elsewhere).

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use isoscan_core::protocol::{Envelope, ServerMessage};
use isoscan_core::result::{FileRef, FileResult};
use isoscan_core::text::DocText;

use crate::ports::*;
use crate::usecases::{Engine, EngineConfig, JobOutcome, Ports, ScanRequest};

/// What the injected call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answers with the port's "try again" error (unavailable, transient).
    Fail,
    /// Never answers: the invocation stops there, as a Lambda that timed out or crashed; its
    /// messages are delivered again after their visibility timeout.
    Stop,
}

/// The call counter every wrapped port shares.
#[derive(Default)]
pub struct Faults {
    calls: AtomicU64,
    /// The call (1-based) the fault hits; 0: none.
    at: AtomicU64,
    stop: AtomicBool,
    stopped: tokio::sync::Notify,
    hit: std::sync::Mutex<Option<String>>,
    /// Calls by method since the last `arm`.
    by_method: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

enum Go {
    On,
    Fail,
    Stop,
}

impl Faults {
    fn arm(&self, at: u64, fault: Fault) {
        self.calls.store(0, Ordering::SeqCst);
        if let Ok(mut m) = self.by_method.lock() {
            m.clear();
        }
        self.stop.store(fault == Fault::Stop, Ordering::SeqCst);
        self.at.store(at, Ordering::SeqCst);
    }

    fn check(&self, what: &str) -> Go {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if let Ok(mut m) = self.by_method.lock() {
            *m.entry(what.to_string()).or_default() += 1;
        }
        if n != self.at.load(Ordering::SeqCst) {
            return Go::On;
        }
        if let Ok(mut h) = self.hit.lock() {
            *h = Some(what.to_string());
        }
        if self.stop.load(Ordering::SeqCst) {
            self.stopped.notify_waiters();
            Go::Stop
        } else {
            Go::Fail
        }
    }

    /// Calls counted since the last `arm`.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    /// Calls of `method` counted since the last `arm`.
    pub fn calls_of(&self, method: &str) -> u64 {
        self.by_method
            .lock()
            .ok()
            .and_then(|m| m.get(method).copied())
            .unwrap_or(0)
    }

    /// The method the fault hit.
    pub fn hit(&self) -> Option<String> {
        self.hit.lock().ok().and_then(|h| h.clone())
    }
}

/// Runs `call` unless the fault hits here: then `fail` or a call that never returns.
async fn guarded<T, E>(
    f: &Faults,
    what: &str,
    fail: impl FnOnce() -> E,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    match f.check(what) {
        Go::On => call.await,
        Go::Fail => Err(fail()),
        Go::Stop => std::future::pending().await,
    }
}

fn down() -> StoreError {
    StoreError::Unavailable("injected".into())
}

struct Store(Arc<dyn SessionStore>, Arc<Faults>);
struct Log(Arc<dyn EventLog>, Arc<Faults>);
struct Queue(Arc<dyn JobQueue>, Arc<Faults>);
struct Src(Arc<dyn Source>, Arc<Faults>);
struct Ext(Arc<dyn Extractor>, Arc<Faults>);
struct Note(Arc<dyn Notifier>, Arc<Faults>);
struct Reports(Arc<dyn ReportStore>, Arc<Faults>);

#[async_trait]
impl SessionStore for Store {
    async fn create(&self, s: &Session, targets: &[String]) -> Result<(), StoreError> {
        guarded(&self.1, "create", down, self.0.create(s, targets)).await
    }
    async fn targets(&self, id: &str) -> Result<Vec<String>, StoreError> {
        guarded(&self.1, "targets", down, self.0.targets(id)).await
    }
    async fn get(&self, id: &str) -> Result<Option<Session>, StoreError> {
        guarded(&self.1, "get", down, self.0.get(id)).await
    }
    async fn add_listed(
        &self,
        id: &str,
        page: &str,
        next: Option<&str>,
        files: u64,
        skipped: u64,
    ) -> Result<Listed, StoreError> {
        let call = self.0.add_listed(id, page, next, files, skipped);
        guarded(&self.1, "add_listed", down, call).await
    }
    async fn record_many(
        &self,
        id: &str,
        results: &[FileResult],
    ) -> Result<RecordedMany, StoreError> {
        guarded(
            &self.1,
            "record_many",
            down,
            self.0.record_many(id, results),
        )
        .await
    }
    async fn has_result(&self, id: &str, path: &str) -> Result<bool, StoreError> {
        guarded(&self.1, "has_result", down, self.0.has_result(id, path)).await
    }
    async fn try_begin_finalize(&self, id: &str, now_ms: u64) -> Result<bool, StoreError> {
        let call = self.0.try_begin_finalize(id, now_ms);
        guarded(&self.1, "try_begin_finalize", down, call).await
    }
    async fn transition(
        &self,
        id: &str,
        from: SessionStatus,
        to: SessionStatus,
        now_ms: u64,
        report_url: Option<String>,
    ) -> Result<bool, StoreError> {
        let call = self.0.transition(id, from, to, now_ms, report_url);
        guarded(&self.1, "transition", down, call).await
    }
    async fn results(
        &self,
        id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FileResult>, StoreError> {
        guarded(&self.1, "results", down, self.0.results(id, after, limit)).await
    }
    async fn active(&self, owner: &str) -> Result<u64, StoreError> {
        guarded(&self.1, "active", down, self.0.active(owner)).await
    }
    async fn unfinished(&self) -> Result<Vec<Session>, StoreError> {
        guarded(&self.1, "unfinished", down, self.0.unfinished()).await
    }
    async fn claim_progress(&self, id: &str, now_ms: u64, min: u64) -> Result<bool, StoreError> {
        let call = self.0.claim_progress(id, now_ms, min);
        guarded(&self.1, "claim_progress", down, call).await
    }
}

#[async_trait]
impl EventLog for Log {
    async fn append(&self, id: &str, message: &ServerMessage) -> Result<Envelope, StoreError> {
        guarded(&self.1, "append", down, self.0.append(id, message)).await
    }
    async fn append_once(
        &self,
        id: &str,
        key: &str,
        message: &ServerMessage,
    ) -> Result<Option<Envelope>, StoreError> {
        let call = self.0.append_once(id, key, message);
        guarded(&self.1, "append_once", down, call).await
    }
    async fn since(&self, id: &str, since: u64, limit: usize) -> Result<Vec<Envelope>, StoreError> {
        guarded(&self.1, "since", down, self.0.since(id, since, limit)).await
    }
}

fn queue_down() -> QueueError {
    QueueError::Unavailable("injected".into())
}

/// Sends and retries are the worker's calls; receives and deletes are the poller's (Lambda's
/// on AWS), which this wrapper leaves alone.
#[async_trait]
impl JobQueue for Queue {
    async fn send(&self, jobs: Vec<Job>) -> Result<(), QueueError> {
        guarded(&self.1, "send", queue_down, self.0.send(jobs)).await
    }
    async fn receive(
        &self,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        self.0.receive(max, visibility, wait).await
    }
    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        self.0.ack(receipt).await
    }
    async fn retry(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        guarded(&self.1, "retry", queue_down, self.0.retry(receipt, delay)).await
    }
}

fn transient() -> SourceError {
    SourceError::Transient("injected".into())
}

#[async_trait]
impl Source for Src {
    async fn check(&self, location: &str) -> Result<(), SourceError> {
        guarded(&self.1, "check", transient, self.0.check(location)).await
    }
    async fn list(&self, location: &str, cursor: Option<&str>) -> Result<ListPage, SourceError> {
        guarded(&self.1, "list", transient, self.0.list(location, cursor)).await
    }
    async fn fetch(
        &self,
        location: &str,
        file: &FileRef,
        max_bytes: u64,
    ) -> Result<Vec<u8>, SourceError> {
        let call = self.0.fetch(location, file, max_bytes);
        guarded(&self.1, "fetch", transient, call).await
    }
    async fn relink(&self, location: &str, file: &FileRef) -> Option<String> {
        self.0.relink(location, file).await
    }
}

#[async_trait]
impl Extractor for Ext {
    async fn extract(
        &self,
        file: &FileRef,
        bytes: Arc<Vec<u8>>,
    ) -> Result<DocText, ExtractFailure> {
        let fail = || ExtractFailure::Transient("injected".into());
        guarded(&self.1, "extract", fail, self.0.extract(file, bytes)).await
    }
}

#[async_trait]
impl Notifier for Note {
    async fn publish(&self, envelope: &Envelope) -> Result<(), NotifyError> {
        let fail = || NotifyError("injected".into());
        guarded(&self.1, "publish", fail, self.0.publish(envelope)).await
    }
}

#[async_trait]
impl ReportStore for Reports {
    fn scratch_dir(&self) -> Option<std::path::PathBuf> {
        self.0.scratch_dir()
    }
    async fn writer(&self, session_id: &str) -> Result<Box<dyn ReportWriter>, ReportStoreError> {
        let fail = || ReportStoreError("injected".into());
        guarded(&self.1, "writer", fail, self.0.writer(session_id)).await
    }
    async fn link(&self, session_id: &str) -> Result<(String, u64), ReportStoreError> {
        let fail = || ReportStoreError("injected".into());
        guarded(&self.1, "link", fail, self.0.link(session_id)).await
    }
}

/// The ports with every call counted by `faults` (OCR, uploads and the clock as they are).
pub fn faulty(p: &Ports, faults: &Arc<Faults>) -> Ports {
    let f = || faults.clone();
    Ports {
        sessions: Arc::new(Store(p.sessions.clone(), f())),
        events: Arc::new(Log(p.events.clone(), f())),
        queue: Arc::new(Queue(p.queue.clone(), f())),
        source: Arc::new(Src(p.source.clone(), f())),
        extractor: Arc::new(Ext(p.extractor.clone(), f())),
        ocr: p.ocr.clone(),
        notifier: Arc::new(Note(p.notifier.clone(), f())),
        reports: Arc::new(Reports(p.reports.clone(), f())),
        uploads: p.uploads.clone(),
        clock: p.clock.clone(),
    }
}

/// How the poller delivers: the visibility a stopped invocation's messages wait out, and
/// whether every message goes to two workers at once.
#[derive(Debug, Clone, Copy)]
pub struct Delivering {
    pub visibility: Duration,
    /// How long an empty receive waits: longer than a retry's delay, so that a run ends only
    /// when no message is left.
    pub drain_wait: Duration,
    pub twice: bool,
}

/// How one run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEnd {
    pub session: Session,
    /// Port calls the run made after the scan started.
    pub calls: u64,
    /// Scans the sweeper moved on, by the status it found them in.
    pub swept_running: u64,
    pub swept_finalizing: u64,
}

/// Starts a scan of `source` on `ports` (wrapped with `faults`, armed once the scan has
/// started) and plays the poller and the sweeper until the scan ends. Each invocation takes
/// up to 10 messages and runs them at once (twice each with `twice`); a stopped call ends
/// the whole invocation, its messages left to their visibility timeout. When the queue is
/// empty and the scan has not ended, the sweeper runs, as its schedule would.
pub async fn run_scan(
    ports: &Ports,
    faults: &Arc<Faults>,
    fault: Option<(u64, Fault)>,
    source: &str,
    how: Delivering,
) -> RunEnd {
    let engine = Arc::new(Engine::new(
        faulty(ports, faults),
        EngineConfig {
            retry_base: Duration::from_millis(1),
            ..EngineConfig::default()
        },
    ));
    faults.arm(0, Fault::Fail);
    let s = engine
        .start_scan(ScanRequest {
            owner: "faults".into(),
            source: source.into(),
            targets: None,
            pattern: None,
        })
        .await
        .expect("start the scan");
    let (at, f) = fault.unwrap_or((0, Fault::Fail));
    faults.arm(at, f);
    let queue = ports.queue.clone();
    let (mut swept_running, mut swept_finalizing) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let got = queue
            .receive(10, how.visibility, how.drain_wait)
            .await
            .expect("receive");
        if got.is_empty() {
            // Nothing visible and nothing in flight past its timeout: the run is over if the
            // scan ended; otherwise this is what the sweeper sees.
            let before = ports.sessions.get(&s.id).await.expect("get").expect("some");
            if before.status.is_final() {
                return RunEnd {
                    session: before,
                    calls: faults.calls(),
                    swept_running,
                    swept_finalizing,
                };
            }
            assert!(
                Instant::now() < deadline,
                "the scan never ended (fault {fault:?} at {:?}): {before:?}",
                faults.hit()
            );
            let swept = tokio::select! {
                r = engine.sweep(Duration::ZERO) => r.ok(),
                _ = faults.stopped.notified() => None,
            };
            if swept.is_some_and(|s| s.resumed > 0) {
                match before.status {
                    SessionStatus::Running => swept_running += 1,
                    _ => swept_finalizing += 1,
                }
            }
            continue;
        }
        let e = &*engine;
        let invocation = async {
            let runs = got.iter().flat_map(|d| {
                let copies = if how.twice { 2 } else { 1 };
                (0..copies).map(move |_| async move { (d, e.run_job(d, None).await) })
            });
            let outcomes = futures::future::join_all(runs).await;
            // As Lambda's partial batch response: a message is deleted unless one of its
            // runs asked for it again.
            let mut again: BTreeSet<&str> = BTreeSet::new();
            for (d, outcome) in &outcomes {
                match outcome {
                    JobOutcome::Done => {}
                    JobOutcome::Rest(rest) => {
                        if engine.ports.queue.send(vec![rest.clone()]).await.is_err() {
                            again.insert(&d.receipt);
                        }
                    }
                    JobOutcome::Retry(delay) => {
                        let _ = engine.ports.queue.retry(&d.receipt, *delay).await;
                        again.insert(&d.receipt);
                    }
                }
            }
            for d in &got {
                if !again.contains(d.receipt.as_str()) {
                    let _ = queue.ack(&d.receipt).await;
                }
            }
        };
        tokio::select! {
            _ = invocation => {}
            _ = faults.stopped.notified() => {}
        }
    }
}

/// Asserts what every run must leave: COMPLETE, processed == total == `files`, each result
/// once, COMPLETE once and last, and a report link.
pub async fn assert_exact(ports: &Ports, end: &RunEnd, files: u64, label: &str) {
    let s = &end.session;
    assert_eq!(s.status, SessionStatus::Complete, "{label}: {s:?}");
    assert_eq!((s.processed, s.total), (files, files), "{label}: {s:?}");
    assert!(s.report_url.is_some(), "{label}: no report");
    let results = ports
        .sessions
        .results(&s.id, None, 100_000)
        .await
        .expect("results");
    let paths: BTreeSet<&str> = results.iter().map(|r| r.file.path.as_str()).collect();
    assert_eq!(
        (results.len(), paths.len()),
        (files as usize, files as usize),
        "{label}: each result once"
    );
    let matches = results.iter().filter(|r| r.is_match()).count() as u64;
    let errors = results.iter().filter(|r| r.is_error()).count() as u64;
    assert_eq!(
        (s.matches, s.errors),
        (matches, errors),
        "{label}: counters"
    );
    let events = ports
        .events
        .since(&s.id, 0, 1_000_000)
        .await
        .expect("events");
    let completes: Vec<u64> = events
        .iter()
        .filter(|e| matches!(e.message, ServerMessage::Complete { .. }))
        .map(|e| e.seq)
        .collect();
    assert_eq!(completes.len(), 1, "{label}: COMPLETE once");
    assert_eq!(
        events.last().map(|e| e.seq),
        completes.first().copied(),
        "{label}: nothing after COMPLETE"
    );
}

/// The loop: a clean run counts the calls of the scan; then, for each call N and each fault,
/// a fresh run (`fresh` makes the ports) with the fault at call N must end exact. Every
/// `step`th call when `step` > 1 (an emulator's runs are slow). Returns the calls counted and
/// how many runs needed the sweeper.
pub async fn every_fault<F, Fut>(
    fresh: F,
    source: &str,
    files: u64,
    faults_to_try: &[Fault],
    how: Delivering,
    step: u64,
) -> (u64, u64)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Ports>,
{
    let faults = Arc::new(Faults::default());
    let ports = fresh().await;
    let clean = run_scan(&ports, &faults, None, source, how).await;
    assert_exact(&ports, &clean, files, "without a fault").await;
    assert_eq!(
        (clean.swept_running, clean.swept_finalizing),
        (0, 0),
        "a scan without a fault needs no sweeper"
    );
    let mut swept = 0;
    for fault in faults_to_try {
        let mut at = 1;
        while at <= clean.calls {
            let faults = Arc::new(Faults::default());
            let ports = fresh().await;
            let end = run_scan(&ports, &faults, Some((at, *fault)), source, how).await;
            let label = format!("{fault:?} at call {at} ({:?})", faults.hit());
            assert_exact(&ports, &end, files, &label).await;
            // Retries alone bring every scan to FINALIZING: the sweeper only queues again a
            // finalize job that was never queued.
            assert_eq!(
                end.swept_running, 0,
                "{label}: the sweeper had to begin finalization"
            );
            swept += u64::from(end.swept_finalizing > 0);
            at += step.max(1);
        }
    }
    (clean.calls, swept)
}
