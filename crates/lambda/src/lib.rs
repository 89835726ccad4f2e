//! isoscan's Lambda entry points on AWS, as functions the thin binaries in `src/bin` call: each
//! parses its event, calls one use case of the engine, and maps the result. The deployment's
//! clients and engine are built once per cold start ([`Deployment::from_env`]). Nothing here
//! may depend on the local adapters, axum or SQLite.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use isoscan_aws::cognito::{CognitoSettings, CognitoVerifier, TokenError};
use isoscan_aws::dynamo::DynamoStore;
use isoscan_aws::links::{LinkError, LinkSigner, LINK_TTL};
use isoscan_aws::notifier::{ApiGatewayNotifier, Posted};
use isoscan_aws::ocr::TextractPages;
use isoscan_aws::s3::{Bucket, S3Reports, S3Source, S3Uploads};
use isoscan_aws::secrets::CachedSecret;
use isoscan_aws::sqs::SqsQueue;
use isoscan_aws::textract::{TextractConfig, TextractOcr};
use isoscan_core::location::Location;
use isoscan_core::protocol::{parse_request, Envelope, ErrorCode, ServerMessage};
use isoscan_core::result::FileRef;
use isoscan_core::text::DocText;
use isoscan_drive::{DriveClient, DriveConfig, DriveSource};
use isoscan_engine::memory::SystemClock;
use isoscan_engine::ports::{Delivery, ExtractFailure, Extractor, Ocr, Scopes};
use isoscan_engine::routing::{Allowed, Fenced, Route, RoutedSource};
use isoscan_engine::{Engine, EngineConfig, JobOutcome, Ports, Step, REPLAY_PAGE};

/// Text extraction inside the Lambda: the function's own timeout and memory bound it; the
/// per-file limits of the reader still apply. Pages without a text layer go to OCR
/// ([`isoscan_aws::ocr::TextractPages`]) through the engine.
pub struct InProcessExtractor {
    pub limits: isoscan_extract::Limits,
}

#[async_trait]
impl Extractor for InProcessExtractor {
    async fn extract(
        &self,
        _file: &FileRef,
        bytes: Arc<Vec<u8>>,
    ) -> Result<DocText, ExtractFailure> {
        let limits = self.limits.clone();
        tokio::task::spawn_blocking(move || isoscan_extract::extract(&bytes, &limits))
            .await
            .map_err(|e| ExtractFailure::Transient(e.to_string()))?
            .map_err(|e| ExtractFailure::File(e.to_string()))
    }
}

/// A Drive link or a bare Drive ID (nothing else here is a bare word: other sources are
/// `s3://…` and `upload:…`).
fn is_drive_link_or_id(location: &str) -> bool {
    // No folder of this machine is a source here: a bare ID is Drive's.
    matches!(
        Location::parse(location),
        Ok(Location::Drive(_) | Location::BareId(_))
    )
}

/// Where the deployment's resources are (the stack passes these as environment variables).
#[derive(Debug, Clone)]
pub struct Settings {
    pub table: String,
    pub queue_url: String,
    pub bucket: String,
    /// The WebSocket API's management endpoint (`https://ID.execute-api.REGION.amazonaws.com/STAGE`).
    pub callback_url: String,
    /// The Secrets Manager secret with `{"tokens": {"TOKEN": "principal"}}` (or
    /// `{"principal": P, "sources": [...]}` for a token held to some S3 locations).
    pub tokens_secret: Option<String>,
    /// How old the copy of the tokens may get before it is read again (`TOKENS_MAX_AGE_S`,
    /// 300 s and no more): a revoked token is refused within that time.
    pub tokens_max_age: Duration,
    /// The buckets (or `s3://bucket/prefix` locations) scans may read (`SOURCE_BUCKETS`,
    /// comma-separated); the results bucket is never one of them.
    pub source_buckets: Vec<String>,
    /// A Cognito user pool whose tokens are accepted too.
    pub cognito: Option<CognitoSettings>,
    /// The Secrets Manager secret with the Drive service account key.
    pub drive_secret: Option<String>,
    /// Stable drawing links: the link-key secret and the link function's URL (`LINK_SECRET_ID`,
    /// `LINK_URL`); without them links are presigned (and die with the function's credentials).
    pub links: Option<(String, String)>,
    /// Pages without a text layer are read by Textract (`OCR=textract`, the default, with at
    /// most `TEXTRACT_CONCURRENCY` requests in flight in one worker); `OCR=off` (None) leaves
    /// them unread and counted in COMPLETE.
    pub ocr: Option<TextractConfig>,
    /// How long a scan waits in FINALIZING before the sweeper queues its finalize again
    /// (`SWEEP_IDLE_S`, [`SWEEP_IDLE`] when unset).
    pub sweep_idle: Duration,
    /// The largest file a worker reads ([`max_file_bytes`] of the function's memory).
    pub max_file_bytes: u64,
}

