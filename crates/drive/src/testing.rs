//! A Drive v3 server on loopback for tests (feature `testing`): `files.list` and `files.get`
//! (metadata and `alt=media`) with the JSON, paging, field selection and error bodies Google
//! documents, and the OAuth token endpoint of a service account key (JWT bearer grant). What
//! it holds and how it misbehaves (short and empty pages, rate limits, items not shared) is
//! set by the test. Never in a deployment.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

pub const FOLDER: &str = "application/vnd.google-apps.folder";
pub const SHORTCUT: &str = "application/vnd.google-apps.shortcut";
pub const GOOGLE_DOC: &str = "application/vnd.google-apps.document";
pub const TEST_KEY: &str = include_str!("../testdata/test-service-account.pem");
const TEST_PUBLIC_KEY: &str = include_str!("../testdata/test-service-account.pub.pem");
pub const ACCOUNT: &str = "isoscan-reader@isoscan-tests.iam.gserviceaccount.com";

#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    pub name: String,
    pub mime: String,
    pub parent: Option<String>,
    pub content: Option<Vec<u8>>,
    /// (target ID, target MIME type) of a shortcut.
    pub shortcut: Option<(String, String)>,
    pub trashed: bool,
    /// In a shared drive: invisible to calls without `supportsAllDrives` /
    /// `includeItemsFromAllDrives`.
    pub shared_drive: bool,
}

/// How the server behaves.
#[derive(Default)]
pub struct Behaviour {
    /// At most this many items per page whatever `pageSize` asks (0: no cap).
    pub page_cap: usize,
    /// An empty page with a `nextPageToken` between two full ones.
    pub empty_pages: bool,
    /// Folders whose first listing answers 429, then succeeds.
    pub rate_limited_once: HashSet<String>,
    /// Items whose first download answers 403 `userRateLimitExceeded`, then succeeds.
    pub user_rate_limited_once: HashSet<String>,
    /// Items that exist but are not shared with the caller (404, as Drive answers).
    pub not_shared: HashSet<String>,
}

/// The server's state.
pub struct FakeDrive {
    pub items: Mutex<Vec<Item>>,
    pub behaviour: Mutex<Behaviour>,
    tokens: Mutex<HashSet<String>>,
    issued: AtomicU64,
    /// Requests answered, errors served, token exchanges, downloads.
    pub requests: AtomicU64,
    pub refusals: AtomicU64,
    pub downloads: AtomicU64,
    pub max_page_size_asked: AtomicU64,
    addr: Mutex<String>,
}

impl FakeDrive {
    /// A server accepting `token` as a bearer token (and the tokens it issues).
    pub fn new(token: &str) -> Arc<FakeDrive> {
        Arc::new(FakeDrive {
            items: Mutex::new(vec![]),
            behaviour: Mutex::new(Behaviour::default()),
            tokens: Mutex::new([token.to_string()].into()),
            issued: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
            downloads: AtomicU64::new(0),
            max_page_size_asked: AtomicU64::new(0),
            addr: Mutex::new(String::new()),
        })
    }

    fn lock_items(&self) -> std::sync::MutexGuard<'_, Vec<Item>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_behaviour(&self) -> std::sync::MutexGuard<'_, Behaviour> {
        self.behaviour.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn add(&self, item: Item) {
        self.lock_items().push(item);
    }

    pub fn folder(&self, id: &str, name: &str, parent: Option<&str>) {
        self.add(Item {
            id: id.into(),
            name: name.into(),
            mime: FOLDER.into(),
            parent: parent.map(str::to_string),
            content: None,
            shortcut: None,
            trashed: false,
            shared_drive: false,
        });
    }

    pub fn file(&self, id: &str, name: &str, parent: &str, mime: &str, content: Vec<u8>) {
        self.add(Item {
            id: id.into(),
            name: name.into(),
            mime: mime.into(),
            parent: Some(parent.into()),
            content: Some(content),
            shortcut: None,
            trashed: false,
            shared_drive: false,
        });
    }

    pub fn shortcut(&self, id: &str, name: &str, parent: &str, target: &str, target_mime: &str) {
        self.add(Item {
            id: id.into(),
            name: name.into(),
            mime: SHORTCUT.into(),
            parent: Some(parent.into()),
            content: None,
            shortcut: Some((target.into(), target_mime.into())),
            trashed: false,
            shared_drive: false,
        });
    }

    /// A PDF at `path` (`/`-separated) under folder `root`, with the folders between made as
    /// needed; returns the file's ID.
    pub fn put_path(&self, root: &str, path: &str, content: Vec<u8>) -> String {
        let mut parent = root.to_string();
        let parts: Vec<&str> = path.split('/').collect();
        let new_id = |items: &Vec<Item>| format!("item{:021}", items.len());
        for dir in &parts[..parts.len() - 1] {
            let mut items = self.lock_items();
            let found = items
                .iter()
                .find(|i| {
                    i.mime == FOLDER && i.name == *dir && i.parent.as_deref() == Some(&parent)
                })
                .map(|i| i.id.clone());
            parent = match found {
                Some(id) => id,
                None => {
                    let id = new_id(&items);
                    items.push(Item {
                        id: id.clone(),
                        name: dir.to_string(),
                        mime: FOLDER.into(),
                        parent: Some(parent.clone()),
                        content: None,
                        shortcut: None,
                        trashed: false,
                        shared_drive: false,
                    });
                    id
                }
            };
        }
        let id = new_id(&self.lock_items());
        self.file(
            &id,
            parts[parts.len() - 1],
            &parent,
            "application/pdf",
            content,
        );
        id
    }

    pub fn behave(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.lock_behaviour());
    }

