//! HTTP routes: the socket, uploads, report downloads, drawings, and the dashboard's files.
//! Each route checks who may do it, does one thing, and maps the result to a status.

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Extension, Path as UrlPath, Query, Request, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use futures::StreamExt;
use isoscan_engine::ports::{SourceError, UploadError};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::adapters::{FolderUploads, Links, ReportFolder, ServeSource};
use super::auth::Tokens;
use super::guard::{harden, Guard};
use super::listen::Slot;
use super::ws::{self, Shared};

/// Largest WebSocket message read at all; messages over the protocol's limit get an ERROR.
pub const WS_READ_LIMIT: usize = 4 * 1024 * 1024;
/// Largest drawing served through a link.
const MAX_DRAWING: u64 = 1 << 30;
/// An upload whose body stops arriving for this long is dropped.
const UPLOAD_STALL: std::time::Duration = std::time::Duration::from_secs(60);

pub struct App {
    pub shared: Arc<Shared>,
    pub tokens: Tokens,
    pub links: Links,
    pub uploads: Arc<FolderUploads>,
    pub reports: Arc<ReportFolder>,
    pub source: Arc<ServeSource>,
    pub dashboard: PathBuf,
    pub guard: Guard,
    pub max_upload: u64,
    pub next_conn: AtomicU64,
    /// Held by every socket task: the server waits for all to drop it before it exits (axum's
    /// graceful shutdown does not wait for upgraded connections).
    pub alive: tokio::sync::mpsc::Sender<()>,
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/ws", get(socket))
        .route("/uploads/{key}/{name}", put(upload))
        .route("/reports/{file}", get(report))
        .route("/drawings", get(drawing))
        .fallback(get(dashboard))
        .layer(middleware::from_fn_with_state(app.clone(), hardened))
        .with_state(app)
}

/// Refuses a request that names another server in `Host` (DNS rebinding), and gives every
/// answer the browser hardening headers.
async fn hardened(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .map(|h| h.to_str().unwrap_or("\u{fffd}").to_string());
    if let Some(h) = host.as_deref().filter(|h| !app.guard.host_ok(h)) {
        tracing::warn!(host = h, "request for another host refused");
        let mut r = text(
            StatusCode::MISDIRECTED_REQUEST,
            "this server does not answer to that name: use the address it printed, or start it with --public-url",
        );
        harden(r.headers_mut(), None, false);
        return r;
    }
    let drawing = req.uri().path() == "/drawings";
    let mut r = next.run(req).await;
    harden(r.headers_mut(), host.as_deref(), drawing);
    r
}

fn text(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, msg.into()).into_response()
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

async fn socket(
    State(app): State<Arc<App>>,
    Query(q): Query<TokenQuery>,
    slot: Option<Extension<Slot>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    // A page of another site must not drive the socket with a token it got hold of; clients
    // that send no Origin (scripts) are not pages.
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !app.guard.origin_ok(origin) {
            tracing::warn!(origin, "socket from a foreign page refused");
            return text(
                StatusCode::FORBIDDEN,
                "this page may not use this server: open the dashboard the server serves, or start it with --allow-origin",
            );
        }
    }
    let Some(principal) = q
        .token
        .as_deref()
        .and_then(|t| app.tokens.principal(t))
        .map(str::to_string)
    else {
        return text(
            StatusCode::UNAUTHORIZED,
            "a valid token is required: open the URL the server printed at startup",
        );
    };
    if *app.shared.shutdown.borrow() {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down",
        );
    }
    let id = app.next_conn.fetch_add(1, Ordering::Relaxed);
    let shared = app.shared.clone();
    let alive = app.alive.clone();
    upgrade
        .max_message_size(WS_READ_LIMIT)
        .max_frame_size(WS_READ_LIMIT)
        .on_upgrade(move |socket| async move {
            let (sink, stream) = socket.split();
            ws::run(shared, id, principal, sink, stream).await;
            drop(alive);
            // The connection's place under the limits is held until the socket closes.
            drop(slot);
        })
}

#[derive(Deserialize)]
struct UploadQuery {
    size: u64,
    exp: u64,
    sig: String,
}

