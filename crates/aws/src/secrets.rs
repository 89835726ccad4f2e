//! Secrets Manager: JSON secrets (API tokens, Drive credentials, the link-signing key), read at
//! a cold start and, for the tokens, again when the copy is older than its maximum age, so that
//! a revoked token stops working within that time.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {0} cannot be read: {1}")]
    Unreadable(String, String),
    #[error("secret {0} is not JSON: {1}")]
    NotJson(String, String),
}

/// The secret's JSON value.
pub async fn read_json(client: &Client, id: &str) -> Result<serde_json::Value, SecretError> {
    let r = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| SecretError::Unreadable(id.to_string(), crate::describe(&e)))?;
    let text = r.secret_string().unwrap_or("{}");
    // The parser's message quotes none of the text: a secret never reaches a log.
    serde_json::from_str(text).map_err(|e| {
        SecretError::NotJson(
            id.to_string(),
            format!(
                "{:?} at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            ),
        )
    })
}

/// What an API token grants: who its holder is and, when the secret lists them, the only
/// sources its holder may scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub principal: String,
    pub sources: Option<Vec<String>>,
}

/// Each token of a secret shaped `{"tokens": {"TOKEN": "principal"}}` or
/// `{"tokens": {"TOKEN": {"principal": "alice", "sources": ["s3://plant-a/isos/"]}}}`.
fn grants(secret: &serde_json::Value) -> impl Iterator<Item = (&str, Grant)> {
    secret
        .get("tokens")
        .and_then(|t| t.as_object())
        .into_iter()
        .flatten()
        .filter_map(|(t, g)| {
            let grant = match g {
                serde_json::Value::String(p) => Grant {
                    principal: p.clone(),
                    sources: None,
                },
                serde_json::Value::Object(o) => Grant {
                    principal: o.get("principal")?.as_str()?.to_string(),
                    sources: match o.get("sources") {
                        None => None,
                        Some(list) => Some(
                            list.as_array()?
                                .iter()
                                .map(|s| s.as_str().map(str::to_string))
                                .collect::<Option<Vec<_>>>()?,
                        ),
                    },
                },
                _ => return None,
            };
            Some((t.as_str(), grant))
        })
}

/// The grant of an API token.
pub fn grant_of(secret: &serde_json::Value, token: &str) -> Option<Grant> {
    let mut found = None;
    // Compared in constant time each, every one of them.
    for (t, g) in grants(secret) {
        let same = t.len() == token.len()
            && t.bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            found = Some(g);
        }
    }
    found
}

/// The principal of an API token.
pub fn principal_of(secret: &serde_json::Value, token: &str) -> Option<String> {
    grant_of(secret, token).map(|g| g.principal)
}

/// The sources `principal` is restricted to: those its tokens list, `None` when one of its
/// tokens lists none (or it has no token: a Cognito user).
pub fn sources_of(secret: &serde_json::Value, principal: &str) -> Option<Vec<String>> {
    let mut all: Option<Vec<String>> = None;
    for (_, g) in grants(secret).filter(|(_, g)| g.principal == principal) {
        match g.sources {
            None => return None,
            Some(s) => all.get_or_insert_with(Vec::new).extend(s),
        }
    }
    all
}

/// A JSON secret read again when the copy is older than `max_age`. A read that fails keeps
/// the last copy (logged) and is tried again on the next call; with no copy, it is an error.
pub struct CachedSecret {
    source: Option<(Client, String)>,
    max_age: Duration,
    copy: RwLock<Option<(Instant, serde_json::Value)>>,
}

impl std::fmt::Debug for CachedSecret {
    // Never the value.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedSecret")
            .field("id", &self.source.as_ref().map(|(_, id)| id))
            .field("max_age", &self.max_age)
            .finish()
    }
}

impl CachedSecret {
    pub fn new(client: Client, id: impl Into<String>, max_age: Duration) -> CachedSecret {
        CachedSecret {
            source: Some((client, id.into())),
            max_age,
            copy: RwLock::new(None),
        }
    }

    /// A value that never changes (tests, and a deployment without the secret).
    pub fn fixed(value: serde_json::Value) -> CachedSecret {
        CachedSecret {
            source: None,
            max_age: Duration::MAX,
            copy: RwLock::new(Some((Instant::now(), value))),
        }
    }

    /// The value, read again first when the copy is too old.
    pub async fn get(&self) -> Result<serde_json::Value, SecretError> {
        let copy = self.copy.read().map(|c| c.clone()).unwrap_or(None);
        let Some((client, id)) = &self.source else {
            return Ok(copy.map(|(_, v)| v).unwrap_or_default());
        };
        if let Some((at, v)) = &copy {
            if at.elapsed() < self.max_age {
                return Ok(v.clone());
            }
        }
        match read_json(client, id).await {
            Ok(v) => {
                if let Ok(mut c) = self.copy.write() {
                    *c = Some((Instant::now(), v.clone()));
                }
                Ok(v)
            }
            Err(e) => match copy {
                Some((_, v)) => {
                    tracing::warn!(error = %e, "secret not read again: the last copy is kept");
                    Ok(v)
                }
                None => Err(e),
            },
        }
    }

    /// The last copy, as it is (no read).
    pub fn last(&self) -> serde_json::Value {
        self.copy
            .read()
            .ok()
            .and_then(|c| c.as_ref().map(|(_, v)| v.clone()))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tokens_name_a_principal_and_may_restrict_its_sources() {
        let s = json!({"tokens": {
            "t-plain": "bob",
            "t-alice": {"principal": "alice", "sources": ["s3://plant-a/isos/"]},
            "t-alice2": {"principal": "alice", "sources": ["s3://plant-b/"]},
            "t-carol": {"principal": "carol"},
            "t-broken": {"sources": []},
            "t-wrong": 3
        }});
        assert_eq!(principal_of(&s, "t-plain").as_deref(), Some("bob"));
        assert_eq!(
            grant_of(&s, "t-alice"),
            Some(Grant {
                principal: "alice".into(),
                sources: Some(vec!["s3://plant-a/isos/".into()])
            })
        );
        assert_eq!(principal_of(&s, "t-broken"), None);
        assert_eq!(principal_of(&s, "t-wrong"), None);
        assert_eq!(principal_of(&s, "t-alic"), None);
        assert_eq!(principal_of(&json!({}), "t-plain"), None);
        let mut a = sources_of(&s, "alice").unwrap();
        a.sort();
        assert_eq!(a, ["s3://plant-a/isos/", "s3://plant-b/"]);
        assert_eq!(sources_of(&s, "bob"), None);
        assert_eq!(sources_of(&s, "carol"), None);
        assert_eq!(sources_of(&s, "a cognito user"), None);
    }
}
