//! Drive v3 calls through google-drive3: credentials, the endpoint, retries with backoff and a
//! bound on requests in flight.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use google_drive3::api::{File, FileList, Scope};
use google_drive3::common::{Delegate, Response, Retry};
use google_drive3::{hyper_rustls, hyper_util, yup_oauth2, DriveHub};
use http_body_util::BodyExt;
use tokio::sync::Semaphore;

use crate::DriveError;

type Connector = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// The fields asked of every listed item (Drive returns only what is asked).
pub const FILE_FIELDS: &str =
    "id,name,mimeType,size,md5Checksum,modifiedTime,webViewLink,shortcutDetails,resourceKey,trashed";

/// How to reach Drive and as whom.
#[derive(Clone)]
pub struct DriveConfig {
    pub credentials: Credentials,
    /// Replaces `https://www.googleapis.com/` (`ISOSCAN_DRIVE_ENDPOINT`); the Drive v3 paths
    /// stay below it.
    pub endpoint: Option<String>,
    /// Requests in flight at once (a service account is one user for Drive's quotas).
    pub max_in_flight: usize,
    /// Attempts per request (429, 403 rate limits, 5xx and connection failures are retried).
    pub attempts: u32,
    /// The first backoff; it doubles per attempt up to 32 s, plus up to 1 s of jitter.
    pub first_backoff: Duration,
}

#[derive(Clone)]
pub enum Credentials {
    /// A service account key (its JSON), and the user to act as with domain-wide delegation.
    ServiceAccount {
        key_json: String,
        subject: Option<String>,
    },
    /// A bearer token used as is (`ISOSCAN_DRIVE_ACCESS_TOKEN`).
    AccessToken(String),
}

impl DriveConfig {
    pub fn new(credentials: Credentials) -> DriveConfig {
        DriveConfig {
            credentials,
            endpoint: std::env::var("ISOSCAN_DRIVE_ENDPOINT")
                .ok()
                .filter(|e| !e.is_empty()),
            max_in_flight: 8,
            attempts: 6,
            first_backoff: Duration::from_millis(500),
        }
    }

    /// Credentials from the environment and an optional key file: `ISOSCAN_DRIVE_ACCESS_TOKEN`,
    /// else the key in `file`, else `GOOGLE_APPLICATION_CREDENTIALS`. `None` when there are none.
    pub fn from_env(
        file: Option<&std::path::Path>,
        subject: Option<String>,
    ) -> Result<Option<DriveConfig>, DriveError> {
        if let Ok(t) = std::env::var("ISOSCAN_DRIVE_ACCESS_TOKEN") {
            if !t.is_empty() {
                return Ok(Some(DriveConfig::new(Credentials::AccessToken(t))));
            }
        }
        let path = match file {
            Some(p) => p.to_path_buf(),
            None => match std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS") {
                Some(p) if !p.is_empty() => p.into(),
                _ => return Ok(None),
            },
        };
        let key_json = std::fs::read_to_string(&path)
            .map_err(|e| DriveError::Credentials(format!("cannot read {}: {e}", path.display())))?;
        Ok(Some(DriveConfig::new(Credentials::ServiceAccount {
            key_json,
            subject: subject.or_else(|| std::env::var("ISOSCAN_DRIVE_SUBJECT").ok()),
        })))
    }

    /// From a Secrets Manager secret: the key itself, or `{"service_account": KEY, "subject": …}`.
    pub fn from_secret(secret: &serde_json::Value) -> Result<DriveConfig, DriveError> {
        let (key, subject) = match secret.get("service_account") {
            Some(k) => (k, secret.get("subject").and_then(|s| s.as_str())),
            None => (secret, None),
        };
        if key.get("private_key").is_none() {
            return Err(DriveError::Credentials(
                "the Drive secret holds no service account key (no private_key)".into(),
            ));
        }
        Ok(DriveConfig::new(Credentials::ServiceAccount {
            key_json: key.to_string(),
            subject: subject.map(str::to_string),
        }))
    }
}

/// Retries of one request: what Drive's documentation asks for (truncated exponential
/// backoff with jitter on 429, 403 rate limits and 5xx).
struct Backoff {
    attempt: u32,
    attempts: u32,
    first: Duration,
    retried: Arc<AtomicU64>,
}

impl Backoff {
    fn next(&mut self, retry_after: Option<Duration>) -> Retry {
        self.attempt += 1;
        if self.attempt >= self.attempts {
            return Retry::Abort;
        }
        self.retried.fetch_add(1, Ordering::Relaxed);
        let exp = self
            .first
            .saturating_mul(1 << (self.attempt - 1).min(6))
            .min(Duration::from_secs(32));
        let jitter = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64 % 1000)
            .unwrap_or(0);
        let wait = retry_after.unwrap_or(exp).min(Duration::from_secs(60));
        Retry::After(
            wait + Duration::from_millis(jitter * self.first.as_millis().min(1000) as u64 / 1000),
        )
    }
}

/// The reason of a Google API error body (`error.errors[0].reason`).
pub(crate) fn reason(err: &serde_json::Value) -> Option<&str> {
    err.pointer("/error/errors/0/reason")
        .and_then(|r| r.as_str())
        .or_else(|| err.pointer("/error/status").and_then(|r| r.as_str()))
}

