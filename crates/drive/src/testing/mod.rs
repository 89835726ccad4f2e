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
pub const TEST_KEY: &str = include_str!("../../testdata/test-service-account.pem");
const TEST_PUBLIC_KEY: &str = include_str!("../../testdata/test-service-account.pub.pem");
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

mod routes;
mod server;
/// Google's error body.
mod wire;

pub use server::*;
use wire::*;
