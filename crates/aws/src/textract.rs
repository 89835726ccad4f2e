//! OCR on AWS by Amazon Textract, for pages without a text layer. A single-page document up to
//! 10 MB (a scanned PDF page, a PNG, JPEG or one-page TIFF) goes to `DetectDocumentText` as
//! bytes; anything larger or with more pages is put in the deployment's bucket under `ocr/` and
//! read by `StartDocumentTextDetection` / `GetDocumentTextDetection`, polled with a growing
//! pause, then the copy is deleted (a lifecycle rule on `ocr/` removes what a crash leaves).
//! Textract turns pages upright itself. Throttling is retried with backoff, and at most
//! `max_in_flight` requests run at once in one process.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_textract::primitives::Blob;
use aws_sdk_textract::types::{BlockType, Document, DocumentLocation, JobStatus, S3Object};
use aws_sdk_textract::Client;
use tokio::sync::Semaphore;

use crate::s3::Bucket;

/// Textract's size limit for a document sent as bytes (and for a PNG or JPEG in S3).
pub const SYNC_LIMIT: usize = 10 * 1024 * 1024;
/// Textract's size limit for a PDF or TIFF read from S3.
pub const ASYNC_LIMIT: usize = 500 * 1024 * 1024;
/// Textract's limit on a PDF page's sides, in inches.
pub const MAX_PAGE_INCHES: f32 = 40.0;
/// Textract's limit on a picture's sides, in pixels ("images with a resolution less than or
/// equal to 10000 pixels on all sides").
pub const MAX_PICTURE_SIDE: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextractError {
    /// The file is one Textract cannot read (format, size, page size): a FILE_ERROR.
    #[error("ocr failed: Textract cannot read this file ({0})")]
    Unreadable(String),
    /// Still throttled after every retry, or the service failed: worth trying the file again.
    #[error("ocr unavailable: Textract {0}")]
    Unavailable(String),
    /// The detection job ran past the time allowed.
    #[error("ocr timed out: Textract's job did not finish in {0} s")]
    Timeout(u64),
}

/// How the reader talks to Textract.
#[derive(Debug, Clone)]
pub struct TextractConfig {
    /// Requests in flight at once in this process.
    pub max_in_flight: usize,
    /// Attempts of one request while Textract throttles.
    pub attempts: u32,
    pub first_backoff: Duration,
    /// First pause between polls of a job; it doubles up to `max_poll`.
    pub first_poll: Duration,
    pub max_poll: Duration,
    /// How long one detection job may take.
    pub job_timeout: Duration,
}

impl Default for TextractConfig {
    fn default() -> Self {
        TextractConfig {
            // Textract's default quotas are a few requests per second per account.
            max_in_flight: 4,
            attempts: 8,
            first_backoff: Duration::from_millis(500),
            first_poll: Duration::from_secs(1),
            max_poll: Duration::from_secs(5),
            job_timeout: Duration::from_secs(90),
        }
    }
}

/// What a file is, as Textract takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// A PDF or a TIFF: may hold several pages.
    Paged,
    /// A PNG or JPEG: one page, 10 MB at most.
    Picture,
}

pub struct TextractOcr {
    client: Client,
    scratch: Bucket,
    cfg: TextractConfig,
    permits: Arc<Semaphore>,
}

/// Error codes Textract answers when it is busy: the request is tried again later.
fn is_busy(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "LimitExceededException"
                | "InternalServerError"
                | "ServiceUnavailable"
        )
    )
}

/// Error codes that say the document itself cannot be read.
fn is_unreadable(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "UnsupportedDocumentException"
                | "BadDocumentException"
                | "DocumentTooLargeException"
                | "InvalidParameterException"
        )
    )
}

impl TextractOcr {
    pub fn new(client: Client, scratch: Bucket, cfg: TextractConfig) -> Self {
        let permits = Arc::new(Semaphore::new(cfg.max_in_flight.max(1)));
        TextractOcr {
            client,
            scratch,
            cfg,
            permits,
        }
    }

    /// The text of the `wanted` pages (1-based) of a file, page by page: lines in Textract's
    /// reading order, one per line.
    pub async fn read(
        &self,
        bytes: &[u8],
        kind: DocumentKind,
        pages: usize,
        wanted: &[u32],
    ) -> Result<BTreeMap<u32, String>, TextractError> {
        if wanted.is_empty() {
            return Ok(BTreeMap::new());
        }
        let sync = bytes.len() <= SYNC_LIMIT && (kind == DocumentKind::Picture || pages <= 1);
        let mut texts = if sync {
            self.detect(bytes).await?
        } else {
            if kind == DocumentKind::Picture {
                // Callers put a larger picture in a PDF first.
                return Err(TextractError::Unreadable(format!(
                    "a picture of {} MB; Textract takes 10 MB at most",
                    bytes.len() / (1024 * 1024)
                )));
            }
            if bytes.len() > ASYNC_LIMIT {
                return Err(TextractError::Unreadable(format!(
                    "{} MB; Textract takes 500 MB at most",
                    bytes.len() / (1024 * 1024)
                )));
            }
            self.detect_in_s3(bytes).await?
        };
        texts.retain(|p, _| wanted.contains(p));
        // A wanted page on which Textract found nothing has no text, not a missing entry.
        for p in wanted {
            texts.entry(*p).or_default();
        }
        Ok(texts)
    }

