//! The engine's shared port suites on the AWS adapters, against moto on loopback through the
//! real SDK clients. The endpoint comes from `ISOSCAN_MOTO_ENDPOINT` (scripts/test.sh starts
//! one); without it, `python3 -m moto.server` is started for this test binary.

use std::sync::{Arc, OnceLock};

use aws_sdk_dynamodb::config::{Credentials, Region};
use isoscan_aws::dynamo::DynamoStore;
use isoscan_aws::s3::{Bucket, S3Reports, S3Uploads};
use isoscan_aws::sqs::SqsQueue;
use isoscan_engine::ports::*;
use isoscan_engine::suite;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn endpoint() -> String {
    static EP: OnceLock<String> = OnceLock::new();
    EP.get_or_init(|| {
        if let Ok(e) = std::env::var("ISOSCAN_MOTO_ENDPOINT") {
            return e;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        // The death signal is tied to the thread that starts the child: a thread that lives
        // as long as the test binary starts it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut cmd = std::process::Command::new("python3");
            cmd.args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
            // SAFETY: prctl in the child before exec: SIGTERM when its parent thread ends, so
            // the emulator never outlives the tests.
            unsafe {
                use std::os::unix::process::CommandExt;
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                    Ok(())
                });
            }
            let child = cmd.spawn();
            let _ = tx.send(child.is_ok());
            let _child = child;
            loop {
                std::thread::park();
            }
        });
        assert!(
            rx.recv().unwrap_or(false),
            "moto is needed: pip install 'moto[server]' (or set ISOSCAN_MOTO_ENDPOINT)"
        );
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        format!("http://127.0.0.1:{port}")
    })
    .clone()
}

async fn config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await
}

fn unique(name: &str) -> String {
    format!("{name}-{}", isoscan_aws::random_key())
}

async fn store() -> Arc<DynamoStore> {
    let c = aws_sdk_dynamodb::Client::new(&config().await);
    let s = DynamoStore::new(c, unique("isoscan"));
    s.create_table().await.expect("create table");
    Arc::new(s)
}

async fn bucket() -> Bucket {
    let conf = config().await;
    let c = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let b = Bucket::new(c, unique("isoscan").to_lowercase());
    b.create().await.expect("create bucket");
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_store_passes_the_store_suite() {
    suite::session_store(store().await, "ddb").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_passes_the_event_log_suite() {
    suite::event_log(store().await, "ddb").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_queue_passes_the_queue_suite() {
    let c = aws_sdk_sqs::Client::new(&config().await);
    let url = SqsQueue::create(&c, &unique("jobs")).await.expect("queue");
    suite::job_queue(Arc::new(SqsQueue::new(c, url)), "sqs").await;
}

/// PUT to a presigned URL, as a browser does.
async fn put_url(url: &str, body: &[u8]) -> u16 {
    let rest = url.strip_prefix("http://").expect("http");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = tokio::net::TcpStream::connect(host).await.expect("connect");
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("write");
    s.write_all(body).await.expect("write");
    let mut buf = vec![];
    s.read_to_end(&mut buf).await.expect("read");
    String::from_utf8_lossy(&buf)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status")
}

#[tokio::test]
async fn s3_uploads_pass_the_uploads_suite() {
    let up = Arc::new(S3Uploads {
        bucket: bucket().await,
    });
    let put: suite::PutFn = Arc::new(move |t, _name, bytes| {
        Box::pin(async move {
            assert_eq!(put_url(&t.url, &bytes).await, 200, "{}", t.url);
        })
    });
    suite::uploads(up, put).await;
}

#[tokio::test]
async fn s3_reports_are_linked_anew() {
    let reports = S3Reports {
        bucket: bucket().await,
    };
    assert!(reports.link("s1").await.is_err());
    let url = reports.put("s1", b"PK-bytes".to_vec()).await.expect("put");
    assert!(
        url.contains("reports/s1.xlsx") && url.contains("X-Amz-Signature"),
        "{url}"
    );
    let (again, ttl) = reports.link("s1").await.expect("link");
    assert_eq!(ttl, 3600);
    assert!(again.contains("X-Amz-Expires=3600"), "{again}");
}