    /// A service account key whose token endpoint is this server.
    pub fn service_account_key(&self) -> String {
        let addr = self.addr.lock().unwrap_or_else(|p| p.into_inner()).clone();
        json!({
            "type": "service_account",
            "project_id": "isoscan-tests",
            "private_key_id": "test-key-1",
            "private_key": TEST_KEY,
            "client_email": ACCOUNT,
            "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": format!("{addr}/token"),
        })
        .to_string()
    }

    fn web_link(item: &Item) -> String {
        if item.mime == FOLDER {
            format!("https://drive.google.com/drive/folders/{}", item.id)
        } else {
            format!(
                "https://drive.google.com/file/d/{}/view?usp=drivesdk",
                item.id
            )
        }
    }

    fn json_of(item: &Item) -> Value {
        let mut v = json!({
            "kind": "drive#file",
            "id": item.id,
            "name": item.name,
            "mimeType": item.mime,
            "trashed": item.trashed,
            "modifiedTime": "2026-01-05T08:30:00.000Z",
            "webViewLink": Self::web_link(item),
        });
        if let Some(p) = &item.parent {
            v["parents"] = json!([p]);
        }
        if let (Some(c), false) = (
            &item.content,
            item.mime.starts_with("application/vnd.google-apps."),
        ) {
            // int64 values are strings in Google's JSON.
            v["size"] = json!(c.len().to_string());
        }
        if let Some((t, m)) = &item.shortcut {
            v["shortcutDetails"] = json!({"targetId": t, "targetMimeType": m});
        }
        v
    }
}