    /// One request, retried while Textract is busy.
    async fn call<T, E, R, F, Fut>(&self, what: &str, mut f: F) -> Result<T, TextractError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, aws_sdk_textract::error::SdkError<E, R>>>,
        E: aws_sdk_textract::error::ProvideErrorMetadata + std::fmt::Debug,
        R: std::fmt::Debug,
    {
        let mut pause = self.cfg.first_backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = {
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .map_err(|e| TextractError::Unavailable(e.to_string()))?;
                f().await
            };
            let e = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let code = e.as_service_error().and_then(|s| s.code());
            let transient = is_busy(code)
                || matches!(
                    e,
                    aws_sdk_textract::error::SdkError::DispatchFailure(_)
                        | aws_sdk_textract::error::SdkError::TimeoutError(_)
                        | aws_sdk_textract::error::SdkError::ResponseError(_)
                );
            let detail = crate::describe(&e);
            if is_unreadable(code) {
                return Err(TextractError::Unreadable(detail));
            }
            if !transient || attempt >= self.cfg.attempts {
                tracing::warn!(%what, error = %detail, attempt, "textract failed");
                return Err(TextractError::Unavailable(format!("{what}: {detail}")));
            }
            tracing::debug!(%what, error = %detail, attempt, "textract busy, retrying");
            tokio::time::sleep(jitter(pause)).await;
            pause = (pause * 2).min(Duration::from_secs(20));
        }
    }

    async fn detect(&self, bytes: &[u8]) -> Result<BTreeMap<u32, String>, TextractError> {
        let out = self
            .call("DetectDocumentText", || {
                self.client
                    .detect_document_text()
                    .document(Document::builder().bytes(Blob::new(bytes.to_vec())).build())
                    .send()
            })
            .await?;
        let mut texts = BTreeMap::new();
        add_lines(&mut texts, out.blocks());
        Ok(texts)
    }

    async fn detect_in_s3(&self, bytes: &[u8]) -> Result<BTreeMap<u32, String>, TextractError> {
        let key = format!("ocr/{}", crate::random_key());
        self.scratch
            .client
            .put_object()
            .bucket(&self.scratch.name)
            .key(&key)
            .body(bytes.to_vec().into())
            .send()
            .await
            .map_err(|e| {
                TextractError::Unavailable(format!("copy to S3: {}", crate::describe(&e)))
            })?;
        let result = self.run_job(&key).await;
        if let Err(e) = self
            .scratch
            .client
            .delete_object()
            .bucket(&self.scratch.name)
            .key(&key)
            .send()
            .await
        {
            // The bucket's lifecycle rule removes it later.
            tracing::warn!(%key, error = %crate::describe(&e), "scratch copy not deleted");
        }
        result
    }

    async fn run_job(&self, key: &str) -> Result<BTreeMap<u32, String>, TextractError> {
        let location = DocumentLocation::builder()
            .s3_object(
                S3Object::builder()
                    .bucket(&self.scratch.name)
                    .name(key)
                    .build(),
            )
            .build();
        let started = self
            .call("StartDocumentTextDetection", || {
                self.client
                    .start_document_text_detection()
                    .document_location(location.clone())
                    // The same copy started twice (a retried request) is one job.
                    .client_request_token(key.trim_start_matches("ocr/"))
                    .send()
            })
            .await?;
        let job = started
            .job_id()
            .ok_or_else(|| TextractError::Unavailable("no job id".into()))?
            .to_string();
        let deadline = tokio::time::Instant::now() + self.cfg.job_timeout;
        let mut pause = self.cfg.first_poll;
        let mut texts = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .call("GetDocumentTextDetection", || {
                    self.client
                        .get_document_text_detection()
                        .job_id(&job)
                        .max_results(1000)
                        .set_next_token(token.clone())
                        .send()
                })
                .await?;
            match out.job_status() {
                Some(JobStatus::InProgress) => {
                    if tokio::time::Instant::now() + pause > deadline {
                        return Err(TextractError::Timeout(self.cfg.job_timeout.as_secs()));
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(self.cfg.max_poll);
                    continue;
                }
                Some(JobStatus::Succeeded) | Some(JobStatus::PartialSuccess) => {}
                other => {
                    let why = out.status_message().unwrap_or("no reason given");
                    return Err(TextractError::Unreadable(format!(
                        "job {}: {why}",
                        other.map(|s| s.as_str()).unwrap_or("without a status")
                    )));
                }
            }
            add_lines(&mut texts, out.blocks());
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(texts),
            }
        }
    }
}

/// Appends the LINE blocks to their pages' texts (a block without a page is on page 1).
fn add_lines(texts: &mut BTreeMap<u32, String>, blocks: &[aws_sdk_textract::types::Block]) {
    for b in blocks {
        if b.block_type() != Some(&BlockType::Line) {
            continue;
        }
        let Some(line) = b.text() else { continue };
        let page = b.page().and_then(|p| u32::try_from(p).ok()).unwrap_or(1);
        let text = texts.entry(page).or_default();
        text.push_str(line);
        text.push('\n');
    }
}

/// A pause of between half and all of `d`, so that throttled workers do not retry together.
fn jitter(d: Duration) -> Duration {
    use rand::{Rng, SeedableRng};
    let f: f64 = rand::rngs::StdRng::from_os_rng().random_range(0.5..=1.0);
    d.mul_f64(f)
}
