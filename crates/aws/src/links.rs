//! Drawing links that last as long as the report: `BASE?l=PAYLOAD&s=SIGNATURE`, where the
//! payload names a bucket, a key and an expiry and the signature is an HMAC-SHA256 of it under
//! a key kept in Secrets Manager. The link function checks one and redirects to a GET presigned
//! there and then, so no link depends on the credentials (temporary on Lambda) of whoever made
//! it. A link carries no AWS credential and grants nothing but that one object until it expires.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long a drawing link works: as long as the report that carries it is kept.
pub const LINK_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Why a link is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this link is not valid")]
    Invalid,
    #[error("this link has expired: ask for the report again")]
    Expired,
}

/// The secret is not what the stack puts there.
#[derive(Debug, thiserror::Error)]
#[error("the link key secret must be JSON with a \"key\" of at least 32 characters (and optionally a \"previous\" one)")]
pub struct BadLinkKey;

/// Signs and checks links; `previous` keys are still accepted (a rotation), never used to sign.
#[derive(Clone)]
pub struct LinkSigner {
    base: String,
    key: Vec<u8>,
    previous: Vec<Vec<u8>>,
    ttl: Duration,
}

impl std::fmt::Debug for LinkSigner {
    // Never the keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkSigner")
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// Where a checked link points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTarget {
    pub bucket: String,
    pub key: String,
}

impl LinkSigner {
    pub fn new(base: impl Into<String>, key: &[u8], ttl: Duration) -> LinkSigner {
        LinkSigner {
            base: base.into(),
            key: key.to_vec(),
            previous: vec![],
            ttl,
        }
    }

    /// From the secret `{"key": "...", "previous": "..."}`, for links under `base` (the link
    /// function's URL).
    pub fn from_secret(
        secret: &serde_json::Value,
        base: impl Into<String>,
        ttl: Duration,
    ) -> Result<LinkSigner, BadLinkKey> {
        let key = |name: &str| {
            secret
                .get(name)
                .and_then(|k| k.as_str())
                .filter(|k| k.len() >= 32)
                .map(|k| k.as_bytes().to_vec())
        };
        Ok(LinkSigner {
            base: base.into(),
            key: key("key").ok_or(BadLinkKey)?,
            previous: key("previous").into_iter().collect(),
            ttl,
        })
    }

    fn mac(key: &[u8], payload: &[u8]) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
        m.update(payload);
        m
    }

    /// A link to `bucket/key`, valid from `now_s` (seconds since 1970) for the signer's time.
    pub fn link(&self, bucket: &str, key: &str, now_s: u64) -> String {
        let expires = now_s + self.ttl.as_secs();
        let payload = format!("{bucket}\n{key}\n{expires}");
        let sig = Self::mac(&self.key, payload.as_bytes())
            .finalize()
            .into_bytes();
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!(
            "{}{sep}l={}&s={}",
            self.base,
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(sig)
        )
    }

    /// Checks a link's query string (`l=...&s=...`, in any order, other parameters ignored).
    pub fn check(&self, query: &str, now_s: u64) -> Result<LinkTarget, LinkError> {
        let param = |name: &str| {
            query
                .split('&')
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| *k == name)
                .and_then(|(_, v)| URL_SAFE_NO_PAD.decode(v).ok())
        };
        let payload = param("l").ok_or(LinkError::Invalid)?;
        let sig = param("s").ok_or(LinkError::Invalid)?;
        let signed = std::iter::once(&self.key)
            .chain(&self.previous)
            .any(|k| Self::mac(k, &payload).verify_slice(&sig).is_ok());
        if !signed {
            return Err(LinkError::Invalid);
        }
        let text = String::from_utf8(payload).map_err(|_| LinkError::Invalid)?;
        let mut parts = text.splitn(3, '\n');
        let (Some(bucket), Some(key), Some(expires)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkError::Invalid);
        };
        let expires: u64 = expires.parse().map_err(|_| LinkError::Invalid)?;
        if now_s > expires {
            return Err(LinkError::Expired);
        }
        Ok(LinkTarget {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn query(link: &str) -> &str {
        link.split_once('?').map(|(_, q)| q).unwrap()
    }

    #[test]
    fn a_link_opens_its_object_until_it_expires_and_nothing_else() {
        let s = LinkSigner::new("https://links.example/", KEY, Duration::from_secs(100));
        let link = s.link("plant-a", "isos/area 1/ä.pdf", 1_000);
        assert!(link.starts_with("https://links.example/?l="));
        assert!(!link.contains("X-Amz"), "no AWS credential in a link");
        let target = s.check(query(&link), 1_050).unwrap();
        assert_eq!(target.bucket, "plant-a");
        assert_eq!(target.key, "isos/area 1/ä.pdf");
        assert_eq!(s.check(query(&link), 1_101), Err(LinkError::Expired));
        // Another key, a changed payload or signature, a missing part: not valid.
        let other = LinkSigner::new(
            "https://links.example/",
            b"another key, as long as the first",
            Duration::from_secs(100),
        );
        assert_eq!(other.check(query(&link), 1_050), Err(LinkError::Invalid));
        let forged = other.link("plant-a", "isos/area 1/ä.pdf", 1_000);
        assert_eq!(s.check(query(&forged), 1_050), Err(LinkError::Invalid));
        let (l, sig) = query(&link).split_once("&s=").unwrap();
        let evil = URL_SAFE_NO_PAD.encode("plant-a\nsecret.pdf\n9999999999");
        assert_eq!(
            s.check(&format!("l={evil}&s={sig}"), 1_050),
            Err(LinkError::Invalid)
        );
        assert_eq!(s.check(l, 1_050), Err(LinkError::Invalid));
        assert_eq!(s.check("", 1_050), Err(LinkError::Invalid));
        assert_eq!(s.check("l=%%%&s=***", 1_050), Err(LinkError::Invalid));
    }

    #[test]
    fn a_rotated_key_still_opens_the_links_it_signed() {
        let old = LinkSigner::from_secret(
            &serde_json::json!({"key": std::str::from_utf8(KEY).unwrap()}),
            "https://l/",
            LINK_TTL,
        )
        .unwrap();
        let link = old.link("b", "k.pdf", 0);
        let new = LinkSigner::from_secret(
            &serde_json::json!({"key": "a new key of at least thirty-two chars", "previous": std::str::from_utf8(KEY).unwrap()}),
            "https://l/",
            LINK_TTL,
        )
        .unwrap();
        assert!(new.check(query(&link), 10).is_ok());
        assert!(new.link("b", "k.pdf", 0) != link);
        assert!(LinkSigner::from_secret(&serde_json::json!({}), "x", LINK_TTL).is_err());
        assert!(
            LinkSigner::from_secret(&serde_json::json!({"key": "short"}), "x", LINK_TTL).is_err()
        );
    }
}