/// `SOURCE_BUCKETS`: comma-separated buckets (or `s3://bucket/prefix` locations).
fn source_buckets_from_env() -> Vec<String> {
    std::env::var("SOURCE_BUCKETS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(str::to_string)
        .collect()
}

/// What scans and links may read: the buckets the operator named, less the results bucket,
/// which holds every user's uploads and reports and is never a source, whatever is named.
fn readable_sources(results: &str, named: &[String]) -> Allowed {
    let results = format!("s3://{results}/");
    Allowed {
        s3: named
            .iter()
            .filter(|b| !format!("s3://{}/", b.trim_start_matches("s3://")).starts_with(&results))
            .cloned()
            .collect(),
        drive: false,
    }
}

/// S3, path-style when the environment asks (an emulator).
fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(std::env::var("AWS_S3_FORCE_PATH_STYLE").is_ok_and(|v| v == "true"))
            .build(),
    )
}

/// How long a scan waits in FINALIZING before the sweeper queues its finalize again
/// (`SWEEP_IDLE_S`): longer than a finalize takes, so that one still running is left alone.
pub const SWEEP_IDLE: Duration = Duration::from_secs(900);

/// The largest file a worker reads with `memory_mb` of memory: a quarter of it, so that the
/// file, the reader's pages and text, and the function's own code fit together. A larger file
/// is a FILE_ERROR saying the limit, not a function killed for memory with its whole batch.
pub fn max_file_bytes(memory_mb: u64) -> u64 {
    (memory_mb << 20) / 4
}

/// The memory of a worker when Lambda does not say (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`): the
/// stack's default.
pub const DEFAULT_MEMORY_MB: u64 = 1024;

/// The longest a copy of the API tokens is used before it is read again.
pub const MAX_TOKENS_AGE: Duration = Duration::from_secs(300);

/// A whole number above 0 from the environment, if set.
fn positive(name: &str) -> anyhow::Result<Option<u64>> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .with_context(|| format!("{name} is {v:?}: a whole number above 0")),
        Err(_) => Ok(None),
    }
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Settings> {
        let var = |k: &str| std::env::var(k).with_context(|| format!("{k} is not set"));
        Ok(Settings {
            table: var("TABLE_NAME")?,
            queue_url: var("QUEUE_URL")?,
            bucket: var("BUCKET_NAME")?,
            callback_url: var("CALLBACK_URL")?,
            tokens_secret: std::env::var("TOKENS_SECRET_ID").ok(),
            tokens_max_age: Duration::from_secs(
                positive("TOKENS_MAX_AGE_S")?
                    .unwrap_or(MAX_TOKENS_AGE.as_secs())
                    .min(MAX_TOKENS_AGE.as_secs()),
            ),
            source_buckets: source_buckets_from_env(),
            cognito: CognitoSettings::from_env(),
            links: match (std::env::var("LINK_SECRET_ID"), std::env::var("LINK_URL")) {
                (Ok(id), Ok(url)) if !id.is_empty() && !url.is_empty() => Some((id, url)),
                _ => None,
            },
            drive_secret: std::env::var("DRIVE_SECRET_ID")
                .ok()
                .filter(|s| !s.is_empty()),
            ocr: match std::env::var("OCR").unwrap_or_default().as_str() {
                "" | "textract" => {
                    let defaults = TextractConfig::default();
                    Some(TextractConfig {
                        max_in_flight: positive("TEXTRACT_CONCURRENCY")?
                            .unwrap_or(defaults.max_in_flight as u64)
                            as usize,
                        job_timeout: positive("TEXTRACT_JOB_TIMEOUT_S")?
                            .map(Duration::from_secs)
                            .unwrap_or(defaults.job_timeout),
                        ..defaults
                    })
                }
                "off" => None,
                other => anyhow::bail!("OCR is {other:?}: it is textract or off"),
            },
            sweep_idle: positive("SWEEP_IDLE_S")?
                .map(Duration::from_secs)
                .unwrap_or(SWEEP_IDLE),
            // Set by Lambda in every function's environment.
            max_file_bytes: max_file_bytes(
                positive("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")?.unwrap_or(DEFAULT_MEMORY_MB),
            ),
        })
    }
}

