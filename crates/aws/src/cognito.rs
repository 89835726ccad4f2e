//! Cognito user pool tokens for `$connect`: an ID or access token (a JWT signed RS256 by the
//! pool) is checked against the pool's published keys (JWKS), its issuer, expiry, use and app
//! client. The keys are fetched once per cold start and again only when a token names a key
//! not seen yet (Cognito rotates keys by adding one), at most once a minute.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::Mutex;

/// Which pool and app client tokens must come from.
#[derive(Debug, Clone)]
pub struct CognitoSettings {
    /// `https://cognito-idp.REGION.amazonaws.com/POOL_ID`, exactly as in the tokens' `iss`.
    pub issuer: String,
    /// The app client the dashboard signs in with (`aud` of ID tokens, `client_id` of access
    /// tokens).
    pub client_id: String,
    /// Where the keys are; `ISSUER/.well-known/jwks.json` unless set.
    pub jwks_url: Option<String>,
}

impl CognitoSettings {
    /// `COGNITO_ISSUER` and `COGNITO_CLIENT_ID` (both, or none: Cognito off);
    /// `COGNITO_JWKS_URL` optional.
    pub fn from_env() -> Option<CognitoSettings> {
        Some(CognitoSettings {
            issuer: std::env::var("COGNITO_ISSUER").ok()?,
            client_id: std::env::var("COGNITO_CLIENT_ID").ok()?,
            jwks_url: std::env::var("COGNITO_JWKS_URL").ok(),
        })
    }
}

/// Why a token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Not a valid token of this pool and client: the connection is refused.
    #[error("token refused: {0}")]
    Invalid(String),
    /// The pool's keys cannot be fetched now: a server error, not the client's.
    #[error("the pool's keys cannot be read: {0}")]
    KeysUnavailable(String),
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    token_use: String,
    #[serde(default)]
    aud: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default, rename = "cognito:username")]
    cognito_username: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

pub struct CognitoVerifier {
    settings: CognitoSettings,
    http: reqwest::Client,
    keys: Mutex<(Option<JwkSet>, Option<Instant>)>,
}

impl CognitoVerifier {
    pub fn new(settings: CognitoSettings) -> CognitoVerifier {
        CognitoVerifier {
            settings,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            keys: Mutex::new((None, None)),
        }
    }

    /// Whether a token looks like a JWT at all (three base64url parts), so that API tokens
    /// are never sent down this path.
    pub fn looks_like_jwt(token: &str) -> bool {
        token.split('.').count() == 3 && token.len() > 40
    }

    /// The principal of a valid token: the user's name in the pool (its `sub` if it has none).
    pub async fn principal(&self, token: &str) -> Result<String, TokenError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(TokenError::Invalid(format!("algorithm {:?}", header.alg)));
        }
        let kid = header
            .kid
            .ok_or_else(|| TokenError::Invalid("no key id".into()))?;
        let key = self.key(&kid).await?;
        let mut v = Validation::new(Algorithm::RS256);
        v.set_issuer(&[&self.settings.issuer]);
        v.set_required_spec_claims(&["exp", "iss", "sub"]);
        // Access tokens have no `aud`; the client is checked below for both kinds.
        v.validate_aud = false;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &v)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        let c = data.claims;
        let client = match c.token_use.as_str() {
            "id" => c.aud.as_deref(),
            "access" => c.client_id.as_deref(),
            other => return Err(TokenError::Invalid(format!("token_use {other}"))),
        };
        if client != Some(self.settings.client_id.as_str()) {
            return Err(TokenError::Invalid("issued to another app client".into()));
        }
        Ok(c.cognito_username.or(c.username).unwrap_or(c.sub))
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, TokenError> {
        let mut keys = self.keys.lock().await;
        let find = |set: &Option<JwkSet>| set.as_ref().and_then(|s| s.find(kid)).cloned();
        let jwk = match find(&keys.0) {
            Some(k) => k,
            None => {
                let recent = keys
                    .1
                    .is_some_and(|t| t.elapsed() < Duration::from_secs(60));
                if keys.0.is_some() && recent {
                    return Err(TokenError::Invalid(format!("unknown key {kid}")));
                }
                let set = self.fetch().await?;
                *keys = (Some(set), Some(Instant::now()));
                find(&keys.0).ok_or_else(|| TokenError::Invalid(format!("unknown key {kid}")))?
            }
        };
        DecodingKey::from_jwk(&jwk).map_err(|e| TokenError::Invalid(e.to_string()))
    }

    async fn fetch(&self) -> Result<JwkSet, TokenError> {
        let url = self.settings.jwks_url.clone().unwrap_or_else(|| {
            format!(
                "{}/.well-known/jwks.json",
                self.settings.issuer.trim_end_matches('/')
            )
        });
        let unavailable = |e: reqwest::Error| TokenError::KeysUnavailable(format!("{url}: {e}"));
        self.http
            .get(&url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(unavailable)?
            .json::<JwkSet>()
            .await
            .map_err(unavailable)
    }
}
