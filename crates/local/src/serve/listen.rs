//! The accept loop: every connection is bounded in how long its request head may take to
//! arrive, and in how many connections one address and everyone together may hold, so slow or
//! idle clients cannot use up the server's sockets. A WebSocket keeps its connection's slot
//! while it is open (the slot travels with the request, see `Slot`).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

#[derive(Debug, Clone)]
pub struct Limits {
    /// Time for a request's head (line and headers) to arrive; an idle kept-alive connection
    /// waits at most this for its next request.
    pub header_timeout: Duration,
    pub max_connections: usize,
    pub max_per_address: usize,
}

/// A connection's place under the limits, released when the last holder drops it: the HTTP
/// connection and, after an upgrade, its WebSocket.
#[derive(Clone)]
pub struct Slot {
    _held: Arc<Held>,
}

struct Held {
    _total: OwnedSemaphorePermit,
    ip: IpAddr,
    per_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Ok(mut m) = self.per_ip.lock() {
            if let Some(n) = m.get_mut(&self.ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    m.remove(&self.ip);
                }
            }
        }
    }
}

/// A slot for a connection from `ip`, unless a limit is reached.
fn take_slot(
    total: &Arc<Semaphore>,
    per_ip: &Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
    max_per_address: usize,
) -> Option<Slot> {
    let permit = total.clone().try_acquire_owned().ok()?;
    let mut m = per_ip.lock().ok()?;
    let n = m.entry(ip).or_insert(0);
    if *n >= max_per_address {
        return None;
    }
    *n += 1;
    Some(Slot {
        _held: Arc::new(Held {
            _total: permit,
            ip,
            per_ip: per_ip.clone(),
        }),
    })
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Serves `router` on `listener` until `stop` turns true; connections in flight are asked to
/// finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let total = Arc::new(Semaphore::new(limits.max_connections));
    let per_ip: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
    let mut refused: u64 = 0;
    loop {
        let (tcp, addr): (_, SocketAddr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors, say: wait rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => return,
        };
        let Some(slot) = take_slot(&total, &per_ip, addr.ip(), limits.max_per_address) else {
            refused += 1;
            if refused.is_power_of_two() {
                tracing::warn!(address = %addr.ip(), refused, "connection limit reached; connections closed");
            }
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let mut stop = stop.clone();
        let header_timeout = limits.header_timeout;
        tokio::spawn(async move {
            // A client that sends nothing at all gets the same time as a slow head.
            let mut first = [0u8; 1];
            match tokio::time::timeout(header_timeout, tcp.peek(&mut first)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
            let for_requests = slot.clone();
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(for_requests.clone());
                router.clone().oneshot(req.map(Body::new))
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let conn = builder
                .serve_connection(TokioIo::new(tcp), service)
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "connection ended");
                    }
                }
                () = stopped(&mut stop) => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                }
            }
            drop(slot);
        });
    }
}
