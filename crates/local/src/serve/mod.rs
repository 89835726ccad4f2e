//! `isoscan serve`: the engine behind a WebSocket and a few HTTP routes, with its state in
//! SQLite under a data folder. A server stopped mid-scan resumes every unfinished scan when it
//! starts again on the same folder.

pub mod adapters;
pub mod auth;
pub mod guard;
pub mod http;
pub mod hub;
pub mod listen;
pub mod ws;

use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use isoscan_engine::memory::SystemClock;
use isoscan_engine::{Engine, EngineConfig, Ports};
use tokio::sync::watch;

use crate::scan::ReadingArgs;
use crate::sqlite::SqliteState;
use adapters::{private_dir, FolderUploads, Links, ReportFolder, ServeSource};
use auth::{Signer, Tokens};

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// A folder whose subfolders clients may scan; repeat for more (default: the current folder).
    #[arg(long = "root")]
    pub roots: Vec<PathBuf>,
    /// Where the database, uploads and reports are kept.
    #[arg(long, default_value = "isoscan-data")]
    pub data: PathBuf,
    /// The token clients must give (principal `default`); one is generated when absent.
    #[arg(long)]
    pub token: Option<String>,
    /// More tokens, one `PRINCIPAL TOKEN` pair a line, each principal seeing only its scans.
    #[arg(long)]
    pub tokens_file: Option<PathBuf>,
    /// The built dashboard (default: frontend/dist, or $ISOSCAN_DASHBOARD).
    #[arg(long)]
    pub dashboard: Option<PathBuf>,
    /// The URL clients reach this server at, for links (default: http://BIND:PORT).
    #[arg(long)]
    pub public_url: Option<String>,
    /// Largest upload, in MiB.
    #[arg(long, default_value_t = 4096)]
    pub max_upload_mb: u64,
    /// An S3 location clients may scan, with everything under it (repeat for more). Without
    /// one, `s3://` locations are refused: the server's AWS credentials are not the clients'.
    #[arg(long = "allow-s3", value_name = "s3://BUCKET/PREFIX")]
    pub allow_s3: Vec<String>,
    /// Let clients scan any Drive folder shared with the server's service account.
    #[arg(long)]
    pub allow_drive: bool,
    /// A web page origin allowed to open the socket besides this server's own (repeat for more),
    /// e.g. http://localhost:5173 for the dashboard's development server.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
    /// Connections open at once, in all.
    #[arg(long, default_value_t = 512)]
    pub max_connections: usize,
    /// Connections open at once from one address.
    #[arg(long, default_value_t = 128)]
    pub max_connections_per_address: usize,
    /// Seconds a request's head may take to arrive (and a kept-alive connection may idle).
    #[arg(long, default_value_t = 10)]
    pub header_timeout_s: u64,
    /// Seconds a socket may send nothing before it is closed (the dashboard pings every 4 min).
    #[arg(long, default_value_t = 600)]
    pub socket_idle_s: u64,
    /// Scans one user may have running at once.
    #[arg(long, default_value_t = 4)]
    pub max_scans_per_user: u64,
    /// Uploads one user may have waiting for their file.
    #[arg(long, default_value_t = 20)]
    pub max_pending_uploads: usize,
    /// MiB of uploads kept for one user.
    #[arg(long, default_value_t = 20480)]
    pub max_stored_mb: u64,
    #[command(flatten)]
    pub reading: ReadingArgs,
    #[command(flatten)]
    pub remote: crate::remote::RemoteArgs,
}

/// Holds an exclusive lock on the data folder for the life of the server: two servers on one
/// database would each take the other's in-flight jobs back on start.
struct DataLock {
    _file: std::fs::File,
}

fn lock_data(dir: &std::path::Path) -> anyhow::Result<DataLock> {
    let path = dir.join("lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    // SAFETY: flock on a descriptor this function owns; no memory is touched.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r != 0 {
        return Err(anyhow!(
            "another isoscan server is using {}; stop it or give another --data folder",
            dir.display()
        ));
    }
    Ok(DataLock { _file: f })
}

/// This machine's name, for the address clients of a server bound to every address use.
fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer outlives the call, which writes at most its length.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).trim().to_string();
    (!name.is_empty()).then_some(name)
}