pub(crate) fn is_rate_limit(status: u16, err: Option<&serde_json::Value>) -> bool {
    status == 429
        || status >= 500
        || (status == 403
            && err
                .and_then(reason)
                .is_some_and(|r| matches!(r, "rateLimitExceeded" | "userRateLimitExceeded")))
}

impl Delegate for Backoff {
    fn http_error(&mut self, _err: &hyper_util::client::legacy::Error) -> Retry {
        self.next(None)
    }

    fn http_failure(&mut self, res: &Response, err: Option<&serde_json::Value>) -> Retry {
        if !is_rate_limit(res.status().as_u16(), err) {
            return Retry::Abort;
        }
        let after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        self.next(after)
    }
}

/// A Drive v3 client.
pub struct DriveClient {
    hub: DriveHub<Connector>,
    in_flight: Semaphore,
    config: DriveConfig,
    /// The service account's address, for telling users whom to share a folder with.
    pub account: Option<String>,
    retried: Arc<AtomicU64>,
}

impl DriveClient {
    pub async fn new(config: DriveConfig) -> Result<DriveClient, DriveError> {
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let connector = || -> Result<Connector, DriveError> {
            Ok(hyper_rustls::HttpsConnectorBuilder::new()
                .with_provider_and_native_roots(provider.clone())
                .map_err(|e| DriveError::Credentials(format!("TLS roots: {e}")))?
                .https_or_http()
                .enable_http1()
                .enable_http2()
                .build())
        };
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector()?);
        let (mut hub, account) = match &config.credentials {
            Credentials::AccessToken(t) => (DriveHub::new(client, t.clone()), None),
            Credentials::ServiceAccount { key_json, subject } => {
                let key = yup_oauth2::parse_service_account_key(key_json).map_err(|e| {
                    DriveError::Credentials(format!("not a service account key: {e}"))
                })?;
                let account = key.client_email.clone();
                let auth_client = hyper_util::client::legacy::Client::builder(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .build(connector()?);
                let mut b = yup_oauth2::ServiceAccountAuthenticator::with_client(
                    key,
                    yup_oauth2::client::CustomHyperClientBuilder::from(auth_client),
                );
                if let Some(s) = subject {
                    b = b.subject(s.clone());
                }
                let auth = b
                    .build()
                    .await
                    .map_err(|e| DriveError::Credentials(e.to_string()))?;
                (DriveHub::new(client, auth), Some(account))
            }
        };
        if let Some(e) = &config.endpoint {
            let root = format!("{}/", e.trim_end_matches('/'));
            hub.base_url(format!("{root}drive/v3/"));
            hub.root_url(root);
        }
        Ok(DriveClient {
            hub,
            in_flight: Semaphore::new(config.max_in_flight.max(1)),
            config,
            account,
            retried: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Requests retried so far (for logs and tests).
    pub fn retries(&self) -> u64 {
        self.retried.load(Ordering::Relaxed)
    }

    fn backoff(&self) -> Backoff {
        Backoff {
            attempt: 0,
            attempts: self.config.attempts,
            first: self.config.first_backoff,
            retried: self.retried.clone(),
        }
    }

    /// One item's metadata.
    pub async fn get(&self, id: &str) -> Result<File, DriveError> {
        let _permit = self.in_flight.acquire().await;
        let mut dlg = self.backoff();
        let r = self
            .hub
            .files()
            .get(id)
            .supports_all_drives(true)
            .param("fields", FILE_FIELDS)
            .add_scope(Scope::Readonly)
            .delegate(&mut dlg)
            .doit()
            .await;
        r.map(|(_, f)| f).map_err(DriveError::from_api)
    }

    /// One page of a folder's children (not trashed), in name order.
    pub async fn list(
        &self,
        folder: &str,
        page_token: Option<&str>,
    ) -> Result<FileList, DriveError> {
        let _permit = self.in_flight.acquire().await;
        let mut dlg = self.backoff();
        let q = format!(
            "'{}' in parents and trashed = false",
            folder.replace('\'', "\\'")
        );
        let mut call = self
            .hub
            .files()
            .list()
            .q(&q)
            .page_size(1000)
            .order_by("name")
            .supports_all_drives(true)
            .include_items_from_all_drives(true)
            .param(
                "fields",
                &format!("nextPageToken,incompleteSearch,files({FILE_FIELDS})"),
            )
            .add_scope(Scope::Readonly)
            .delegate(&mut dlg);
        if let Some(t) = page_token {
            call = call.page_token(t);
        }
        call.doit()
            .await
            .map(|(_, l)| l)
            .map_err(DriveError::from_api)
    }

    /// A file's content (`alt=media`), streamed, refused past `max_bytes`.
    pub async fn download(&self, id: &str, max_bytes: u64) -> Result<Vec<u8>, DriveError> {
        let _permit = self.in_flight.acquire().await;
        let mut dlg = self.backoff();
        let (res, _) = self
            .hub
            .files()
            .get(id)
            .supports_all_drives(true)
            .param("alt", "media")
            .add_scope(Scope::Readonly)
            .delegate(&mut dlg)
            .doit()
            .await
            .map_err(DriveError::from_api)?;
        let mut body = res.into_body();
        let mut out = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| DriveError::Unavailable(e.to_string()))?;
            if let Some(chunk) = frame.data_ref() {
                if out.len() as u64 + chunk.len() as u64 > max_bytes {
                    return Err(DriveError::TooLarge(max_bytes));
                }
                out.extend_from_slice(chunk);
            }
        }
        Ok(out)
    }
}