/// A record of the SQS event.
#[derive(Debug, Clone)]
pub struct QueuedJob {
    pub message_id: String,
    /// The receipt handle: what a changed visibility (a retry's delay) is asked with.
    pub receipt: String,
    pub body: String,
    pub receive_count: u32,
}

/// Time the worker keeps in hand at the end of an invocation: no file starts later than this
/// before the function's deadline (a file's extraction is bounded at 30 s).
pub const BATCH_RESERVE: Duration = Duration::from_secs(40);

/// How long one `subscribe` replays the log: API Gateway gives a route 29 s, the function as
/// long; a scan with 100,000 messages is replayed over several requests.
pub const REPLAY_TIME: Duration = Duration::from_secs(20);

/// The instant of a Lambda deadline given in milliseconds since the epoch.
pub fn deadline_of(deadline_ms: u64) -> std::time::Instant {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    std::time::Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

/// Why a connection was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("a valid token is required")]
    Unauthorized,
    #[error("cannot check the token now: {0}")]
    Unavailable(String),
}

pub struct Deployment {
    pub engine: Arc<Engine>,
    pub store: Arc<DynamoStore>,
    pub notifier: Arc<ApiGatewayNotifier>,
    tokens: Arc<CachedSecret>,
    cognito: Option<CognitoVerifier>,
    sweep_idle: Duration,
}

/// The S3 locations each principal is held to, from the last copy of the tokens secret.
#[derive(Debug)]
struct TokenScopes(Arc<CachedSecret>);

impl Scopes for TokenScopes {
    fn sources(&self, principal: &str) -> Option<Vec<String>> {
        isoscan_aws::secrets::sources_of(&self.0.last(), principal)
    }
}

impl Deployment {
    /// From the Lambda's environment: built once per cold start.
    pub async fn from_env() -> anyhow::Result<Deployment> {
        let sdk = isoscan_aws::sdk_config().await;
        Deployment::new(&sdk, Settings::from_env()?, None, None).await
    }