/// Raises the soft limit on open files to the hard one: connections, the database, drawings
/// and OCR processes all take descriptors.
fn raise_file_limit() {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on a struct this function owns.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

fn allowed_remote(args: &ServeArgs) -> anyhow::Result<crate::remote::Allowed> {
    for s in &args.allow_s3 {
        let bucket = s.strip_prefix("s3://").and_then(|r| r.split('/').next());
        if bucket.is_none_or(str::is_empty) {
            return Err(anyhow!(
                "--allow-s3 {s}: give s3://BUCKET or s3://BUCKET/PREFIX"
            ));
        }
    }
    Ok(crate::remote::Allowed {
        s3: args.allow_s3.clone(),
        drive: args.allow_drive,
    })
}

/// Runs the server until SIGINT or SIGTERM.
pub async fn run(args: ServeArgs, program: PathBuf) -> anyhow::Result<()> {
    // Installed before anything listens: a signal that arrives once clients can connect must
    // shut the server down cleanly, never kill it with the default action.
    let stop = Shutdown::install()?;
    raise_file_limit();
    let allowed = allowed_remote(&args)?;
    private_dir(&args.data)
        .with_context(|| format!("cannot create the data folder {}", args.data.display()))?;
    let data = args
        .data
        .canonicalize()
        .with_context(|| format!("{}", args.data.display()))?;
    {
        // What the server keeps (uploads, reports, its secret) is readable by its user alone.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} private", data.display()))?;
    }
    let _lock = lock_data(&data)?;
    let mut tokens = Tokens::default();
    let mut generated = None;
    if let Some(f) = &args.tokens_file {
        tokens.read_file(f)?;
    }
    match &args.token {
        Some(t) if t.len() < 16 => return Err(anyhow!("--token must be at least 16 characters")),
        Some(t) => tokens.add("default", t),
        None if tokens.is_empty() => {
            let t = auth::random_token();
            tokens.add("default", &t);
            generated = Some(t);
        }
        None => {}
    }
    let roots = if args.roots.is_empty() {
        vec![std::env::current_dir().context("cannot read the current folder")?]
    } else {
        args.roots.clone()
    };
    let mut canon_roots = vec![];
    for r in &roots {
        canon_roots.push(
            r.canonicalize()
                .with_context(|| format!("--root {} cannot be opened", r.display()))?,
        );
    }
    let listener = tokio::net::TcpListener::bind((args.bind.as_str(), args.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", args.bind, args.port))?;
    let addr = listener.local_addr()?;
    let machine = hostname();
    let host = if addr.ip().is_unspecified() {
        machine.clone().unwrap_or_else(|| "127.0.0.1".to_string())
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    let base = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{host}:{}", addr.port()))
        .trim_end_matches('/')
        .to_string();
    let signer = Signer::load_or_create(&data.join("secret"))?;
    let links = Links {
        base: base.clone(),
        signer,
    };
    let state =
        Arc::new(SqliteState::open(&data.join("isoscan.sqlite3")).map_err(|e| anyhow!("{e}"))?);
    let released = state.recover().await.map_err(|e| anyhow!("{e}"))?;
    let uploads_dir = data.join("uploads");
    private_dir(&uploads_dir)?;
    let source = Arc::new(ServeSource::new(
        canon_roots.clone(),
        data.clone(),
        uploads_dir.clone(),
        links.clone(),
    ));
    let uploads = Arc::new(FolderUploads::new(uploads_dir, links.clone()));
    private_dir(&data.join("reports"))?;
    let reports = Arc::new(ReportFolder {
        dir: data.join("reports"),
        links: links.clone(),
    });
    let hub = Arc::new(hub::Hub::new());
    let jobs = args.reading.jobs();
    let (pool, ocr) = args.reading.readers(program);
    let ports = Ports {
        sessions: state.clone(),
        events: state.clone(),
        queue: state.clone(),
        source: Arc::new(
            crate::remote::sources(&args.remote, source.clone(), Some(&allowed)).await?,
        ),
        extractor: pool,
        ocr,
        notifier: hub.clone(),
        reports: reports.clone(),
        uploads: uploads.clone(),
        clock: Arc::new(SystemClock),
    };
    let engine = Arc::new(Engine::new(
        ports,
        EngineConfig {
            max_active_scans: Some(args.max_scans_per_user),
            upload_quota: Some(isoscan_engine::UploadQuota {
                waiting: args.max_pending_uploads,
                bytes: args.max_stored_mb.saturating_mul(1 << 20),
            }),
            ..EngineConfig::default()
        },
    ));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut workers = vec![];
    for _ in 0..jobs {
        let e = engine.clone();
        let rx = stop_rx.clone();
        workers.push(tokio::spawn(async move { e.work(rx).await }));
    }
    let unfinished = state.unfinished().await.map_err(|e| anyhow!("{e}"))?;
    for s in &unfinished {
        if let Err(e) = engine.resume(&s.id).await {
            tracing::error!(session = %s.id, error = %e, "cannot resume a scan");
        }
    }
    if !unfinished.is_empty() {
        tracing::info!(
            scans = unfinished.len(),
            jobs = released,
            "resuming unfinished scans"
        );
    }
    let dashboard = args
        .dashboard
        .clone()
        .or_else(|| std::env::var_os("ISOSCAN_DASHBOARD").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("frontend/dist"));
    let (alive, mut sockets_gone) = tokio::sync::mpsc::channel::<()>(1);
    let app = Arc::new(http::App {
        shared: Arc::new(ws::Shared {
            engine: engine.clone(),
            hub,
            state: state.clone(),
            shutdown: stop_rx.clone(),
            idle: std::time::Duration::from_secs(args.socket_idle_s.max(1)),
        }),
        tokens,
        links,
        uploads,
        reports,
        source,
        dashboard,
        guard: guard::Guard::new(
            addr,
            args.public_url.as_deref(),
            &args.allow_origins,
            machine.as_deref(),
        ),
        max_upload: args.max_upload_mb.saturating_mul(1 << 20),
        next_conn: AtomicU64::new(1),
        alive,
    });
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let roots: Vec<String> = canon_roots
            .iter()
            .map(|r| r.display().to_string())
            .collect();
        let _ = writeln!(out, "isoscan serve: listening on {base}");
        let _ = writeln!(out, "isoscan serve: folders under {}", roots.join(", "));
        let _ = writeln!(out, "isoscan serve: data in {}", data.display());
        for r in canon_roots.iter().filter(|r| data.starts_with(r)) {
            let _ = writeln!(
                out,
                "isoscan serve: the data folder is inside {}: it is never listed or scanned",
                r.display()
            );
        }
        if !args.allow_s3.is_empty() {
            let _ = writeln!(
                out,
                "isoscan serve: S3 locations under {}",
                args.allow_s3.join(", ")
            );
        }
        if addr.ip().is_unspecified() {
            let _ = writeln!(
                out,
                "isoscan serve: warning: listening on every address of this machine; clients on \
                 other machines use {base}{}. Tokens and links cross the network in clear: put \
                 TLS in front (SECURITY_DEPLOYMENT.md)",
                if args.public_url.is_some() {
                    ""
                } else {
                    " (set --public-url to the address they really use)"
                }
            );
        }
        match &generated {
            Some(t) => {
                let _ = writeln!(out, "isoscan serve: open {base}/?token={t}");
            }
            None => {
                let _ = writeln!(out, "isoscan serve: open {base}/?token=<your token>");
            }
        }
        let _ = out.flush();
    }
    let router = http::router(app);
    let limits = listen::Limits {
        header_timeout: std::time::Duration::from_secs(args.header_timeout_s.max(1)),
        max_connections: args.max_connections.max(1),
        max_per_address: args.max_connections_per_address.max(1),
    };
    let server = tokio::spawn(listen::serve(listener, router, limits, stop_rx.clone()));
    stop.wait().await;
    tracing::info!("shutting down: finishing the jobs in hand");
    eprintln!("isoscan serve: shutting down");
    let _ = stop_tx.send(true);
    for w in workers {
        let _ = w.await;
    }
    match tokio::time::timeout(std::time::Duration::from_secs(10), server).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "server task failed"),
        Err(_) => tracing::warn!("connections did not close in time"),
    }
    // Every socket has sent its close frame when the last sender is gone.
    if tokio::time::timeout(std::time::Duration::from_secs(5), sockets_gone.recv())
        .await
        .is_err()
    {
        tracing::warn!("sockets did not close in time");
    }
    Ok(())
}

/// SIGINT and SIGTERM, listened for from the moment they are installed.
struct Shutdown {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Shutdown {
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            int: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
            term: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
    }
}
