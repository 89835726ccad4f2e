//! What a browser may do here: requests must name this server in `Host` (a page on another
//! name that resolves here, DNS rebinding, is refused), the socket refuses pages of a foreign
//! `Origin`, and every response carries headers that keep pages of other sites from framing or
//! reading this one.

use std::net::{IpAddr, SocketAddr};

use axum::http::{header, HeaderMap, HeaderValue};

/// The names this server answers to and the pages it serves sockets to.
#[derive(Debug, Clone)]
pub struct Guard {
    port: u16,
    /// `host:port` or `host` (for a public URL on the default port), lowercase.
    hosts: Vec<String>,
    /// Bound to every address: any IP address with this port names it (a DNS name cannot
    /// rebind to an address literal).
    any_address: bool,
    /// Origins allowed besides this server's own, lowercase, without a trailing slash.
    origins: Vec<String>,
}

fn authority(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let auth = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    (!auth.is_empty()).then(|| (scheme.to_ascii_lowercase(), auth))
}

impl Guard {
    pub fn new(
        bound: SocketAddr,
        public_url: Option<&str>,
        allow_origins: &[String],
        hostname: Option<&str>,
    ) -> Guard {
        let port = bound.port();
        let mut hosts = vec![];
        let ip = bound.ip();
        let literal = |ip: IpAddr| match ip {
            IpAddr::V4(v4) => format!("{v4}:{port}"),
            IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        };
        if ip.is_loopback() || ip.is_unspecified() {
            hosts.push(format!("localhost:{port}"));
            hosts.push(format!("127.0.0.1:{port}"));
            hosts.push(format!("[::1]:{port}"));
        }
        if !ip.is_unspecified() {
            hosts.push(literal(ip));
        }
        if let Some(h) = hostname.filter(|_| ip.is_unspecified()) {
            hosts.push(format!("{}:{port}", h.to_ascii_lowercase()));
        }
        if let Some((scheme, auth)) = public_url.and_then(authority) {
            let default = if scheme == "https" { 443 } else { 80 };
            if auth
                .rsplit_once(':')
                .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
            {
                hosts.push(auth);
            } else {
                hosts.push(format!("{auth}:{default}"));
                hosts.push(auth);
            }
        }
        Guard {
            port,
            hosts,
            any_address: ip.is_unspecified(),
            origins: allow_origins
                .iter()
                .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        }
    }

    /// Whether a `Host` header names this server.
    pub fn host_ok(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        if self.hosts.contains(&host) {
            return true;
        }
        if !self.any_address {
            return false;
        }
        let Some((name, port)) = host.rsplit_once(':') else {
            return false;
        };
        let name = name.trim_start_matches('[').trim_end_matches(']');
        port.parse() == Ok(self.port) && name.parse::<IpAddr>().is_ok()
    }

    /// Whether a page of `origin` may open the socket: this server's own pages and the
    /// origins the operator allowed.
    pub fn origin_ok(&self, origin: &str) -> bool {
        let o = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        if self.origins.contains(&o) {
            return true;
        }
        match authority(&o) {
            Some((scheme, auth)) if scheme == "http" || scheme == "https" => self.host_ok(&auth),
            _ => false,
        }
    }
}

/// The headers every response gets; a drawing (a PDF the browser shows itself) is only kept
/// from being framed by other sites.
pub fn harden(headers: &mut HeaderMap, host: Option<&str>, drawing: bool) {
    let csp = if drawing {
        "frame-ancestors 'self'".to_string()
    } else {
        // The socket is this origin's too; older browsers do not count ws: as 'self'.
        let socket = host
            .map(|h| format!(" ws://{h} wss://{h}"))
            .unwrap_or_default();
        format!(
            "default-src 'self'; connect-src 'self'{socket}; img-src 'self' data:; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        )
    };
    if let Ok(v) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Links carry the token in their address: never sent on to another site.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !drawing {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_origins() {
        let g = Guard::new("127.0.0.1:3000".parse().unwrap(), None, &[], None);
        for ok in [
            "127.0.0.1:3000",
            "localhost:3000",
            "LOCALHOST:3000",
            "[::1]:3000",
        ] {
            assert!(g.host_ok(ok), "{ok}");
        }
        for bad in [
            "evil.example:3000",
            "127.0.0.1:3001",
            "10.0.0.1:3000",
            "localhost",
        ] {
            assert!(!g.host_ok(bad), "{bad}");
        }
        assert!(g.origin_ok("http://127.0.0.1:3000"));
        assert!(g.origin_ok("http://localhost:3000/"));
        assert!(!g.origin_ok("https://evil.example"));
        assert!(!g.origin_ok("null"));
        assert!(!g.origin_ok("http://127.0.0.1:3000.evil.example"));

        let g = Guard::new(
            "0.0.0.0:8080".parse().unwrap(),
            Some("https://scan.example.com/"),
            &["http://localhost:5173/".to_string()],
            Some("plant-pc"),
        );
        for ok in [
            "10.1.2.3:8080",
            "[fe80::1]:8080",
            "plant-pc:8080",
            "scan.example.com",
            "scan.example.com:443",
        ] {
            assert!(g.host_ok(ok), "{ok}");
        }
        for bad in [
            "rebind.evil.example:8080",
            "10.1.2.3:8081",
            "scan.example.com:8443",
        ] {
            assert!(!g.host_ok(bad), "{bad}");
        }
        assert!(g.origin_ok("https://scan.example.com"));
        assert!(g.origin_ok("http://localhost:5173"));
        assert!(!g.origin_ok("http://localhost:5174"));
    }
}