    /// From explicit settings; `tokens` and `drive` replace their secrets (tests).
    pub async fn new(
        sdk: &aws_config::SdkConfig,
        s: Settings,
        tokens: Option<serde_json::Value>,
        drive: Option<DriveConfig>,
    ) -> anyhow::Result<Deployment> {
        let store = Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            s.table.clone(),
        ));
        let s3 = s3_client(sdk);
        let bucket = Bucket::new(s3.clone(), s.bucket.clone());
        // An emulator named for every service (`AWS_ENDPOINT_URL`) serves the management API
        // too; on AWS it is the stage's own address.
        let gateway = aws_sdk_apigatewaymanagement::Client::from_conf(
            aws_sdk_apigatewaymanagement::config::Builder::from(sdk)
                .endpoint_url(sdk.endpoint_url().unwrap_or(&s.callback_url))
                .build(),
        );
        let notifier = Arc::new(ApiGatewayNotifier {
            client: gateway,
            store: store.clone(),
        });
        let tokens = Arc::new(match (tokens, &s.tokens_secret) {
            (Some(t), _) => CachedSecret::fixed(t),
            (None, Some(id)) => {
                let secret = CachedSecret::new(
                    aws_sdk_secretsmanager::Client::new(sdk),
                    id,
                    s.tokens_max_age,
                );
                // A cold start with tokens it cannot read fails here, not at the first client.
                secret.get().await?;
                secret
            }
            // Only the connect and message handlers use tokens; the others never read them.
            (None, None) => CachedSecret::fixed(serde_json::Value::Null),
        });
        let cognito = s.cognito.clone().map(CognitoVerifier::new);
        let drive = match (drive, &s.drive_secret) {
            (Some(d), _) => Some(d),
            (None, Some(id)) => {
                let secret =
                    isoscan_aws::secrets::read_json(&aws_sdk_secretsmanager::Client::new(sdk), id)
                        .await?;
                // An empty secret (as the stack creates it) leaves Drive off until a key is put.
                if secret.get("private_key").is_some() || secret.get("service_account").is_some() {
                    Some(DriveConfig::from_secret(&secret)?)
                } else {
                    None
                }
            }
            (None, None) => None,
        };
        let drive = match drive {
            Some(cfg) => Route::new(
                is_drive_link_or_id,
                Arc::new(DriveSource::new(DriveClient::new(cfg).await?)),
            ),
            None => Route::unavailable(
                is_drive_link_or_id,
                "Drive is not configured in this deployment: put a service account key in its \
                 Drive secret (see SECURITY_DEPLOYMENT.md)",
            ),
        };
        let signer = match &s.links {
            Some((id, url)) => {
                let secret =
                    isoscan_aws::secrets::read_json(&aws_sdk_secretsmanager::Client::new(sdk), id)
                        .await?;
                Some(Arc::new(LinkSigner::from_secret(&secret, url, LINK_TTL)?))
            }
            None => None,
        };
        let s3_source = Arc::new(S3Source {
            client: s3,
            uploads: Some(S3Uploads {
                bucket: bucket.clone(),
            }),
            link_ttl: Duration::from_secs(7 * 24 * 3600),
            signer,
        });
        let allowed = readable_sources(&s.bucket, &s.source_buckets);
        let s3_route = Route::new(
            |l: &str| matches!(Location::parse(l), Ok(Location::S3 { .. })),
            Arc::new(Fenced::new(
                s3_source.clone(),
                allowed,
                "this deployment reads only the S3 buckets its operator named (cdk deploy -c \
                 sourceBuckets=bucket,...)",
            )),
        );
        let ports = Ports {
            sessions: store.clone(),
            events: store.clone(),
            queue: Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(sdk), s.queue_url)),
            source: Arc::new(RoutedSource::new(vec![drive, s3_route], s3_source)),
            extractor: Arc::new(InProcessExtractor {
                limits: isoscan_extract::Limits::default(),
            }),
            ocr: s.ocr.map(|cfg| {
                Arc::new(TextractPages {
                    textract: Arc::new(TextractOcr::new(
                        aws_sdk_textract::Client::new(sdk),
                        bucket.clone(),
                        cfg,
                    )),
                    limits: isoscan_extract::Limits::default(),
                }) as Arc<dyn Ocr>
            }),
            notifier: notifier.clone(),
            reports: Arc::new(S3Reports {
                bucket: bucket.clone(),
            }),
            uploads: Arc::new(S3Uploads { bucket }),
            clock: Arc::new(SystemClock),
        };
        Ok(Deployment {
            engine: Arc::new(Engine::new(
                ports,
                EngineConfig {
                    scopes: Some(Arc::new(TokenScopes(tokens.clone()))),
                    max_file_bytes: s.max_file_bytes,
                    ..EngineConfig::default()
                },
            )),
            store,
            notifier,
            tokens,
            cognito,
            sweep_idle: s.sweep_idle,
        })
    }

    fn now_s() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    /// `$connect`: checks the token and records the connection with its principal. Never
    /// posts (API Gateway does not accept posts before the connection is established).
    pub async fn connect(&self, connection: &str, token: Option<&str>) -> Result<String, Refused> {
        let token = token.ok_or(Refused::Unauthorized)?;
        let tokens = self
            .tokens
            .get()
            .await
            .map_err(|e| Refused::Unavailable(e.to_string()))?;
        let principal = match isoscan_aws::secrets::principal_of(&tokens, token) {
            Some(p) => p,
            None => match &self.cognito {
                Some(c) if CognitoVerifier::looks_like_jwt(token) => {
                    c.principal(token).await.map_err(|e| match e {
                        TokenError::Invalid(why) => {
                            tracing::info!(connection, %why, "token refused");
                            Refused::Unauthorized
                        }
                        TokenError::KeysUnavailable(e) => Refused::Unavailable(e),
                    })?
                }
                _ => return Err(Refused::Unauthorized),
            },
        };
        self.store
            .connection_opened(connection, &principal, Self::now_s())
            .await
            .map_err(|e| Refused::Unavailable(e.to_string()))?;
        Ok(principal)
    }

    /// `$disconnect`: best effort; stale connections also go on 410 and by TTL.
    pub async fn disconnect(&self, connection: &str) {
        if let Err(e) = self.store.connection_closed(connection, None).await {
            tracing::warn!(connection, error = %e, "cannot forget a connection");
        }
    }

    async fn post(&self, connection: &str, env: &Envelope) -> anyhow::Result<Posted> {
        let text = serde_json::to_string(env)?;
        Ok(self.notifier.post(connection, &text).await?)
    }

    /// `$default` and the action routes: one client message, with [`REPLAY_TIME`] to replay.
    pub async fn message(&self, connection: &str, body: &str) -> anyhow::Result<()> {
        let until = std::time::Instant::now() + REPLAY_TIME;
        self.message_until(connection, body, until).await
    }

    /// One client message; a replay stops at `until` and tells the client to subscribe again
    /// from the last `seq` it got (the next invocation goes on from there).
    pub async fn message_until(
        &self,
        connection: &str,
        body: &str,
        until: std::time::Instant,
    ) -> anyhow::Result<()> {
        let (req_id, parsed) = parse_request(body);
        // The scopes the engine asks about come from this copy: read again when too old.
        if let Err(e) = self.tokens.get().await {
            tracing::warn!(error = %e, "API tokens not read");
        }
        let reply = |session: &str, message: ServerMessage| Envelope {
            session_id: session.to_string(),
            seq: 0,
            ts: None,
            req_id: req_id.clone(),
            message,
        };
        let Some(principal) = self.store.connection_principal(connection).await? else {
            let e = ServerMessage::Error {
                message: "this connection is not known; connect again with a token".into(),
                code: ErrorCode::Unauthorized,
            };
            self.post(connection, &reply("", e)).await?;
            return Ok(());
        };
        let msg = match parsed {
            Ok(m) => m,
            Err(e) => {
                let m = ServerMessage::Error {
                    message: e.to_string(),
                    code: e.code(),
                };
                self.post(connection, &reply("", m)).await?;
                return Ok(());
            }
        };
        for step in self.engine.answer(&principal, msg).await {
            match step {
                Step::Reply { session, message } => {
                    self.post(connection, &reply(&session, message)).await?;
                }
                Step::Follow { session, since } => {
                    self.store
                        .subscribe(&session, connection, Self::now_s())
                        .await?;
                    let mut after = since;
                    loop {
                        let page = self.engine.replay(&session, after, REPLAY_PAGE).await?;
                        for env in &page {
                            // At least one message each time, so that every request moves on.
                            if after > since && std::time::Instant::now() >= until {
                                let more = ServerMessage::Error {
                                    message: format!(
                                        "the replay stopped after seq {after}: subscribe again with the last seq you saw"
                                    ),
                                    code: ErrorCode::Resubscribe,
                                };
                                self.post(connection, &reply(&session, more)).await?;
                                return Ok(());
                            }
                            after = env.seq;
                            if self.post(connection, env).await? == Posted::Gone {
                                return Ok(());
                            }
                        }
                        if page.len() < REPLAY_PAGE {
                            break;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The SQS worker: every record on its own; the ids of those to deliver again
    /// (`batchItemFailures`). Nothing starts within [`BATCH_RESERVE`] of `deadline`: a message
    /// not started, or the files of one not reached, go back on the queue as new messages
    /// (their receive count starts over: they did not fail), and the originals are done. A
    /// job to retry is hidden for its delay (the message's visibility) before it is returned.
    pub async fn worker(
        &self,
        records: &[QueuedJob],
        deadline: Option<std::time::Instant>,
    ) -> Vec<String> {
        let start_before = deadline.map(|d| {
            d.checked_sub(BATCH_RESERVE)
                .unwrap_or_else(std::time::Instant::now)
        });
        let queue = &self.engine.ports.queue;
        let mut failed = vec![];
        for r in records {
            let job = match SqsQueue::parse(&r.body) {
                Ok(j) => j,
                Err(e) => {
                    // Returned until the dead-letter queue takes it.
                    tracing::error!(message = %r.message_id, error = %e, "unreadable job");
                    failed.push(r.message_id.clone());
                    continue;
                }
            };
            if start_before.is_some_and(|t| std::time::Instant::now() >= t) {
                if let Err(e) = queue.send(vec![job]).await {
                    tracing::warn!(error = %e, "cannot put back a job not started");
                    failed.push(r.message_id.clone());
                }
                continue;
            }
            let d = Delivery {
                job,
                receipt: r.receipt.clone(),
                receive_count: r.receive_count,
            };
            match self.engine.run_job(&d, start_before).await {
                JobOutcome::Done => {}
                JobOutcome::Rest(rest) => {
                    tracing::info!(job = %rest.describe(), "deadline near; the rest put back");
                    if let Err(e) = queue.send(vec![rest]).await {
                        tracing::warn!(error = %e, "cannot put back the rest of a batch");
                        failed.push(r.message_id.clone());
                    }
                }
                JobOutcome::Retry(delay) => {
                    // Without this, a retry waits the queue's whole visibility timeout.
                    if let Err(e) = queue.retry(&r.receipt, delay).await {
                        tracing::warn!(error = %e, "cannot set a retry's delay");
                    }
                    failed.push(r.message_id.clone());
                }
            }
        }
        failed
    }

    /// The sweeper: resumes the scans that have waited at least [`SWEEP_IDLE`] where a
    /// stopped worker left them.
    pub async fn sweep(&self) -> anyhow::Result<isoscan_engine::Swept> {
        let swept = self.engine.sweep(self.sweep_idle).await?;
        tracing::info!(
            unfinished = swept.unfinished,
            resumed = swept.resumed,
            failed = swept.failed,
            "swept"
        );
        Ok(swept)
    }

    /// The dead-letter drain: the files of a job that kept failing become errors, so the scan
    /// still completes.
    pub async fn drain_dead_letters(&self, records: &[QueuedJob]) -> Vec<String> {
        let mut failed = vec![];
        for r in records {
            match SqsQueue::parse(&r.body) {
                Ok(job) => {
                    if let Err(e) = self.engine.give_up(&job).await {
                        if e.is_retryable() {
                            failed.push(r.message_id.clone());
                        } else {
                            tracing::error!(error = %e, "dead letter dropped");
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(message = %r.message_id, error = %e, "unreadable dead letter dropped")
                }
            }
        }
        failed
    }
}

/// What the link function answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkAnswer {
    /// A GET of the object, presigned just now.
    Redirect(String),
    /// Refused: the HTTP status and what the reader is told.
    Refused(u16, String),
}

/// How long the presigned GET a link redirects to works: it is followed at once.
const REDIRECT_TTL: Duration = Duration::from_secs(300);

/// The link function: checks a stable drawing link and redirects to the object.
pub struct LinkService {
    signer: LinkSigner,
    s3: aws_sdk_s3::Client,
    results: String,
    allowed: Allowed,
}

impl LinkService {
    /// From the function's environment (`LINK_SECRET_ID`, `BUCKET_NAME`, `SOURCE_BUCKETS`).
    pub async fn from_env() -> anyhow::Result<LinkService> {
        let sdk = isoscan_aws::sdk_config().await;
        let id = std::env::var("LINK_SECRET_ID").context("LINK_SECRET_ID is not set")?;
        let results = std::env::var("BUCKET_NAME").context("BUCKET_NAME is not set")?;
        let secret =
            isoscan_aws::secrets::read_json(&aws_sdk_secretsmanager::Client::new(&sdk), &id)
                .await?;
        Ok(LinkService {
            // Checking needs no base: the links came to this function's own address.
            signer: LinkSigner::from_secret(&secret, "", LINK_TTL)?,
            s3: s3_client(&sdk),
            allowed: readable_sources(&results, &source_buckets_from_env()),
            results,
        })
    }

    /// A link's query string: where it leads now.
    pub async fn open(&self, query: &str) -> LinkAnswer {
        let target = match self.signer.check(query, Deployment::now_s()) {
            Ok(t) => t,
            Err(e @ LinkError::Invalid) => return LinkAnswer::Refused(403, e.to_string()),
            Err(e @ LinkError::Expired) => return LinkAnswer::Refused(410, e.to_string()),
        };
        // Only what a scan may read: a source bucket, or an upload in the results bucket.
        let readable = if target.bucket == self.results {
            target.key.starts_with("uploads/")
        } else {
            self.allowed
                .allows_s3(&format!("s3://{}/{}", target.bucket, target.key))
        };
        if !readable {
            return LinkAnswer::Refused(403, LinkError::Invalid.to_string());
        }
        let Ok(cfg) = aws_sdk_s3::presigning::PresigningConfig::expires_in(REDIRECT_TTL) else {
            return LinkAnswer::Refused(500, "cannot sign the link now".into());
        };
        match self
            .s3
            .get_object()
            .bucket(&target.bucket)
            .key(&target.key)
            .presigned(cfg)
            .await
        {
            Ok(p) => LinkAnswer::Redirect(p.uri().to_string()),
            Err(e) => {
                tracing::error!(error = %e, "cannot presign a link");
                LinkAnswer::Refused(500, "cannot sign the link now".into())
            }
        }
    }
}

/// Logging for the binaries: JSON-free plain lines, as CloudWatch shows them.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ISOSCAN_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .without_time()
        .with_ansi(false)
        .init();
}

/// The records of an SQS event, with their receive counts.
pub fn queued_jobs(event: aws_lambda_events::event::sqs::SqsEvent) -> Vec<QueuedJob> {
    event
        .records
        .into_iter()
        .map(|m| QueuedJob {
            message_id: m.message_id.unwrap_or_default(),
            receipt: m.receipt_handle.unwrap_or_default(),
            receive_count: m
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1),
            body: m.body.unwrap_or_default(),
        })
        .collect()
}

/// The worker's answer: the messages to deliver again.
pub fn batch_response(failed: Vec<String>) -> aws_lambda_events::event::sqs::SqsBatchResponse {
    let mut r = aws_lambda_events::event::sqs::SqsBatchResponse::default();
    r.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut f = aws_lambda_events::event::sqs::BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_results_bucket_is_never_a_source_whatever_is_named() {
        let named = [
            "isoscan-results",
            "plant-a",
            "s3://isoscan-results/uploads/",
            "isoscan-results-2",
        ]
        .map(String::from);
        let a = readable_sources("isoscan-results", &named);
        assert_eq!(a.s3, ["plant-a", "isoscan-results-2"]);
        assert!(!a.allows_s3("s3://isoscan-results/uploads/x/"));
        assert!(a.allows_s3("s3://plant-a/isos/"));
    }
}
