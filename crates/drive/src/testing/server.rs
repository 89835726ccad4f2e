//! The server on loopback.

use super::*;

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
