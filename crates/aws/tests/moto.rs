//! The engine's shared port suites on the AWS adapters, against moto on loopback through the
//! real SDK clients (see `isoscan_aws::testing`).

use std::sync::Arc;

use isoscan_aws::dynamo::DynamoStore;
use isoscan_aws::s3::{Bucket, S3Reports, S3Uploads};
use isoscan_aws::sqs::SqsQueue;
use isoscan_aws::testing::{config, unique};
use isoscan_engine::ports::*;
use isoscan_engine::suite;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The suites that race DynamoDB writes on purpose (eight finalize claims, ten appends) and
/// the fault loop run with no other test of this file beside them: with the other suites'
/// requests in flight on a 2-core machine, the emulator answered the racing writes so late
/// that no finalize claim won, which says nothing about the store's rule.
static EMULATOR: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

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
    let _alone = EMULATOR.write().await;
    suite::session_store(store().await, "ddb").await;
}

/// Every item the store writes expires (`ttl`), and the sweeper's index holds the sessions
/// not ended and no other item.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_item_expires_and_the_open_index_holds_only_unfinished_sessions() {
    let _alone = EMULATOR.write().await;
    let c = aws_sdk_dynamodb::Client::new(&config().await);
    let table = unique("isoscan");
    let store = DynamoStore::new(c.clone(), &table);
    store.create_table().await.expect("create table");
    let store = Arc::new(store);
    suite::session_store(store.clone(), "ttl").await;
    // Events one after another (the racing appends are the event-log suite's own test).
    let progress = isoscan_core::protocol::ServerMessage::Cancelled {
        message: "x".into(),
    };
    store.append("ttl-s1", &progress).await.expect("append");
    assert!(store
        .append_once("ttl-s1", "complete", &progress)
        .await
        .expect("once")
        .is_some());
    assert!(store
        .append_once("ttl-s1", "complete", &progress)
        .await
        .expect("twice")
        .is_none());
    store
        .connection_opened("c1", "alice", 1)
        .await
        .expect("open");
    store.subscribe("ttl-s1", "c1", 1).await.expect("follow");

    let mut items = vec![];
    let mut start = None;
    loop {
        let r = c
            .scan()
            .table_name(&table)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .expect("scan");
        items.extend(r.items().iter().cloned());
        match r.last_evaluated_key() {
            Some(k) => start = Some(k.clone()),
            None => break,
        }
    }
    let key = |i: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>| {
        let s = |k: &str| {
            i.get(k)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        format!("{} {}", s("pk"), s("sk"))
    };
    let kinds: std::collections::BTreeSet<String> = items
        .iter()
        .map(|i| {
            key(i)
                .split(['#', ' '])
                .nth(2)
                .unwrap_or("")
                .chars()
                .take(4)
                .collect()
        })
        .collect();
    assert!(items.len() > 30, "{} items", items.len());
    for i in &items {
        assert!(i.contains_key("ttl"), "no ttl on {}", key(i));
        assert!(key(i).len() < 1024, "a key of {} bytes", key(i).len());
    }
    // Sessions, targets, pages, results, the counter, events, once-keys, connections and
    // subscriptions.
    for kind in ["META", "T", "P", "R", "SEQ", "E", "K", "C"] {
        assert!(
            kinds.iter().any(|k| k.starts_with(kind)),
            "no {kind} item among {kinds:?}"
        );
    }

    let open = c
        .query()
        .table_name(&table)
        .index_name(isoscan_aws::dynamo::OPEN_INDEX)
        .key_condition_expression("#o = :o")
        .expression_attribute_names("#o", "open")
        .expression_attribute_values(":o", aws_sdk_dynamodb::types::AttributeValue::S("1".into()))
        .send()
        .await
        .expect("query the index");
    let mut in_index: Vec<String> = open.items().iter().map(key).collect();
    in_index.sort();
    let mut unfinished: Vec<String> = store
        .unfinished()
        .await
        .expect("unfinished")
        .iter()
        .map(|s| format!("S#{} META", s.id))
        .collect();
    unfinished.sort();
    assert_eq!(in_index, unfinished);
    assert!(in_index.contains(&"S#ttl-carol-0 META".to_string()));
    assert!(
        !in_index.contains(&"S#ttl-carol-2 META".to_string()),
        "a cancelled scan"
    );
    assert!(
        !in_index.contains(&"S#ttl-s1 META".to_string()),
        "a complete scan"
    );
}