/// Google's error body.
fn error(status: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({"error": {
        "code": status.as_u16(),
        "message": message,
        "errors": [{"message": message, "domain": if status == StatusCode::TOO_MANY_REQUESTS || reason.contains("RateLimit") { "usageLimits" } else { "global" }, "reason": reason}],
    }});
    (
        status,
        [("content-type", "application/json; charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

/// `fields=nextPageToken,files(id,name)`: the top-level names and, per parenthesised part,
/// the names inside it.
fn parse_fields(fields: &str) -> HashMap<String, Option<HashSet<String>>> {
    let mut out = HashMap::new();
    let mut depth = 0;
    let mut start = 0;
    let bytes = fields.as_bytes();
    let mut parts = vec![];
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b',' if depth == 0 => {
                parts.push(&fields[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&fields[start..]);
    for p in parts {
        let p = p.trim();
        match p.split_once('(') {
            Some((name, inner)) => {
                let inner = inner.trim_end_matches(')');
                out.insert(
                    name.trim().to_string(),
                    Some(inner.split(',').map(|s| s.trim().to_string()).collect()),
                );
            }
            None if !p.is_empty() => {
                out.insert(p.to_string(), None);
            }
            None => {}
        }
    }
    out
}

fn select(v: &Value, keep: Option<&HashSet<String>>) -> Value {
    match (v, keep) {
        (Value::Object(m), Some(keep)) if !keep.contains("*") => Value::Object(
            m.iter()
                .filter(|(k, _)| keep.contains(k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        _ => v.clone(),
    }
}

type Q = Query<HashMap<String, String>>;

impl FakeDrive {
    fn authorised(&self, headers: &HeaderMap) -> bool {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        token.is_some_and(|t| {
            self.tokens
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains(t)
        })
    }

    fn visible(&self, item: &Item, q: &HashMap<String, String>, listing: bool) -> bool {
        let all = q.get("supportsAllDrives").is_some_and(|v| v == "true")
            && (!listing
                || q.get("includeItemsFromAllDrives")
                    .is_some_and(|v| v == "true"));
        !self.lock_behaviour().not_shared.contains(&item.id) && (!item.shared_drive || all)
    }

    fn unauthorised(&self) -> Response {
        self.refusals.fetch_add(1, Ordering::Relaxed);
        error(
            StatusCode::UNAUTHORIZED,
            "authError",
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        )
    }

    fn list(&self, headers: HeaderMap, q: HashMap<String, String>) -> Response {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if !self.authorised(&headers) {
            return self.unauthorised();
        }
        let query = q.get("q").cloned().unwrap_or_default();
        // `'ID' in parents and trashed = false`
        let Some(parent) = query.split('\'').nth(1).map(str::to_string) else {
            return error(StatusCode::BAD_REQUEST, "invalid", "Invalid Value");
        };
        let want_untrashed = query.contains("trashed = false") || query.contains("trashed=false");
        if self.lock_behaviour().rate_limited_once.remove(&parent) {
            self.refusals.fetch_add(1, Ordering::Relaxed);
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                "rateLimitExceeded",
                "Rate Limit Exceeded",
            );
        }
        let size: usize = q
            .get("pageSize")
            .and_then(|s| s.parse().ok())
            .unwrap_or(100)
            .clamp(1, 1000);
        self.max_page_size_asked
            .fetch_max(size as u64, Ordering::Relaxed);
        let (cap, empty_pages) = {
            let b = self.lock_behaviour();
            (b.page_cap, b.empty_pages)
        };
        let size = if cap > 0 { size.min(cap) } else { size };
        let parent_item = self.lock_items().iter().find(|i| i.id == parent).cloned();
        let mut children: Vec<Item> = match parent_item {
            Some(p) if self.visible(&p, &q, true) => self
                .lock_items()
                .iter()
                .filter(|i| i.parent.as_deref() == Some(parent.as_str()))
                .filter(|i| !(want_untrashed && i.trashed))
                .filter(|i| self.visible(i, &q, true))
                .cloned()
                .collect(),
            // Drive answers an empty list for a parent the caller cannot see.
            _ => vec![],
        };
        if q.get("orderBy").is_some_and(|o| o.starts_with("name")) {
            children.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        } else {
            children.sort_by(|a, b| a.id.cmp(&b.id));
        }
        let token = q.get("pageToken").cloned().unwrap_or_default();
        let (offset, empty) = match token.split_once(':') {
            Some(("o", n)) => (n.parse().unwrap_or(0), false),
            Some(("e", n)) => (n.parse().unwrap_or(0), true),
            _ if token.is_empty() => (0, false),
            _ => return error(StatusCode::BAD_REQUEST, "invalid", "Invalid Value"),
        };
        let (page, next) = if empty {
            (vec![], Some(format!("o:{offset}")))
        } else {
            let end = (offset + size).min(children.len());
            let next = (end < children.len()).then(|| {
                if empty_pages {
                    format!("e:{end}")
                } else {
                    format!("o:{end}")
                }
            });
            (children[offset.min(end)..end].to_vec(), next)
        };
        let fields = q.get("fields").map(|f| parse_fields(f));
        let file_fields = match &fields {
            Some(f) => f.get("files").cloned().flatten(),
            None => Some(
                ["kind", "id", "name", "mimeType"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            ),
        };
        let mut body = serde_json::Map::new();
        let wants = |k: &str| fields.as_ref().is_none_or(|f| f.contains_key(k));
        if wants("kind") {
            body.insert("kind".into(), json!("drive#fileList"));
        }
        if let Some(n) = next {
            if wants("nextPageToken") {
                body.insert("nextPageToken".into(), json!(n));
            }
        }
        if wants("incompleteSearch") {
            body.insert("incompleteSearch".into(), json!(false));
        }
        if wants("files") {
            let files: Vec<Value> = page
                .iter()
                .map(|i| select(&Self::json_of(i), file_fields.as_ref()))
                .collect();
            body.insert("files".into(), json!(files));
        }
        (
            StatusCode::OK,
            [("content-type", "application/json; charset=UTF-8")],
            Value::Object(body).to_string(),
        )
            .into_response()
    }

    fn get(&self, headers: HeaderMap, id: String, q: HashMap<String, String>) -> Response {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if !self.authorised(&headers) {
            return self.unauthorised();
        }
        let item = self.lock_items().iter().find(|i| i.id == id).cloned();
        let Some(item) = item.filter(|i| self.visible(i, &q, false)) else {
            self.refusals.fetch_add(1, Ordering::Relaxed);
            return error(
                StatusCode::NOT_FOUND,
                "notFound",
                &format!("File not found: {id}."),
            );
        };
        if q.get("alt").is_some_and(|a| a == "media") {
            if self.lock_behaviour().user_rate_limited_once.remove(&id) {
                self.refusals.fetch_add(1, Ordering::Relaxed);
                return error(
                    StatusCode::FORBIDDEN,
                    "userRateLimitExceeded",
                    "User Rate Limit Exceeded",
                );
            }
            if item.mime.starts_with("application/vnd.google-apps.") || item.content.is_none() {
                return error(
                    StatusCode::FORBIDDEN,
                    "fileNotDownloadable",
                    "Only files with binary content can be downloaded. Use Export with Docs Editors files.",
                );
            }
            self.downloads.fetch_add(1, Ordering::Relaxed);
            return (
                StatusCode::OK,
                [("content-type", item.mime.clone())],
                item.content.unwrap_or_default(),
            )
                .into_response();
        }
        let fields = q.get("fields").map(|f| {
            f.split(',')
                .map(|s| s.trim().to_string())
                .collect::<HashSet<_>>()
        });
        let default: HashSet<String> = ["kind", "id", "name", "mimeType"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let v = select(
            &Self::json_of(&item),
            Some(fields.as_ref().unwrap_or(&default)),
        );
        (
            StatusCode::OK,
            [("content-type", "application/json; charset=UTF-8")],
            v.to_string(),
        )
            .into_response()
    }

    /// The OAuth token endpoint: a JWT bearer grant signed with the service account's key.
    fn token(&self, body: String) -> Response {
        let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        let bad = |why: &str| {
            (
                StatusCode::BAD_REQUEST,
                [("content-type", "application/json")],
                json!({"error": "invalid_grant", "error_description": why}).to_string(),
            )
                .into_response()
        };
        if form.get("grant_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
        {
            return bad("unsupported grant_type");
        }
        let Some(assertion) = form.get("assertion") else {
            return bad("no assertion");
        };
        let Ok(key) = jsonwebtoken::DecodingKey::from_rsa_pem(TEST_PUBLIC_KEY.as_bytes()) else {
            return bad("server key");
        };
        let addr = self.addr.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.set_audience(&[format!("{addr}/token")]);
        v.set_issuer(&[ACCOUNT]);
        // Google takes base64url with or without padding (yup-oauth2 pads); the verifier does not.
        let assertion = assertion.replace('=', "");
        let claims = match jsonwebtoken::decode::<Value>(&assertion, &key, &v) {
            Ok(d) => d.claims,
            Err(e) => return bad(&format!("Invalid JWT Signature: {e}")),
        };
        if !claims["scope"].as_str().is_some_and(|s| {
            s.split(' ')
                .any(|s| s.starts_with("https://www.googleapis.com/auth/drive"))
        }) {
            return bad("no Drive scope");
        }
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        let token = format!("ya29.test-{n}");
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.clone());
        (
            StatusCode::OK,
            [("content-type", "application/json")],
            json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"}).to_string(),
        )
            .into_response()
    }
}

/// Serves `drive` on a free loopback port; returns its root URL (for `ISOSCAN_DRIVE_ENDPOINT`).
pub async fn serve(drive: Arc<FakeDrive>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = format!("http://{}", listener.local_addr().expect("addr"));
    *drive.addr.lock().unwrap_or_else(|p| p.into_inner()) = addr.clone();
    let app =
        Router::new()
            .route(
                "/drive/v3/files",
                get(
                    |State(d): State<Arc<FakeDrive>>, h: HeaderMap, Query(q): Q| async move {
                        d.list(h, q)
                    },
                ),
            )
            .route(
                "/drive/v3/files/{id}",
                get(
                    |State(d): State<Arc<FakeDrive>>,
                     h: HeaderMap,
                     Path(id): Path<String>,
                     Query(q): Q| async move { d.get(h, id, q) },
                ),
            )
            .route(
                "/token",
                post(|State(d): State<Arc<FakeDrive>>, body: String| async move { d.token(body) }),
            )
            .with_state(drive);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// Serves `drive` from a thread of its own (for tests whose runtime is not async, or that run
/// the isoscan binary); returns its root URL.
pub fn serve_in_thread(drive: Arc<FakeDrive>) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async move {
            let _ = tx.send(serve(drive).await);
            std::future::pending::<()>().await;
        });
    });
    rx.recv().expect("the test Drive server started")
}
