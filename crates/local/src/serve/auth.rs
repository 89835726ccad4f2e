//! Who is asking: tokens map to principals; signed URLs carry a capability for one upload, one
//! report or one drawing, so a browser can follow them without a header.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, Context};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Tokens and the principals they stand for.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    by_token: HashMap<String, String>,
}

impl Tokens {
    pub fn add(&mut self, principal: &str, token: &str) {
        self.by_token
            .insert(token.to_string(), principal.to_string());
    }

    /// Reads a tokens file: one `PRINCIPAL TOKEN` pair a line. A line starting with `#` is a
    /// comment, and so is what follows the pair after a word starting with `#`; a `#` inside a
    /// token is part of it.
    pub fn read_file(&mut self, path: &Path) -> anyhow::Result<()> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the tokens file {}", path.display()))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (p, t) = (parts.next(), parts.next());
            let rest = parts.next().filter(|w| !w.starts_with('#'));
            match (p, t, rest) {
                (Some(p), Some(t), None) if t.len() >= 16 => self.add(p, t),
                (Some(_), Some(_), None) => {
                    return Err(anyhow!(
                        "{}:{}: a token must be at least 16 characters",
                        path.display(),
                        n + 1
                    ))
                }
                _ => {
                    return Err(anyhow!(
                        "{}:{}: expected `PRINCIPAL TOKEN`",
                        path.display(),
                        n + 1
                    ))
                }
            }
        }
        Ok(())
    }

    /// The principal of a token.
    pub fn principal(&self, token: &str) -> Option<&str> {
        // Every stored token is compared, in constant time each, so timing tells nothing.
        let mut found = None;
        for (t, p) in &self.by_token {
            if constant_eq(t.as_bytes(), token.as_bytes()) {
                found = Some(p.as_str());
            }
        }
        found
    }

    pub fn is_empty(&self) -> bool {
        self.by_token.is_empty()
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A random token of 32 hex digits.
pub fn random_token() -> String {
    hex(&random_bytes::<16>())
}

/// Bytes from a generator seeded by the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    use rand::{RngCore, SeedableRng};
    let mut b = [0u8; N];
    rand::rngs::StdRng::from_os_rng().fill_bytes(&mut b);
    b
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Signs and checks URL capabilities with a secret kept in the data folder, so links stay
/// valid across restarts.
#[derive(Clone)]
pub struct Signer {
    secret: Vec<u8>,
}

impl Signer {
    /// Loads the secret from `path`, creating it on first use.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Signer> {
        if let Ok(s) = std::fs::read(path) {
            if s.len() >= 32 {
                return Ok(Signer { secret: s });
            }
        }
        let secret = random_bytes::<32>().to_vec();
        write_private(path, &secret).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Signer { secret })
    }

    pub fn from_secret(secret: &[u8]) -> Signer {
        Signer {
            secret: secret.to_vec(),
        }
    }

    pub fn sign(&self, message: &str) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.secret) else {
            // HMAC takes keys of any length; this arm is never taken.
            return String::new();
        };
        mac.update(message.as_bytes());
        hex(&mac.finalize().into_bytes()[..16])
    }

    pub fn verify(&self, message: &str, sig: &str) -> bool {
        constant_eq(self.sign(message).as_bytes(), sig.as_bytes())
    }
}

/// Writes a file readable by this user only.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_the_message() {
        let s = Signer::from_secret(b"0123456789abcdef0123456789abcdef");
        let sig = s.sign("report|s1|100");
        assert!(s.verify("report|s1|100", &sig));
        assert!(!s.verify("report|s2|100", &sig));
        assert!(!s.verify("report|s1|101", &sig));
        let other = Signer::from_secret(b"another secret of thirty-two b!!");
        assert!(!other.verify("report|s1|100", &sig));
    }

    #[test]
    fn tokens_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tokens");
        std::fs::write(
            &p,
            "# team\nalice aaaaaaaaaaaaaaaa1\nbob   bbbbbbbbbbbbbbbb2 # night shift\n",
        )
        .unwrap();
        let mut t = Tokens::default();
        t.read_file(&p).unwrap();
        assert_eq!(t.principal("aaaaaaaaaaaaaaaa1"), Some("alice"));
        assert_eq!(t.principal("bbbbbbbbbbbbbbbb2"), Some("bob"));
        assert_eq!(t.principal("bbbbbbbbbbbbbbbb"), None);
        // A `#` inside a token is the token's.
        std::fs::write(&p, "  # comment\ncarol ab#cdefghijklmnopq\n").unwrap();
        let mut t = Tokens::default();
        t.read_file(&p).unwrap();
        assert_eq!(t.principal("ab#cdefghijklmnopq"), Some("carol"));
        assert_eq!(t.principal("ab"), None);
        std::fs::write(&p, "carol short\n").unwrap();
        assert!(Tokens::default().read_file(&p).is_err());
    }
}