/// The event counter is an atomic `ADD`: a seq taken by a writer that died before writing its
/// event holds readers back until a later event has waited the store's hole wait, then is
/// filled with a PROGRESS; a writer whose seq was filled takes another; fifty writers at once
/// leave a log without holes or repeats; racing once-appends leave one event and no hole.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_seq_whose_writer_died_holds_readers_back_then_is_filled() {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    use isoscan_core::protocol::{Envelope, ServerMessage};
    let _alone = EMULATOR.write().await;
    let c = aws_sdk_dynamodb::Client::new(&config().await);
    let table = unique("isoscan");
    let wait = Duration::from_millis(1500);
    let store = DynamoStore::new(c.clone(), &table).with_hole_wait(wait);
    store.create_table().await.expect("create table");
    let store = Arc::new(store);
    let msg = |m: &str| ServerMessage::Cancelled { message: m.into() };
    let seqs = |v: &[Envelope]| v.iter().map(|e| e.seq).collect::<Vec<_>>();
    let session = "hole-a";

    assert_eq!(store.append(session, &msg("one")).await.expect("1").seq, 1);
    // A writer takes seq 2 and dies before writing its event.
    let taken = c
        .update_item()
        .table_name(&table)
        .key("pk", V::S(format!("S#{session}")))
        .key("sk", V::S("SEQ".into()))
        .update_expression("ADD #seq :one")
        .expression_attribute_names("#seq", "seq")
        .expression_attribute_values(":one", V::N("1".into()))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
        .send()
        .await
        .expect("take a seq");
    assert_eq!(
        taken.attributes().and_then(|a| a.get("seq")),
        Some(&V::N("2".into()))
    );
    assert_eq!(
        store.append(session, &msg("three")).await.expect("3").seq,
        3
    );
    // Readers stop before the hole while it is young: nobody is told "up to 3" yet.
    assert_eq!(
        seqs(&store.since(session, 0, 100).await.expect("young")),
        vec![1]
    );
    assert!(store
        .since(session, 1, 100)
        .await
        .expect("young")
        .is_empty());
    tokio::time::sleep(wait + Duration::from_millis(200)).await;
    let all = store.since(session, 0, 100).await.expect("old");
    assert_eq!(seqs(&all), vec![1, 2, 3]);
    assert!(
        matches!(all[1].message, ServerMessage::Progress { .. }),
        "{:?}",
        all[1]
    );
    assert!(matches!(&all[2].message, ServerMessage::Cancelled { message } if message == "three"));
    // The fill is written: the next reader reads the same.
    assert_eq!(store.since(session, 0, 100).await.expect("again"), all);

    // A writer too slow for its seq: a reader filled seq 4 first, so the event goes to 5.
    let filler = Envelope {
        session_id: session.into(),
        seq: 4,
        ts: None,
        req_id: None,
        message: msg("filled"),
    };
    c.put_item()
        .table_name(&table)
        .item("pk", V::S(format!("S#{session}")))
        .item("sk", V::S("E#000000000004".into()))
        .item("body", V::S(serde_json::to_string(&filler).expect("json")))
        .item("ttl", V::N("4102444800".into()))
        .send()
        .await
        .expect("fill seq 4");
    assert_eq!(store.append(session, &msg("five")).await.expect("5").seq, 5);
    assert_eq!(
        seqs(&store.since(session, 3, 100).await.expect("4, 5")),
        vec![4, 5]
    );

    // Fifty writers at once: every seq once, no hole.
    let mut handles = vec![];
    for w in 0..50 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut got = vec![];
            for i in 0..4 {
                got.push(store.append("hole-b", &msg(&format!("{w}.{i}"))).await?.seq);
            }
            Ok::<_, StoreError>(got)
        }));
    }
    let mut taken = vec![];
    for h in handles {
        taken.extend(h.await.expect("join").expect("append"));
    }
    taken.sort();
    assert_eq!(taken, (1..=200).collect::<Vec<u64>>());
    let log = store.since("hole-b", 0, 1000).await.expect("log");
    assert_eq!(seqs(&log), (1..=200).collect::<Vec<u64>>());
    assert!(log
        .iter()
        .all(|e| matches!(e.message, ServerMessage::Cancelled { .. })));

    // Once-appends racing each other and plain appends: one logged, no seq left empty.
    let mut handles = vec![];
    for i in 0..8 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            if i % 2 == 0 {
                store
                    .append_once("hole-c", "complete", &msg("end"))
                    .await
                    .map(|e| e.is_some())
            } else {
                store.append("hole-c", &msg("other")).await.map(|_| false)
            }
        }));
    }
    let mut won = 0;
    for h in handles {
        won += usize::from(h.await.expect("join").expect("append"));
    }
    assert_eq!(won, 1);
    let log = store.since("hole-c", 0, 100).await.expect("log");
    assert_eq!(seqs(&log), (1..=5).collect::<Vec<u64>>());
    let ends = log
        .iter()
        .filter(|e| matches!(&e.message, ServerMessage::Cancelled { message } if message == "end"))
        .count();
    assert_eq!(ends, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_passes_the_event_log_suite() {
    let _alone = EMULATOR.write().await;
    suite::event_log(store().await, "ddb").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_queue_passes_the_queue_suite() {
    let _shared = EMULATOR.read().await;
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
async fn s3_uploads_pass_the_upload_store_suite() {
    let _shared = EMULATOR.read().await;
    let up = Arc::new(S3Uploads {
        bucket: bucket().await,
    });
    let put: suite::PutFn = Arc::new(move |t, _name, bytes| {
        Box::pin(async move {
            assert_eq!(put_url(&t.url, &bytes).await, 200, "{}", t.url);
        })
    });
    suite::upload_store(up, put, "alice").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_reports_pass_the_reports_suite() {
    let _shared = EMULATOR.read().await;
    let reports = Arc::new(S3Reports {
        bucket: bucket().await,
    });
    let fetch: suite::FetchFn = Arc::new(|url| {
        Box::pin(async move {
            assert!(url.contains("X-Amz-Signature"), "{url}");
            let r = reqwest::get(&url).await.expect("get");
            assert_eq!(r.status(), 200, "{url}");
            r.bytes().await.expect("body").to_vec()
        })
    });
    suite::reports(reports.clone(), fetch, "s3").await;
    let (link, ttl) = reports.link("s3-report-1").await.expect("link");
    assert_eq!(ttl, 3600);
    assert!(
        link.contains("reports/s3-report-1.xlsx") && link.contains("X-Amz-Expires=3600"),
        "{link}"
    );
}

/// Follows a session as a connection API Gateway holds, subscribed in the table; what it
/// received is what the management API was asked to post to it.
struct Connections {
    store: Arc<DynamoStore>,
    prefix: String,
}

#[async_trait::async_trait]
impl suite::Follower for Connections {
    async fn follow(&self, session: &str) {
        let c = format!("{}-{session}", self.prefix);
        self.store
            .connection_opened(&c, "alice", 0)
            .await
            .expect("open");
        self.store
            .subscribe(session, &c, 0)
            .await
            .expect("subscribe");
    }

    async fn received(&self, session: &str) -> Vec<isoscan_core::protocol::Envelope> {
        isoscan_aws::testing::posted(&format!("{}-{session}", self.prefix))
            .await
            .into_iter()
            .map(|v| serde_json::from_value(v).expect("an envelope"))
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_s3_source_passes_the_source_suite() {
    let _shared = EMULATOR.read().await;
    use isoscan_aws::s3::S3Source;
    let b = bucket().await;
    let drawings: std::collections::BTreeMap<String, Vec<u8>> = (0..5)
        .map(|i| {
            (
                format!("area-{}/iso-{i}.pdf", i % 2),
                format!("%PDF drawing {i}").into_bytes(),
            )
        })
        .collect();
    let mut objects: Vec<(String, Vec<u8>)> = drawings
        .iter()
        .map(|(k, v)| (format!("site/isos/{k}"), v.clone()))
        .collect();
    objects.push(("site/isos/readme.txt".into(), b"notes".to_vec()));
    objects.push(("site/other/iso-9.pdf".into(), b"%PDF elsewhere".to_vec()));
    for (key, body) in objects {
        b.client
            .put_object()
            .bucket(&b.name)
            .key(key)
            .body(body.into())
            .send()
            .await
            .expect("put");
    }
    let src = S3Source {
        client: b.client.clone(),
        uploads: None,
        link_ttl: std::time::Duration::from_secs(600),
        signer: None,
    };
    suite::source(
        Arc::new(src),
        suite::SourceCase {
            location: format!("s3://{}/site/isos", b.name),
            drawings,
            others: 1,
            missing: format!("s3://{}-missing/isos", b.name),
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_gateway_notifier_passes_the_notifier_suite() {
    let _shared = EMULATOR.read().await;
    use isoscan_aws::notifier::ApiGatewayNotifier;
    let conf = config().await;
    let store = store().await;
    let notifier = ApiGatewayNotifier {
        client: aws_sdk_apigatewaymanagement::Client::from_conf(
            aws_sdk_apigatewaymanagement::config::Builder::from(&conf)
                .endpoint_url(isoscan_aws::testing::endpoint())
                .build(),
        ),
        store: store.clone(),
    };
    let follower = Connections {
        store,
        prefix: unique("conn"),
    };
    suite::notifier(Arc::new(notifier), &follower, &unique("apigw")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notifier_forgets_gone_connections_and_retries_throttles() {
    let _shared = EMULATOR.read().await;
    use isoscan_aws::notifier::{ApiGatewayNotifier, Posted};
    use isoscan_aws::testing::{close_connection, endpoint, posted};
    use isoscan_core::protocol::{Envelope, ServerMessage};

    let conf = config().await;
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
        req_id: None,
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
    let _shared = EMULATOR.read().await;
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
        signer: None,
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

/// Textract through the SDK against the emulator: a one-page document goes as bytes, a
/// multi-page one through S3 with polling and paged results, throttling is retried, and what
/// Textract cannot take is an error naming why.
#[tokio::test]
async fn textract_reads_one_page_as_bytes_and_many_through_s3() {
    let _shared = EMULATOR.read().await;
    use isoscan_aws::testing::{textract_calls, textract_reads};
    use isoscan_aws::textract::*;
    use std::time::Duration;

    let conf = config().await;
    let scratch = bucket().await;
    let ocr = TextractOcr::new(
        aws_sdk_textract::Client::new(&conf),
        scratch.clone(),
        TextractConfig {
            first_backoff: Duration::from_millis(10),
            first_poll: Duration::from_millis(10),
            max_poll: Duration::from_millis(40),
            ..TextractConfig::default()
        },
    );
    // What a scanner and a text extractor make of it does not matter here: the bytes only
    // identify the document to the emulator.
    let one = b"%PDF-1.7\n1 0 obj << /Type /Page >> endobj\n%%EOF\n".to_vec();
    let three =
        b"%PDF-1.7\n<< /Type /Page >> << /Type /Page >> << /Type /Page >> unique-3\n%%EOF\n"
            .to_vec();
    let png = b"\x89PNG\r\n\x1a\n-a-picture".to_vec();
    textract_reads(
        &[
            (&one, vec![vec!["DWG-46-0834", "LO-9574 REV 0"]]),
            (
                &three,
                vec![vec!["P1-A"], vec!["P2-A", "P2-B", "P2-C"], vec!["P3-A"]],
            ),
            (&png, vec![vec!["ST-2920"]]),
        ],
        // Two refusals more than the SDK's own three attempts, so the reader's retries show.
        serde_json::json!({"busy": 5, "in_progress": 3, "page_size": 2}),
    )
    .await;
    let before = textract_calls().await.len();

    let texts = ocr
        .read(&one, DocumentKind::Paged, 1, &[1])
        .await
        .expect("one page");
    assert_eq!(
        texts.get(&1).map(String::as_str),
        Some("DWG-46-0834\nLO-9574 REV 0\n")
    );
    let calls = textract_calls().await[before..].to_vec();
    assert_eq!(calls.len(), 6, "5 refusals then the answer: {calls:?}");
    assert!(calls.iter().all(|c| c["action"] == "DetectDocumentText"));

    let texts = ocr
        .read(&three, DocumentKind::Paged, 3, &[2, 3])
        .await
        .expect("three pages");
    assert_eq!(texts.len(), 2, "only the pages asked for: {texts:?}");
    assert_eq!(texts[&2], "P2-A\nP2-B\nP2-C\n");
    assert_eq!(texts[&3], "P3-A\n");
    let calls = textract_calls().await[before + 6..].to_vec();
    let starts: Vec<_> = calls
        .iter()
        .filter(|c| c["action"] == "StartDocumentTextDetection")
        .collect();
    assert_eq!(starts.len(), 1, "{calls:?}");
    assert_eq!(starts[0]["bucket"], scratch.name.as_str());
    let key = starts[0]["key"].as_str().unwrap_or_default().to_string();
    assert!(key.starts_with("ocr/"), "{key}");
    // 3 polls in progress, then 3 pages of results (1 + 3 + 1 lines and 3 page blocks = 8
    // blocks, 2 a page): 4 result pages.
    let gets = calls
        .iter()
        .filter(|c| c["action"] == "GetDocumentTextDetection")
        .count();
    assert_eq!(gets, 3 + 4, "{calls:?}");
    let left = scratch
        .client
        .list_objects_v2()
        .bucket(&scratch.name)
        .prefix("ocr/")
        .send()
        .await
        .expect("list");
    assert_eq!(left.key_count(), Some(0), "the scratch copy is deleted");

    let texts = ocr
        .read(&png, DocumentKind::Picture, 1, &[1])
        .await
        .expect("png");
    assert_eq!(texts[&1], "ST-2920\n");

    // Unknown to the emulator: read, nothing found, the page is there with no text.
    let blank = b"II*\0 a blank tiff".to_vec();
    let texts = ocr
        .read(&blank, DocumentKind::Paged, 1, &[1])
        .await
        .expect("tiff");
    assert_eq!(texts[&1], "");

    let n = textract_calls().await.len();
    let not_a_document = b"GIF89a".to_vec();
    let e = ocr
        .read(&not_a_document, DocumentKind::Picture, 1, &[1])
        .await
        .expect_err("gif");
    assert!(matches!(e, TextractError::Unreadable(_)), "{e}");
    assert!(
        e.to_string().contains("UnsupportedDocumentException"),
        "{e}"
    );
    let big = vec![0xFF; SYNC_LIMIT + 1];
    let e = ocr
        .read(&big, DocumentKind::Picture, 1, &[1])
        .await
        .expect_err("too big");
    assert!(e.to_string().contains("10 MB"), "{e}");
    assert_eq!(
        textract_calls().await.len(),
        n + 1,
        "a picture past 10 MB is refused before any request"
    );

    // The same reader behind the Ocr port (in this test: the emulator's Textract settings are
    // shared by every test using it).
    let pages = isoscan_aws::ocr::TextractPages {
        textract: std::sync::Arc::new(ocr),
        limits: isoscan_extract::Limits::default(),
    };
    suite::ocr(
        Arc::new(pages),
        suite::OcrCase {
            bytes: one,
            page_count: 1,
            scanned_page: 1,
            reads: "DWG-46-0834".into(),
        },
    )
    .await;
}

/// The fault-injection loop on DynamoDB and SQS: a fault at every `ISOSCAN_FAULT_STEP`th call
/// (10 unless set; 1 for every call) of a 10-file scan, failing it or stopping its invocation,
/// with SQS's own redelivery (a stopped invocation's messages come back when their visibility
/// ends; a retry's delay is the message's visibility).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fault_at_any_call_of_a_scan_on_dynamodb_and_sqs_leaves_it_exact() {
    use isoscan_engine::memory::{
        MemoryNotifier, MemoryReports, MemorySource, SystemClock, TextExtractor,
    };
    use isoscan_engine::suite::faults::{every_fault, Delivering, Fault};
    use isoscan_engine::Ports;
    let _alone = EMULATOR.write().await;
    let step = std::env::var("ISOSCAN_FAULT_STEP")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let conf = config().await;
    let fresh = || {
        let conf = conf.clone();
        async move {
            let c = aws_sdk_dynamodb::Client::new(&conf);
            let store = Arc::new(DynamoStore::new(c, unique("faults")));
            store.create_table().await.expect("table");
            let sqs = aws_sdk_sqs::Client::new(&conf);
            let url = SqsQueue::create(&sqs, &unique("faults"))
                .await
                .expect("queue");
            let mut source = MemorySource {
                page_size: 7,
                ..Default::default()
            };
            for i in 0..10 {
                let text = if i % 3 == 0 {
                    format!("HC-{i:04}")
                } else {
                    "none".into()
                };
                source
                    .files
                    .insert(format!("d/f{i:02}.pdf"), text.into_bytes());
            }
            Ports {
                sessions: store.clone(),
                events: store,
                queue: Arc::new(SqsQueue::new(sqs, url)),
                source: Arc::new(source),
                extractor: Arc::new(TextExtractor),
                ocr: None,
                notifier: Arc::new(MemoryNotifier::default()),
                reports: Arc::new(MemoryReports::default()),
                uploads: Arc::new(isoscan_engine::memory::MemoryUploads::new()),
                clock: Arc::new(SystemClock),
            }
        }
    };
    // Visibility 0: a stopped invocation's messages are visible again at once; a retry waits
    // its delay (SQS rounds it up to a second), which the empty receive outwaits.
    let how = Delivering {
        visibility: Duration::ZERO,
        drain_wait: Duration::from_secs(2),
        twice: false,
    };
    let (calls, _) =
        every_fault(fresh, "memory:", 10, &[Fault::Fail, Fault::Stop], how, step).await;
    assert!(calls > 4 * 10, "{calls} calls");
}
