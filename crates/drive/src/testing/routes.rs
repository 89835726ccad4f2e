//! The Drive v3 routes: `files.list`, `files.get` and the token endpoint.

use super::*;

impl FakeDrive {
    pub(super) fn authorised(&self, headers: &HeaderMap) -> bool {
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

    pub(super) fn visible(&self, item: &Item, q: &HashMap<String, String>, listing: bool) -> bool {
        let all = q.get("supportsAllDrives").is_some_and(|v| v == "true")
            && (!listing
                || q.get("includeItemsFromAllDrives")
                    .is_some_and(|v| v == "true"));
        !self.lock_behaviour().not_shared.contains(&item.id) && (!item.shared_drive || all)
    }

    pub(super) fn unauthorised(&self) -> Response {
        self.refusals.fetch_add(1, Ordering::Relaxed);
        error(
            StatusCode::UNAUTHORIZED,
            "authError",
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        )
    }

    pub(super) fn list(&self, headers: HeaderMap, q: HashMap<String, String>) -> Response {
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

    pub(super) fn get(
        &self,
        headers: HeaderMap,
        id: String,
        q: HashMap<String, String>,
    ) -> Response {
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
    pub(super) fn token(&self, body: String) -> Response {
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