async fn upload(
    State(app): State<Arc<App>>,
    UrlPath((key, name)): UrlPath<(String, String)>,
    Query(q): Query<UploadQuery>,
    req: Request,
) -> Response {
    if !app.links.check_upload(&key, &name, q.size, q.exp, &q.sig) {
        return text(
            StatusCode::FORBIDDEN,
            "this upload link is not valid or has expired; ask for a new one",
        );
    }
    if q.size > app.max_upload {
        return text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("uploads may be at most {} MiB", app.max_upload >> 20),
        );
    }
    let dest = match app.uploads.destination(&key, &name) {
        Ok(d) => d,
        Err(UploadError::NotFound(_)) => return text(StatusCode::NOT_FOUND, "unknown upload"),
        Err(e) => return text(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let part = dest.with_extension(format!(
        "{}.part",
        dest.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    let mut file = match tokio::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&part)
        .await
    {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, path = %part.display(), "cannot create an upload");
            return text(StatusCode::INTERNAL_SERVER_ERROR, "cannot store the upload");
        }
    };
    let mut body = req.into_body().into_data_stream();
    let mut got: u64 = 0;
    loop {
        let chunk = match tokio::time::timeout(UPLOAD_STALL, body.next()).await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(_) => {
                let _ = tokio::fs::remove_file(&part).await;
                return text(
                    StatusCode::REQUEST_TIMEOUT,
                    format!("the upload stalled for {} s", UPLOAD_STALL.as_secs()),
                );
            }
        };
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                let _ = tokio::fs::remove_file(&part).await;
                return text(StatusCode::BAD_REQUEST, format!("upload interrupted: {e}"));
            }
        };
        got += chunk.len() as u64;
        if got > q.size {
            let _ = tokio::fs::remove_file(&part).await;
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("more than the {} bytes announced", q.size),
            );
        }
        if let Err(e) = file.write_all(&chunk).await {
            tracing::error!(error = %e, "cannot write an upload");
            let _ = tokio::fs::remove_file(&part).await;
            return text(StatusCode::INTERNAL_SERVER_ERROR, "cannot store the upload");
        }
    }
    if got != q.size {
        let _ = tokio::fs::remove_file(&part).await;
        return text(
            StatusCode::BAD_REQUEST,
            format!("{got} bytes arrived, {} were announced", q.size),
        );
    }
    if file.flush().await.is_err() || tokio::fs::rename(&part, &dest).await.is_err() {
        let _ = tokio::fs::remove_file(&part).await;
        return text(StatusCode::INTERNAL_SERVER_ERROR, "cannot store the upload");
    }
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct SignedQuery {
    exp: u64,
    sig: String,
}

async fn report(
    State(app): State<Arc<App>>,
    UrlPath(file): UrlPath<String>,
    Query(q): Query<SignedQuery>,
) -> Response {
    let Some(session) = file.strip_suffix(".xlsx") else {
        return text(StatusCode::NOT_FOUND, "no such report");
    };
    if !app.links.check_report(session, q.exp, &q.sig) {
        return text(
            StatusCode::FORBIDDEN,
            "this download link is not valid or has expired; ask for the report again",
        );
    }
    let Some(path) = app.reports.path(session) else {
        return text(StatusCode::NOT_FOUND, "no such report");
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    ),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_static("attachment; filename=\"isoscan-report.xlsx\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => text(StatusCode::NOT_FOUND, "no such report"),
    }
}

#[derive(Deserialize)]
struct DrawingQuery {
    src: String,
    path: String,
    sig: String,
}

async fn drawing(State(app): State<Arc<App>>, Query(q): Query<DrawingQuery>) -> Response {
    if !app.links.check_drawing(&q.src, &q.path, &q.sig) {
        return text(StatusCode::FORBIDDEN, "this drawing link is not valid");
    }
    match app.source.open(&q.src, &q.path, MAX_DRAWING).await {
        Ok(bytes) => {
            let name = q.path.rsplit('/').next().unwrap_or("drawing.pdf");
            // A PDF is shown; anything else (a scan as PNG or TIFF) is only downloaded.
            let pdf = name.to_ascii_lowercase().ends_with(".pdf");
            let disp = format!(
                "{}; filename=\"{}\"",
                if pdf { "inline" } else { "attachment" },
                name.replace(|c: char| c == '"' || c.is_control() || !c.is_ascii(), "_")
            );
            let mut r = Response::new(Body::from(bytes));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(if pdf {
                    "application/pdf"
                } else {
                    "application/octet-stream"
                }),
            );
            if let Ok(v) = HeaderValue::from_str(&disp) {
                r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
        Err(SourceError::Transient(e)) => {
            tracing::error!(error = %e, "cannot open a drawing");
            text(StatusCode::SERVICE_UNAVAILABLE, "try again")
        }
        Err(e) => text(StatusCode::NOT_FOUND, e.to_string()),
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// The dashboard's built files; any other path gets `index.html` (the app routes itself).
async fn dashboard(State(app): State<Arc<App>>, req: Request) -> Response {
    let rel = req.uri().path().trim_start_matches('/');
    let rel = Path::new(rel);
    let safe = rel.components().all(|c| matches!(c, Component::Normal(_)));
    let mut path = app.dashboard.join(rel);
    if !safe || !path.is_file() {
        path = app.dashboard.join("index.html");
    }
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let mut r = Response::new(Body::from(bytes));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(&path)),
            );
            // Built assets carry a content hash in their names; index.html must be fresh.
            let cache = if path.ends_with("index.html") {
                "no-cache"
            } else {
                "public, max-age=31536000, immutable"
            };
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            r
        }
        Err(_) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "The dashboard is not built in {}: run `npm --prefix frontend ci && npm --prefix frontend run build`, or start with scripts/serve-sample.sh. The WebSocket API at /ws works without it.",
                app.dashboard.display()
            ),
        ),
    }
}
