//! The engine's shared port suites on the AWS adapters, against moto on loopback through the
//! real SDK clients (see `isoscan_aws::testing`).

use std::sync::Arc;

use isoscan_aws::dynamo::DynamoStore;
use isoscan_aws::s3::{Bucket, S3Reports, S3Uploads};
use isoscan_aws::sqs::SqsQueue;
use isoscan_aws::testing::{config, unique};
use isoscan_engine::ports::*;
use isoscan_engine::suite;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn store() -> Arc<DynamoStore> {
    let c = aws_sdk_dynamodb::Client::new(&config().await);
    let s = DynamoStore::new(c, unique("isoscan"));
    s.create_table().await.expect("create table");
    Arc::new(s)
}

async fn bucket() -> Bucket {
    let c = isoscan_aws::testing::s3(&config().await);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notifier_forgets_gone_connections_and_retries_throttles() {
    use isoscan_aws::notifier::{ApiGatewayNotifier, Posted};
    use isoscan_aws::testing::{close_connection, endpoint, posted, start_recording};
    use isoscan_core::protocol::{Envelope, ServerMessage};

    let conf = config().await;
    start_recording().await;
    let store = store().await;
    let notifier = ApiGatewayNotifier {
        client: aws_sdk_apigatewaymanagement::Client::from_conf(
            aws_sdk_apigatewaymanagement::config::Builder::from(&conf)
                .endpoint_url(endpoint())
                .build(),
        ),
        store: store.clone(),
    };
    let session = unique("s");
    let (live, gone, slow) = (unique("live"), unique("gone"), unique("throttled-c"));
    for c in [&live, &gone, &slow] {
        store.connection_opened(c, "alice", 0).await.expect("open");
        store.subscribe(&session, c, 0).await.expect("subscribe");
    }
    close_connection(&conf, &gone).await;

    let env = Envelope {
        session_id: session.clone(),
        seq: 0,
        ts: None,
        message: ServerMessage::Pong {},
    };
    notifier
        .publish(&env)
        .await
        .expect("a gone follower fails nothing");
    let mut left = store.followers(&session).await.expect("followers");
    left.sort();
    let mut want = vec![live.clone(), slow.clone()];
    want.sort();
    assert_eq!(
        left, want,
        "the gone connection is forgotten, the others kept"
    );
    assert_eq!(store.connection_principal(&gone).await.unwrap(), None);
    // Refused four times with 429 (past the SDK's own three attempts), then delivered once.
    assert_eq!(posted(&live).await.len(), 1);
    assert_eq!(posted(&slow).await.len(), 1);
    assert_eq!(posted(&slow).await[0]["type"], "PONG");

    let big = "x".repeat(128 * 1024 + 1);
    assert_eq!(notifier.post(&live, &big).await.unwrap(), Posted::TooLarge);
    assert_eq!(posted(&live).await.len(), 1, "never sent");
    assert_eq!(notifier.post(&gone, "{}").await.unwrap(), Posted::Gone);

    // A throttled connection refuses a plain post; the notifier's retries get through.
    let fresh = unique("throttled-d");
    let refused = notifier
        .client
        .post_to_connection()
        .connection_id(&fresh)
        .data(aws_sdk_apigatewaymanagement::primitives::Blob::new("{}"))
        .send()
        .await
        .expect_err("throttled");
    assert!(refused
        .as_service_error()
        .is_some_and(|e| e.is_limit_exceeded_exception()));
    assert_eq!(notifier.post(&fresh, "{}").await.unwrap(), Posted::Sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_s3_prefix_of_more_than_1000_nested_keys_is_listed_page_by_page() {
    use isoscan_aws::s3::S3Source;
    use std::collections::BTreeSet;

    let b = bucket().await;
    // 1,050 drawings in nested "folders", a non-drawing, and a key outside the prefix.
    let mut keys: Vec<String> = (0..1050)
        .map(|i| format!("site/isos/area-{}/line-{}/iso-{i:04}.pdf", i % 3, i % 7))
        .collect();
    keys.push("site/isos/readme.txt".into());
    keys.push("site/other/iso-9999.pdf".into());
    for chunk in keys.chunks(50) {
        let puts = chunk.iter().map(|k| {
            b.client
                .put_object()
                .bucket(&b.name)
                .key(k)
                .body(format!("%PDF {k}").into_bytes().into())
                .send()
        });
        for r in futures::future::join_all(puts).await {
            r.expect("put");
        }
    }
    let src = S3Source {
        client: b.client.clone(),
        uploads: None,
        link_ttl: std::time::Duration::from_secs(600),
    };
    let location = format!("s3://{}/site/isos", b.name);
    src.check(&location).await.expect("check");
    let (mut files, mut skipped, mut pages) = (vec![], vec![], 0);
    let mut cursor: Option<String> = None;
    loop {
        let p = src.list(&location, cursor.as_deref()).await.expect("list");
        pages += 1;
        files.extend(p.files);
        skipped.extend(p.skipped);
        cursor = p.next;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(pages, 2, "ListObjectsV2 answers 1,000 keys a page");
    let paths: BTreeSet<String> = files.iter().map(|f| f.path.clone()).collect();
    assert_eq!(paths.len(), 1050);
    assert!(paths.contains("area-1/line-1/iso-0001.pdf"));
    assert_eq!(skipped, vec!["readme.txt".to_string()]);
    let f = files
        .iter()
        .find(|f| f.path == "area-2/line-6/iso-1049.pdf")
        .unwrap();
    assert!(f.link.contains("X-Amz-Signature"), "{}", f.link);
    // Signed anew on request (for a report or a client), for the same object.
    let fresh = src.relink(&location, f).await.expect("a fresh link");
    assert!(
        fresh.contains("/site/isos/area-2/line-6/iso-1049.pdf?")
            && fresh.contains("X-Amz-Signature"),
        "{fresh}"
    );
    assert_eq!(
        src.fetch(&location, f, 1 << 20).await.expect("fetch"),
        b"%PDF site/isos/area-2/line-6/iso-1049.pdf".to_vec()
    );
    assert!(matches!(
        src.check(&format!("s3://{}-missing/x", b.name)).await,
        Err(SourceError::NotFound(_))
    ));
    assert!(matches!(
        src.check("upload:0123456789abcdef0123456789abcdef").await,
        Err(SourceError::Invalid(_))
    ));
}
