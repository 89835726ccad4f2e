//! The Lambda handlers' functions end to end against moto: real DynamoDB, SQS and S3 through
//! the SDK, jobs taken from moto's SQS the way the Lambda trigger delivers them.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::MessageSystemAttributeName;
use isoscan_aws::cognito::CognitoSettings;
use isoscan_aws::dynamo::DynamoStore;
use isoscan_aws::s3::{Bucket, S3Uploads};
use isoscan_aws::testing::{
    close_connection, cognito, config, endpoint, posted, queue_with_dead_letters, s3, unique,
};
use isoscan_aws::textract::TextractConfig;
use isoscan_core::protocol::{ServerMessage, UploadPurpose};
use isoscan_drive::DriveConfig;
use isoscan_engine::ports::*;
use isoscan_lambda::{Deployment, QueuedJob, Refused, Settings};
use isoscan_pdfgen::{code_list, write_corpus, DrawingOptions};
use serde_json::json;

/// Everything the handlers log in this test binary, at the level the Lambdas log (info), as
/// CloudWatch would keep it.
fn captured_logs() -> Arc<std::sync::Mutex<Vec<u8>>> {
    static LOGS: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        struct Sink(Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                if let Ok(mut v) = self.0.lock() {
                    v.extend_from_slice(b);
                }
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info")
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .try_init();
        buf
    })
    .clone()
}

/// No URL (a signed link carries its signature), no token and no signature in any line
/// logged so far.
fn assert_logs_hold_no_secret() {
    let logs = captured_logs();
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    for needle in [
        "http://",
        "https://",
        "X-Amz-Signature",
        "X-Amz-Credential",
        "Signature=",
        "token-0123456789",
    ] {
        let hit = text.lines().find(|l| l.contains(needle));
        assert!(hit.is_none(), "a log line holds {needle:?}: {hit:?}");
    }
}

struct Rig {
    dep: Deployment,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    dead_letters: String,
    bucket: Bucket,
    conf: aws_config::SdkConfig,
    store: Arc<DynamoStore>,
}

async fn rig() -> Rig {
    rig_with(None).await
}

async fn rig_with(cognito: Option<CognitoSettings>) -> Rig {
    rig_full(cognito, None, None).await
}

/// The worker's file limit, as a function with a quarter of `max_file_bytes` of memory has it.
async fn rig_limited(max_file_bytes: u64) -> Rig {
    rig_settings(None, None, None, max_file_bytes).await
}

async fn rig_full(
    cognito: Option<CognitoSettings>,
    drive: Option<DriveConfig>,
    ocr: Option<TextractConfig>,
) -> Rig {
    let limit = isoscan_lambda::max_file_bytes(isoscan_lambda::DEFAULT_MEMORY_MB);
    rig_settings(cognito, drive, ocr, limit).await
}

async fn rig_settings(
    cognito: Option<CognitoSettings>,
    drive: Option<DriveConfig>,
    ocr: Option<TextractConfig>,
    max_file_bytes: u64,
) -> Rig {
    let conf = config().await;
    let table = unique("isoscan");
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&conf),
        &table,
    ));
    store.create_table().await.expect("table");
    let sqs = aws_sdk_sqs::Client::new(&conf);
    // As the stack has it: a message received five times moves to the dead-letter queue.
    let (queue_url, dead_letters) = queue_with_dead_letters(&sqs, &unique("jobs"), 5).await;
    let bucket = Bucket::new(s3(&conf), unique("isoscan").to_lowercase());
    bucket.create().await.expect("bucket");
    std::env::set_var("AWS_S3_FORCE_PATH_STYLE", "true");
    let dep = Deployment::new(
        &conf,
        Settings {
            table,
            queue_url: queue_url.clone(),
            bucket: bucket.name.clone(),
            // moto serves the management API's /@connections/ paths at its root.
            callback_url: endpoint(),
            tokens_secret: None,
            tokens_max_age: isoscan_lambda::MAX_TOKENS_AGE,
            source_buckets: vec![],
            links: None,
            cognito,
            drive_secret: None,
            ocr,
            sweep_idle: isoscan_lambda::SWEEP_IDLE,
            max_file_bytes,
        },
        Some(
            json!({"tokens": {"alice-token-0123456789": "alice", "bob-token-0123456789ab": "bob"}}),
        ),
        drive,
    )
    .await
    .expect("deployment");
    Rig {
        dep,
        sqs,
        queue_url,
        dead_letters,
        bucket,
        store,
        conf,
    }
}

/// Up to 10 jobs as the SQS trigger hands them over.
async fn take(r: &Rig, visibility: i32) -> Vec<(QueuedJob, String)> {
    take_from(r, &r.queue_url, visibility).await
}

async fn take_from(r: &Rig, queue: &str, visibility: i32) -> Vec<(QueuedJob, String)> {
    let out = r
        .sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .visibility_timeout(visibility)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await
        .expect("receive");
    out.messages()
        .iter()
        .map(|m| {
            (
                QueuedJob {
                    message_id: m.message_id().unwrap_or_default().to_string(),
                    receipt: m.receipt_handle().unwrap_or_default().to_string(),
                    body: m.body().unwrap_or_default().to_string(),
                    receive_count: m
                        .attributes()
                        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(1),
                },
                m.receipt_handle().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn delete(r: &Rig, receipt: &str) {
    delete_from(r, &r.queue_url, receipt).await
}

async fn delete_from(r: &Rig, queue: &str, receipt: &str) {
    r.sqs
        .delete_message()
        .queue_url(queue)
        .receipt_handle(receipt)
        .send()
        .await
        .expect("delete");
}

/// A new connection of alice's (a name made unique from `name`).
async fn alice(r: &Rig, name: &str) -> String {
    let c = unique(name);
    r.dep
        .connect(&c, Some("alice-token-0123456789"))
        .await
        .expect("connect");
    c
}

/// Uploads `n` generated drawings as alice's upload; returns its key and the code list.
async fn upload_drawings(r: &Rig, n: usize) -> (String, Vec<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let truth = write_corpus(
        dir.path(),
        n,
        5,
        DrawingOptions {
            small: true,
            ..Default::default()
        },
    )
    .expect("corpus");
    let uploads = S3Uploads {
        bucket: r.bucket.clone(),
    };
    let key = uploads
        .create(&UploadMeta {
            owner: "alice".into(),
            purpose: UploadPurpose::Drawings,
            announced: 1,
        })
        .await
        .expect("upload");
    for path in truth.keys() {
        let bytes = std::fs::read(dir.path().join(path)).expect("read");
        put_upload_file(r, &key, path, bytes).await;
    }
    (key, code_list(&truth, 50))
}

/// Puts a file at `path` in the upload `key`, as the browser's upload does.
async fn put_upload_file(r: &Rig, key: &str, path: &str, bytes: Vec<u8>) {
    r.bucket
        .client
        .put_object()
        .bucket(&r.bucket.name)
        .key(format!("{}{path}", S3Uploads::files_prefix(key)))
        .body(bytes.into())
        .send()
        .await
        .expect("put");
}

/// Alice starts a scan of her upload `key` on connection `conn`; returns the session.
async fn start_upload_scan(r: &Rig, conn: &str, key: &str, codes: &[String]) -> String {
    r.dep
        .message(
            conn,
            &json!({"action": "start_scan", "drive_link": format!("upload:{key}"),
                    "target_hole_codes": codes})
            .to_string(),
        )
        .await
        .expect("start");
    session_of(r, conn).await
}

async fn session_of(r: &Rig, conn: &str) -> String {
    assert_eq!(
        r.store
            .connection_principal(conn)
            .await
            .expect("principal")
            .as_deref(),
        Some("alice")
    );
    r.store
        .connection_session(conn)
        .await
        .expect("session")
        .expect("the connection follows the scan it started")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_with_every_message_twice_and_a_dying_worker_counts_each_file_once() {
    captured_logs();
    let r = rig().await;
    let c1 = unique("c1");
    assert!(matches!(
        r.dep.connect("c0", Some("wrong")).await,
        Err(Refused::Unauthorized)
    ));
    assert!(matches!(
        r.dep.connect("c0", None).await,
        Err(Refused::Unauthorized)
    ));
    r.dep
        .connect(&c1, Some("alice-token-0123456789"))
        .await
        .expect("connect");
    let (key, codes) = upload_drawings(&r, 300).await;
    let session = start_upload_scan(&r, &c1, &key, &codes).await;

    let deadline = Instant::now() + Duration::from_secs(240);
    let mut died_once = false;
    loop {
        let s = r.store.get(&session).await.expect("get").expect("session");
        if s.status.is_final() {
            break;
        }
        assert!(Instant::now() < deadline, "the scan did not end: {s:?}");
        let batch = take(&r, 2).await;
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let jobs: Vec<QueuedJob> = batch.iter().map(|(j, _)| j.clone()).collect();
        let is_files = jobs.iter().any(|j| j.body.contains("\"files\""));
        if is_files && !died_once {
            // This invocation dies midway: half its records done, nothing acknowledged; the
            // queue delivers them all again after the visibility timeout.
            died_once = true;
            r.dep.worker(&jobs[..jobs.len() / 2], None).await;
            continue;
        }
        // Every message delivered twice.
        let failed_first = r.dep.worker(&jobs, None).await;
        let failed = r.dep.worker(&jobs, None).await;
        assert!(failed_first.is_empty() && failed.is_empty(), "{failed:?}");
        for (_, receipt) in &batch {
            delete(&r, receipt).await;
        }
    }
    assert!(died_once);
    let s = r.store.get(&session).await.unwrap().unwrap();
    assert_eq!(s.status, SessionStatus::Complete, "{s:?}");
    assert_eq!((s.total, s.processed, s.errors), (300, 300, 0));
    // Each result once, every page of them.
    let mut paths = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let page = r
            .store
            .results(&session, after.as_deref(), 100)
            .await
            .unwrap();
        for p in &page {
            assert!(paths.insert(p.file.path.clone()), "twice: {}", p.file.path);
        }
        match page.last() {
            Some(l) if page.len() == 100 => after = Some(l.file.path.clone()),
            _ => break,
        }
    }
    assert_eq!(paths.len(), 300);
    // One COMPLETE in the log, and one report.
    let log = r.store.since(&session, 0, 100_000).await.unwrap();
    let completes: Vec<_> = log
        .iter()
        .filter(|e| matches!(e.message, ServerMessage::Complete { .. }))
        .collect();
    assert_eq!(completes.len(), 1);
    if let ServerMessage::Complete {
        total_processed,
        total_matches,
        ..
    } = &completes[0].message
    {
        assert_eq!(*total_processed, 300);
        assert_eq!(*total_matches, s.matches);
    }
    let reports = r.bucket.list("reports/").await.unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].1 > 1000);
    // What the client was sent: STARTED first (replayed on follow), COMPLETE once; PROGRESS
    // and matches between. (Messages published before the follow came through the replay.)
    let got = posted(&c1).await;
    assert_eq!(
        got.first().map(|m| m["type"].clone()),
        Some(json!("STARTED")),
        "{:?}",
        got.first()
    );
    let seen: BTreeSet<u64> = got.iter().filter_map(|m| m["seq"].as_u64()).collect();
    assert_eq!(
        seen.len(),
        log.len(),
        "every logged message reached the client"
    );
    // seq runs 1..n without a gap.
    let seqs: Vec<u64> = log.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=log.len() as u64).collect::<Vec<_>>());
    assert_logs_hold_no_secret();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_becomes_file_errors_and_a_gone_follower_fails_nothing() {
    captured_logs();
    let r = rig().await;
    let c1 = alice(&r, "c1").await;
    let (key, codes) = upload_drawings(&r, 12).await;
    let session = start_upload_scan(&r, &c1, &key, &codes).await;
    // A second tab follows the scan, then goes away without a $disconnect: API Gateway answers
    // 410 for it from then on.
    let c2 = alice(&r, "c2").await;
    r.dep
        .message(
            &c2,
            &json!({"action": "subscribe", "session_id": session}).to_string(),
        )
        .await
        .expect("subscribe");
    close_connection(&r.conf, &c2).await;

    // The worker dies on one file batch every time it gets it (never acknowledged, back at
    // once): SQS itself moves it to the dead-letter queue after five receives, and the drain,
    // fed from that queue as its trigger would be, records its files as errors.
    let mut poison: Option<(String, String)> = None;
    let mut receives = 0;
    let mut drained = vec![];
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let s = r.store.get(&session).await.unwrap().unwrap();
        if s.status.is_final() {
            break;
        }
        assert!(Instant::now() < deadline, "{s:?}");
        for (job, receipt) in take(&r, 0).await {
            if poison.is_none() && job.body.contains("\"files\"") {
                poison = Some((job.message_id.clone(), job.body.clone()));
            }
            if poison.as_ref().is_some_and(|(id, _)| *id == job.message_id) {
                receives += 1;
                continue;
            }
            assert!(r
                .dep
                .worker(std::slice::from_ref(&job), None)
                .await
                .is_empty());
            delete(&r, &receipt).await;
        }
        for (job, receipt) in take_from(&r, &r.dead_letters, 30).await {
            assert!(r
                .dep
                .drain_dead_letters(std::slice::from_ref(&job))
                .await
                .is_empty());
            drained.push(job.message_id.clone());
            delete_from(&r, &r.dead_letters, &receipt).await;
        }
    }
    let (poison_id, poison_body) = poison.expect("a dead batch");
    assert_eq!(receives, 5, "received maxReceiveCount times, then moved");
    assert_eq!(drained, vec![poison_id]);
    let s = r.store.get(&session).await.unwrap().unwrap();
    assert_eq!(s.status, SessionStatus::Complete);
    assert_eq!(s.processed, 12);
    let dead_files = match serde_json::from_str::<Job>(&poison_body).unwrap() {
        Job::Files { files, .. } => files.len() as u64,
        other => panic!("{other:?}"),
    };
    assert_eq!(s.errors, dead_files);
    let log = r.store.since(&session, 0, 10_000).await.unwrap();
    let gave_up = log
        .iter()
        .filter(|e| matches!(&e.message, ServerMessage::FileError { data } if data.error.contains("gave up")))
        .count() as u64;
    assert_eq!(gave_up, dead_files);
    // The live tab got everything through COMPLETE; the gone one was forgotten on its first 410.
    let live = posted(&c1).await;
    assert_eq!(
        live.last().map(|m| m["type"].clone()),
        Some(json!("COMPLETE"))
    );
    assert_eq!(r.store.connection_principal(&c2).await.unwrap(), None);
    assert_eq!(r.store.followers(&session).await.unwrap(), vec![c1.clone()]);
    assert_logs_hold_no_secret();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_get_errors_and_unknown_connections_are_refused() {
    captured_logs();
    let r = rig().await;
    let c1 = unique("c1");
    // Not connected: refused politely (the post goes to moto).
    r.dep
        .message("ghost", r#"{"action":"ping"}"#)
        .await
        .expect("answered");
    r.dep
        .connect(&c1, Some("alice-token-0123456789"))
        .await
        .expect("connect");
    for body in [
        "{",
        r#"{"action":"dance"}"#,
        r#"{"action":"subscribe"}"#,
        r#"{"action":"ping"}"#,
    ] {
        r.dep.message(&c1, body).await.expect("answered");
    }
    // A folder of a machine is not a source here.
    r.dep
        .message(
            &c1,
            &json!({"action":"start_scan","drive_link":"/etc","target_hole_codes":["A"]})
                .to_string(),
        )
        .await
        .expect("answered");
    assert_eq!(r.store.connection_session(&c1).await.unwrap(), None);
    let got = posted(&c1).await;
    let kinds: Vec<String> = got
        .iter()
        .map(|m| {
            format!(
                "{} {}",
                m["type"].as_str().unwrap_or(""),
                m["code"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "ERROR malformed",
            "ERROR unknown_action",
            "ERROR bad_request",
            "PONG ",
            "ERROR bad_source",
        ],
        "{got:?}"
    );
    assert_logs_hold_no_secret();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_past_dynamodbs_1_mb_page_holds_every_row() {
    use calamine::Reader;
    use isoscan_core::result::{FileRef, FileResult, Outcome};
    let r = rig().await;
    let n = 1200u64;
    let s = Session::new(
        unique("big"),
        "alice".into(),
        "s3://somewhere/isos".into(),
        1,
        0,
        None,
        1_795_000_000_000,
    );
    r.store.create(&s, &["HC-1".to_string()]).await.unwrap();
    r.store.add_listed(&s.id, "", None, n, 0).await.unwrap();
    // Long paths (a sort key holds 1,024 bytes): 1,200 results of ~2.6 KB each are more than
    // one 1 MB query page on DynamoDB, and more than one 1,000-item page anywhere.
    let dir = "deep/".repeat(170);
    for i in 0..n {
        let path = format!("{dir}iso_{i:05}.pdf");
        let result = FileResult {
            file: FileRef {
                id: None,
                path: path.clone(),
                size: Some(1),
                link: format!("https://example.com/{path}"),
            },
            outcome: Outcome::Read {
                codes: vec!["HC-1".into()],
                pages: [("HC-1".to_string(), vec![1])].into_iter().collect(),
                ocr: false,
                needs_ocr: vec![],
            },
        };
        r.store.record(&s.id, &result).await.unwrap();
    }
    assert!(r.store.try_begin_finalize(&s.id, 1).await.unwrap());
    r.dep.engine.finalize(&s.id).await.expect("finalize");
    let done = r.store.get(&s.id).await.unwrap().unwrap();
    assert_eq!(done.status, SessionStatus::Complete);
    let bytes = r
        .bucket
        .client
        .get_object()
        .bucket(&r.bucket.name)
        .key(format!("reports/{}.xlsx", s.id))
        .send()
        .await
        .expect("report")
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    let mut wb = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    let rows = wb.worksheet_range("Processing Results").expect("sheet");
    assert_eq!(rows.height() as u64 - 1, n);
}

/// A user pool, two app clients and a user in moto: (pool id, client, other client, ID token,
/// access token).
async fn cognito_user() -> (String, String, String, String, String) {
    let pool = cognito("CreateUserPool", json!({"PoolName": unique("pool")})).await["UserPool"]
        ["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let client = |name: &'static str| {
        let pool = pool.clone();
        async move {
            cognito(
                "CreateUserPoolClient",
                json!({"UserPoolId": pool, "ClientName": name, "ExplicitAuthFlows": ["ADMIN_NO_SRP_AUTH"]}),
            )
            .await["UserPoolClient"]["ClientId"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let (dashboard, other) = (client("dashboard").await, client("other").await);
    cognito(
        "AdminCreateUser",
        json!({"UserPoolId": pool, "Username": "carol", "TemporaryPassword": "Temp-Passw0rd!"}),
    )
    .await;
    cognito(
        "AdminSetUserPassword",
        json!({"UserPoolId": pool, "Username": "carol", "Password": "Real-Passw0rd!", "Permanent": true}),
    )
    .await;
    let auth = cognito(
        "AdminInitiateAuth",
        json!({"UserPoolId": pool, "ClientId": dashboard, "AuthFlow": "ADMIN_NO_SRP_AUTH",
               "AuthParameters": {"USERNAME": "carol", "PASSWORD": "Real-Passw0rd!"}}),
    )
    .await;
    let r = &auth["AuthenticationResult"];
    (
        pool,
        dashboard,
        other,
        r["IdToken"].as_str().unwrap().to_string(),
        r["AccessToken"].as_str().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cognito_tokens_of_the_pool_and_client_are_accepted_and_others_refused() {
    let (pool, dashboard, other, id_token, access_token) = cognito_user().await;
    let settings = |pool: &str, client: &str| CognitoSettings {
        issuer: format!("https://cognito-idp.us-east-1.amazonaws.com/{pool}"),
        client_id: client.to_string(),
        // moto serves the pool's keys at POOL/.well-known/jwks.json, as Cognito does.
        jwks_url: Some(format!("{}/{pool}/.well-known/jwks.json", endpoint())),
    };
    let r = rig_with(Some(settings(&pool, &dashboard))).await;
    for token in [&id_token, &access_token] {
        let c = unique("c");
        assert_eq!(r.dep.connect(&c, Some(token)).await.unwrap(), "carol");
        assert_eq!(
            r.store.connection_principal(&c).await.unwrap().as_deref(),
            Some("carol")
        );
    }
    // API tokens still work beside the pool.
    assert_eq!(
        r.dep
            .connect(&unique("c"), Some("alice-token-0123456789"))
            .await
            .unwrap(),
        "alice"
    );
    // A changed claim breaks the signature.
    let mut parts: Vec<String> = id_token.split('.').map(str::to_string).collect();
    parts[1] = parts[1].chars().rev().collect();
    let forged = parts.join(".");
    for (why, token) in [
        ("forged", forged.as_str()),
        ("garbage", "a.b.c"),
        ("no token", ""),
    ] {
        let c = unique("c");
        assert!(
            matches!(
                r.dep.connect(&c, Some(token)).await,
                Err(Refused::Unauthorized)
            ),
            "{why}"
        );
        assert_eq!(r.store.connection_principal(&c).await.unwrap(), None);
    }
    // Another app client of the same pool, or another pool: refused.
    let r2 = rig_with(Some(settings(&pool, &other))).await;
    assert!(matches!(
        r2.dep.connect(&unique("c"), Some(&id_token)).await,
        Err(Refused::Unauthorized)
    ));
    let (pool2, dashboard2, ..) = cognito_user().await;
    let r3 = rig_with(Some(settings(&pool2, &dashboard2))).await;
    assert!(matches!(
        r3.dep.connect(&unique("c"), Some(&access_token)).await,
        Err(Refused::Unauthorized)
    ));
    // Keys that cannot be fetched are the server's trouble, not a refusal of the user.
    let mut down = settings(&pool, &dashboard);
    down.jwks_url = Some("http://127.0.0.1:9/jwks.json".into());
    let r4 = rig_with(Some(down)).await;
    assert!(matches!(
        r4.dep.connect(&unique("c"), Some(&id_token)).await,
        Err(Refused::Unavailable(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drive_folder_is_listed_and_read_by_the_workers() {
    use isoscan_drive::testing::{serve, FakeDrive};
    use isoscan_drive::Credentials;

    let dir = tempfile::tempdir().expect("tempdir");
    let truth = write_corpus(
        dir.path(),
        15,
        11,
        DrawingOptions {
            small: true,
            ..Default::default()
        },
    )
    .expect("corpus");
    let codes = code_list(&truth, 30);
    let d = FakeDrive::new("unused");
    d.folder("proj000000000000000000000", "Project", None);
    d.folder(
        "area200000000000000000000",
        "Area 2",
        Some("proj000000000000000000000"),
    );
    let mut expected = std::collections::BTreeMap::new();
    for (i, (name, t)) in truth.iter().enumerate() {
        let (parent, path) = if i < 9 {
            ("proj000000000000000000000", name.clone())
        } else {
            ("area200000000000000000000", format!("Area 2/{name}"))
        };
        let bytes = std::fs::read(dir.path().join(name)).expect("read");
        d.put_path(parent, name, bytes);
        let mut found: Vec<String> = t
            .codes
            .iter()
            .filter(|c| codes.contains(c))
            .cloned()
            .collect();
        found.sort();
        if !found.is_empty() {
            expected.insert(path, found);
        }
    }
    d.behave(|b| {
        b.page_cap = 4;
        b.rate_limited_once
            .insert("proj000000000000000000000".into());
    });
    let endpoint = serve(d.clone()).await;
    let mut drive = DriveConfig::new(Credentials::ServiceAccount {
        key_json: d.service_account_key(),
        subject: None,
    });
    drive.endpoint = Some(endpoint);
    drive.first_backoff = Duration::from_millis(20);
    let r = rig_full(None, Some(drive), None).await;
    let c1 = alice(&r, "c1").await;
    r.dep
        .message(
            &c1,
            &json!({"action": "start_scan",
                    "drive_link": "https://drive.google.com/drive/folders/proj000000000000000000000?usp=sharing",
                    "target_hole_codes": codes})
            .to_string(),
        )
        .await
        .expect("start");
    let session = session_of(&r, &c1).await;
    // The original dashboard reloaded before any file was read.
    let early = reload_as_the_original(&r, &session).await;
    assert_eq!(
        (
            early["status"].as_str(),
            early["processed_count"].as_u64(),
            early["progress"].as_u64()
        ),
        (Some("IN_PROGRESS"), Some(0), Some(0)),
        "{early}"
    );
    assert_eq!(early["results"], json!([]));
    assert!(early.get("download_url").is_none(), "{early}");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let s = r.store.get(&session).await.unwrap().unwrap();
        if s.status.is_final() {
            break;
        }
        assert!(Instant::now() < deadline, "the scan did not end: {s:?}");
        for (job, receipt) in take(&r, 30).await {
            assert!(r
                .dep
                .worker(std::slice::from_ref(&job), None)
                .await
                .is_empty());
            delete(&r, &receipt).await;
        }
    }
    let s = r.store.get(&session).await.unwrap().unwrap();
    assert_eq!(s.status, SessionStatus::Complete, "{s:?}");
    assert_eq!((s.total, s.processed, s.errors), (15, 15, 0));
    let log = r.store.since(&session, 0, 10_000).await.unwrap();
    let mut got = std::collections::BTreeMap::new();
    for e in &log {
        if let ServerMessage::MatchFound { data } = &e.message {
            let mut c = data.codes.clone();
            c.sort();
            assert!(
                data.pdf_link
                    .starts_with("https://drive.google.com/file/d/item"),
                "{}",
                data.pdf_link
            );
            got.insert(data.path.clone(), c);
        }
    }
    assert!(!expected.is_empty());
    assert_eq!(got, expected);

    // Reloaded once the scan completed: its progress bar, table and download link.
    let sync = reload_as_the_original(&r, &session).await;
    let complete = log
        .iter()
        .find_map(|e| match &e.message {
            ServerMessage::Complete {
                download_url,
                message,
                ..
            } => Some((download_url.clone(), message.clone())),
            _ => None,
        })
        .expect("COMPLETE");
    assert_eq!(sync["status"], "COMPLETE", "{sync}");
    assert_eq!(
        (
            sync["processed_count"].as_u64(),
            sync["total_files"].as_u64(),
            sync["progress"].as_u64()
        ),
        (Some(15), Some(15), Some(100))
    );
    assert_eq!(sync["download_url"].as_str(), Some(complete.0.as_str()));
    assert_eq!(sync["message"].as_str(), Some(complete.1.as_str()));
    let rows: std::collections::BTreeSet<(String, String, String, String)> = log
        .iter()
        .filter_map(|e| match &e.message {
            ServerMessage::MatchFound { data } => Some((
                data.hole_code.clone(),
                data.file_name.clone(),
                data.status.clone(),
                data.pdf_link.clone(),
            )),
            _ => None,
        })
        .collect();
    let shown: std::collections::BTreeSet<(String, String, String, String)> = sync["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let f = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (f("hole_code"), f("file_name"), f("status"), f("pdf_link"))
        })
        .collect();
    assert_eq!(shown, rows);
    assert_eq!(
        sync["results"].as_array().map(Vec::len),
        Some(expected.len())
    );
}

/// A new connection sends what the original dashboard sends when its page reloads, then its
/// heartbeat; returns the SYNC_STATE it got (after checking the heartbeat was answered).
async fn reload_as_the_original(r: &Rig, session: &str) -> serde_json::Value {
    let c = alice(r, "reload").await;
    r.dep
        .message(
            &c,
            &json!({"action": "reconnect", "session_id": session}).to_string(),
        )
        .await
        .expect("reconnect");
    r.dep
        .message(&c, &json!({"action": "ping"}).to_string())
        .await
        .expect("ping");
    let got = posted(&c).await;
    let sync = got
        .iter()
        .find(|m| m["type"] == "SYNC_STATE")
        .unwrap_or_else(|| panic!("no SYNC_STATE: {got:?}"))
        .clone();
    assert_eq!(sync["session_id"], session);
    assert!(got.iter().any(|m| m["type"] == "PONG"), "{got:?}");
    sync
}

/// Runs every queued job until the scan ends; returns its COMPLETE message and MATCH_FOUNDs
/// (path → codes, ocr).
async fn run_to_the_end(
    r: &Rig,
    session: &str,
) -> (
    ServerMessage,
    std::collections::BTreeMap<String, (Vec<String>, bool)>,
) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let s = r.store.get(session).await.unwrap().unwrap();
        if s.status.is_final() {
            break;
        }
        assert!(Instant::now() < deadline, "the scan did not end: {s:?}");
        for (job, receipt) in take(r, 30).await {
            assert!(r
                .dep
                .worker(std::slice::from_ref(&job), None)
                .await
                .is_empty());
            delete(r, &receipt).await;
        }
    }
    let log = r.store.since(session, 0, 10_000).await.unwrap();
    let mut matches = std::collections::BTreeMap::new();
    let mut complete = None;
    for e in log {
        match e.message {
            ServerMessage::MatchFound { data } => {
                let mut c = data.codes.clone();
                c.sort();
                matches.insert(data.path.clone(), (c, data.ocr));
            }
            m @ ServerMessage::Complete { .. } => complete = Some(m),
            _ => {}
        }
    }
    (complete.expect("COMPLETE logged"), matches)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanned_pages_are_read_by_textract_and_vector_pages_never_are() {
    use isoscan_aws::testing::{textract_calls, textract_reads};

    let one = isoscan_pdfgen::scan::picture_pdf(1, 61).expect("scan");
    let three = isoscan_pdfgen::scan::picture_pdf(3, 62).expect("scan");
    // Textract's reading, with the confusions OCR makes (O for 0); `MP-4004l` reads as
    // MP-40041, which is not MP-4004.
    textract_reads(
        &[
            (&one, vec![vec!["ISO SHEET", "SP-1O01 TYP"]]),
            (
                &three,
                vec![
                    vec!["COVER"],
                    vec!["MP-2002", "x"],
                    vec!["MP-3OO3", "MP-4004l"],
                ],
            ),
        ],
        json!({"busy": 4, "in_progress": 2, "page_size": 3}),
    )
    .await;
    let fast = TextractConfig {
        first_backoff: Duration::from_millis(10),
        first_poll: Duration::from_millis(10),
        ..TextractConfig::default()
    };
    for ocr in [Some(fast.clone()), None] {
        let r = rig_full(None, None, ocr.clone()).await;
        let (key, mut codes) = upload_drawings(&r, 3).await;
        for (name, bytes) in [("scans/one.pdf", &one), ("scans/three.pdf", &three)] {
            put_upload_file(&r, &key, name, bytes.clone()).await;
        }
        codes.extend(["SP-1001", "MP-2002", "MP-3003", "MP-4004"].map(String::from));
        let before = textract_calls().await.len();
        let c1 = alice(&r, "c1").await;
        let session = start_upload_scan(&r, &c1, &key, &codes).await;
        let (complete, matches) = run_to_the_end(&r, &session).await;
        let ServerMessage::Complete {
            total_files,
            total_processed,
            errors,
            needs_ocr,
            ..
        } = complete
        else {
            unreachable!()
        };
        assert_eq!((total_files, total_processed, errors), (5, 5, 0));
        let calls: Vec<_> = textract_calls().await[before..].to_vec();
        let vector_matches = matches.iter().filter(|(p, _)| !p.starts_with("scans/"));
        assert!(vector_matches.clone().count() > 0);
        assert!(vector_matches.clone().all(|(_, (_, ocr))| !ocr));
        if ocr.is_some() {
            assert_eq!(needs_ocr, 0);
            assert_eq!(
                matches.get("scans/one.pdf"),
                Some(&(vec!["SP-1001".to_string()], true))
            );
            assert_eq!(
                matches.get("scans/three.pdf"),
                Some(&(vec!["MP-2002".to_string(), "MP-3003".into()], true))
            );
            // One page as bytes, three through S3; nothing for the three vector drawings.
            let count = |a: &str| calls.iter().filter(|c| c["action"] == a).count();
            assert_eq!(count("StartDocumentTextDetection"), 1, "{calls:?}");
            assert!(calls
                .iter()
                .any(|c| c["action"] == "StartDocumentTextDetection"
                    && c["bucket"] == r.bucket.name.as_str()));
            assert_eq!(
                count("DetectDocumentText"),
                1 + 4,
                "one page, after 4 refusals: {calls:?}"
            );
        } else {
            assert_eq!(needs_ocr, 2, "the two scans are counted unread");
            assert!(!matches.keys().any(|p| p.starts_with("scans/")));
            assert!(calls.is_empty(), "{calls:?}");
        }
    }

    // A PNG over Textract's 10 MB for pictures goes as a PDF showing it, through S3.
    use isoscan_aws::textract::{MAX_PAGE_INCHES, MAX_PICTURE_SIDE, SYNC_LIMIT};
    let big = isoscan_pdfgen::scan::noise_png(3_300, 3_300, 63);
    assert!(big.len() > SYNC_LIMIT);
    let wrapped = isoscan_extract::raster::picture_as_pdf(&big, MAX_PAGE_INCHES, MAX_PICTURE_SIDE)
        .expect("wrap");
    textract_reads(&[(&wrapped, vec![vec!["BIG-7001"]])], json!({})).await;
    let r = rig_full(None, None, Some(fast)).await;
    let c2 = alice(&r, "c2").await;
    let scanned = scan_pictures(&r, &c2, vec![("scans/big.png", big)], &["BIG-7001"]).await;
    assert_eq!(scanned.counts, (0, 0));
    assert_eq!(
        scanned.matches.get("scans/big.png"),
        Some(&(vec!["BIG-7001".to_string()], true))
    );
    assert_eq!(scanned.textract, (1, 0), "a job, through S3");
    // A scanned sheet over Textract's 40 inches (50 × 33 in) goes as its picture on a page of
    // 40 inches, page by page.
    let sheet = isoscan_pdfgen::scan::picture_pdf_at(2, 64, 6).expect("scan");
    let limits = isoscan_extract::Limits::default();
    let as_pages = |file: &[u8], pages: &[u32]| -> Vec<Vec<u8>> {
        isoscan_extract::raster::page_images(file, &limits, pages)
            .expect("pictures")
            .into_iter()
            .map(|(_, g)| {
                let g = g.expect("a picture");
                isoscan_extract::raster::gray_as_pdf(g, MAX_PAGE_INCHES, MAX_PICTURE_SIDE)
                    .expect("wrap")
            })
            .collect()
    };
    let pages = as_pages(&sheet, &[1, 2]);
    let inches = isoscan_extract::raster::page_inches(&pages[0], &limits).expect("size");
    assert!((inches[0].0 - 40.0).abs() < 0.01, "{inches:?}");
    textract_reads(
        &[
            (&pages[0], vec![vec!["A0-1001"]]),
            (&pages[1], vec![vec!["A0-2002"]]),
        ],
        json!({}),
    )
    .await;
    let scanned = scan_pictures(
        &r,
        &c2,
        vec![("scans/a0.pdf", sheet)],
        &["A0-1001", "A0-2002"],
    )
    .await;
    assert_eq!(scanned.counts, (0, 0));
    assert_eq!(
        scanned.matches.get("scans/a0.pdf"),
        Some(&(vec!["A0-1001".to_string(), "A0-2002".into()], true))
    );
    assert_eq!(scanned.textract, (0, 2), "each page alone, as bytes");
    // Pictures over Textract's 10,000 pixels a side: a PNG (a band 10,500 pixels long, 1.3 MB)
    // goes as a PDF showing it made smaller; a two-page TIFF whose second page is over goes page
    // by page, the same way. The launcher refuses such a picture sent as it is.
    let long = isoscan_pdfgen::scan::noise_png(10_500, 120, 65);
    assert!(long.len() < SYNC_LIMIT);
    let long_pdf =
        isoscan_extract::raster::picture_as_pdf(&long, MAX_PAGE_INCHES, MAX_PICTURE_SIDE)
            .expect("wrap");
    let noise = |w: u32, h: u32, seed: u8| -> Vec<u8> {
        (0..w * h)
            .map(|i| (i as u8).wrapping_mul(31) ^ seed)
            .collect()
    };
    let tiff = isoscan_pdfgen::scan::gray_tiff(&[
        (300, 200, noise(300, 200, 1)),
        (10_200, 100, noise(10_200, 100, 2)),
    ])
    .expect("tiff");
    let tiff_pages = as_pages(&tiff, &[1, 2]);
    textract_reads(
        &[
            (&long_pdf, vec![vec!["PX-1001"]]),
            (&tiff_pages[0], vec![vec!["PX-2001"]]),
            (&tiff_pages[1], vec![vec!["PX-2002"]]),
        ],
        json!({}),
    )
    .await;
    let scanned = scan_pictures(
        &r,
        &c2,
        vec![("scans/long.png", long), ("scans/sheets.tif", tiff)],
        &["PX-1001", "PX-2001", "PX-2002"],
    )
    .await;
    assert_eq!(scanned.counts, (0, 0));
    assert_eq!(
        scanned.matches.get("scans/long.png"),
        Some(&(vec!["PX-1001".to_string()], true))
    );
    assert_eq!(
        scanned.matches.get("scans/sheets.tif"),
        Some(&(vec!["PX-2001".to_string(), "PX-2002".into()], true))
    );
    assert_eq!(
        scanned.textract,
        (0, 3),
        "a PDF for the PNG, one for each TIFF page"
    );
}

/// What a scan of uploaded pictures came to.
struct Scanned {
    /// COMPLETE's errors and pages left unread.
    counts: (u64, u64),
    /// Path → (codes, ocr).
    matches: std::collections::BTreeMap<String, (Vec<String>, bool)>,
    /// Textract requests made: StartDocumentTextDetection, DetectDocumentText.
    textract: (usize, usize),
}

/// Uploads one generated drawing and `files`, scans them for the drawing's codes and `codes`
/// over connection `conn`, and runs the scan to its end.
async fn scan_pictures(
    r: &Rig,
    conn: &str,
    files: Vec<(&str, Vec<u8>)>,
    codes: &[&str],
) -> Scanned {
    let (key, mut all) = upload_drawings(r, 1).await;
    for (path, bytes) in files {
        put_upload_file(r, &key, path, bytes).await;
    }
    all.extend(codes.iter().map(|c| c.to_string()));
    use isoscan_aws::testing::textract_calls;
    let before = textract_calls().await.len();
    let session = start_upload_scan(r, conn, &key, &all).await;
    let (complete, matches) = run_to_the_end(r, &session).await;
    let ServerMessage::Complete {
        errors, needs_ocr, ..
    } = complete
    else {
        panic!("the scan ends with COMPLETE: {complete:?}")
    };
    let calls: Vec<_> = textract_calls().await[before..].to_vec();
    let count = |a: &str| calls.iter().filter(|c| c["action"] == a).count();
    Scanned {
        counts: (errors, needs_ocr),
        matches,
        textract: (
            count("StartDocumentTextDetection"),
            count("DetectDocumentText"),
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused_once_the_copy_of_the_tokens_is_too_old() {
    assert!(isoscan_lambda::MAX_TOKENS_AGE <= Duration::from_secs(300));
    let conf = config().await;
    let table = unique("isoscan");
    DynamoStore::new(aws_sdk_dynamodb::Client::new(&conf), &table)
        .create_table()
        .await
        .expect("table");
    let secrets = aws_sdk_secretsmanager::Client::new(&conf);
    let id = secrets
        .create_secret()
        .name(unique("tokens"))
        .secret_string(json!({"tokens": {"carol-token-0123456789": "carol"}}).to_string())
        .send()
        .await
        .expect("secret")
        .arn()
        .expect("arn")
        .to_string();
    let max_age = Duration::from_secs(2);
    let dep = Deployment::new(
        &conf,
        Settings {
            table,
            queue_url: "unused".into(),
            bucket: "unused".into(),
            callback_url: endpoint(),
            tokens_secret: Some(id.clone()),
            tokens_max_age: max_age,
            source_buckets: vec![],
            links: None,
            cognito: None,
            drive_secret: None,
            ocr: None,
            sweep_idle: isoscan_lambda::SWEEP_IDLE,
            max_file_bytes: isoscan_lambda::max_file_bytes(isoscan_lambda::DEFAULT_MEMORY_MB),
        },
        None,
        None,
    )
    .await
    .expect("deployment");
    let token = Some("carol-token-0123456789");
    assert_eq!(
        dep.connect("c1", token).await.ok().as_deref(),
        Some("carol")
    );
    secrets
        .put_secret_value()
        .secret_id(&id)
        .secret_string(json!({"tokens": {}}).to_string())
        .send()
        .await
        .expect("revoke");
    let revoked = Instant::now();
    // Until the copy is too old the token still works; then never again. (What counts is
    // when the token was checked, at the start of connect: recording the connection can take
    // its time on a loaded machine.)
    loop {
        let asked = revoked.elapsed();
        match dep.connect("c2", token).await {
            Ok(_) => assert!(
                asked < max_age,
                "still accepted {asked:?} after the revocation"
            ),
            Err(Refused::Unauthorized) => break,
            Err(e) => panic!("{e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(matches!(
        dep.connect("c3", token).await,
        Err(Refused::Unauthorized)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_fails_is_logged_without_its_links() {
    use isoscan_core::result::FileRef;
    captured_logs();
    let r = rig().await;
    // A batch whose scan is gone: the job fails for good and is logged.
    let job = Job::Files {
        session: unique("gone"),
        files: vec![FileRef {
            id: None,
            path: "isos/a.pdf".into(),
            size: Some(10),
            link: "https://plant-a.s3.amazonaws.com/isos/a.pdf?X-Amz-Credential=AKIA&X-Amz-Signature=0123abcd".into(),
        }],
    };
    let queued = QueuedJob {
        message_id: "m-1".into(),
        receipt: "r-1".into(),
        body: serde_json::to_string(&job).unwrap(),
        receive_count: 1,
    };
    r.dep.worker(&[queued], None).await;
    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
    assert!(
        logs.lines()
            .any(|l| l.contains("job failed") && l.contains("1 files of session gone-")),
        "the failure is logged: {logs}"
    );
    assert_logs_hold_no_secret();
}

/// Within its reserve of the deadline the worker starts nothing: each job goes back as a new
/// message (received once, not counted as a failure) and the scan still ends exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_its_deadline_the_worker_puts_jobs_back_unstarted() {
    let r = rig().await;
    let c1 = alice(&r, "c1").await;
    let (key, codes) = upload_drawings(&r, 12).await;
    let session = start_upload_scan(&r, &c1, &key, &codes).await;

    let first = take(&r, 30).await;
    assert!(!first.is_empty());
    let records: Vec<QueuedJob> = first.iter().map(|(j, _)| j.clone()).collect();
    let failed = r.dep.worker(&records, Some(Instant::now())).await;
    assert!(failed.is_empty(), "nothing failed: {failed:?}");
    for (_, receipt) in &first {
        delete(&r, receipt).await;
    }
    let again = take(&r, 30).await;
    let bodies = |v: &[(QueuedJob, String)]| {
        let mut b: Vec<String> = v.iter().map(|(j, _)| j.body.clone()).collect();
        b.sort();
        b
    };
    assert_eq!(bodies(&again), bodies(&first), "the same jobs, put back");
    assert!(
        again.iter().all(|(j, _)| j.receive_count == 1),
        "as new messages"
    );
    let s = r.store.get(&session).await.unwrap().unwrap();
    assert_eq!((s.total, s.processed), (0, 0), "nothing was started");

    for (_, receipt) in &again {
        r.sqs
            .change_message_visibility()
            .queue_url(&r.queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await
            .expect("release");
    }
    run_to_the_end(&r, &session).await;
    let s = r.store.get(&session).await.unwrap().unwrap();
    assert_eq!(
        (s.status, s.total, s.processed),
        (SessionStatus::Complete, 12, 12)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_after_5000_matches_gets_every_row_in_messages_that_fit() {
    use isoscan_core::protocol::{ErrorCode, MatchData, MESSAGE_MAX};
    let r = rig().await;
    let s = Session::new(
        unique("many"),
        "alice".into(),
        "s3://somewhere/isos".into(),
        1,
        0,
        None,
        1_795_000_000_000,
    );
    r.store.create(&s, &["HC-1".to_string()]).await.unwrap();
    let n = 5_000;
    let log: Vec<ServerMessage> = (0..n)
        .map(|i| {
            let path = format!("area-{:02}/line-{i:05}/isometric-{i:05}.pdf", i % 40);
            ServerMessage::MatchFound {
                data: MatchData {
                    hole_code: format!("HC-{i:05}"),
                    file_name: format!("isometric-{i:05}.pdf"),
                    status: "1 Code".into(),
                    pdf_link: format!("https://drawings.example.com/{path}#page=1"),
                    path,
                    codes: vec![format!("HC-{i:05}")],
                    pages: [(format!("HC-{i:05}"), vec![1])].into_iter().collect(),
                    ocr: false,
                },
            }
        })
        .collect();
    r.store.load_log(&s.id, &log).await.expect("log");
    let c = alice(&r, "reload").await;
    // A client as DESIGN.md has it: rows by path from each snapshot and what follows it; told
    // the replay stopped, it subscribes again from the last seq it got.
    let mut rows = std::collections::HashSet::new();
    let (mut since, mut seen, mut rounds) = (None::<u64>, 0, 0);
    loop {
        rounds += 1;
        assert!(rounds < 500, "the reload does not end");
        let mut ask = json!({"action": "subscribe", "session_id": s.id});
        if let Some(x) = since {
            ask["since"] = json!(x);
        }
        // Far less time than 5,000 posts take: the replay goes on over several requests.
        let until = Instant::now() + Duration::from_secs(1);
        r.dep
            .message_until(&c, &ask.to_string(), until)
            .await
            .expect("subscribe");
        let got = posted(&c).await;
        let mut last = since.unwrap_or(0);
        let mut again = false;
        for m in &got[seen..] {
            assert!(m.to_string().len() <= MESSAGE_MAX);
            match m["type"].as_str() {
                Some("SYNC_STATE") => {
                    let snapshot = m["matches"].as_array().expect("matches");
                    rows.extend(snapshot.iter().map(|x| x["path"].to_string()));
                    last = m["last_seq"].as_u64().expect("last_seq");
                }
                Some("MATCH_FOUND") => {
                    let seq = m["seq"].as_u64().expect("seq");
                    assert_eq!(seq, last + 1, "the replay follows the snapshot");
                    last = seq;
                    rows.insert(m["data"]["path"].to_string());
                }
                Some("ERROR")
                    if m["code"] == serde_json::to_value(ErrorCode::Resubscribe).unwrap() =>
                {
                    again = true
                }
                _ => panic!("{m}"),
            }
        }
        seen = got.len();
        if !again {
            break;
        }
        since = Some(last);
    }
    assert_eq!(rows.len(), n);
    assert!(rounds > 2, "{rounds}");
}

/// What DESIGN.md asks of a client: messages applied in `seq` order, one after a gap held;
/// rows by path.
#[derive(Default)]
struct OrderingClient {
    last: u64,
    held: std::collections::BTreeMap<u64, serde_json::Value>,
    rows: BTreeSet<String>,
    completed: bool,
}

impl OrderingClient {
    fn receive(&mut self, m: &serde_json::Value) {
        let seq = m["seq"].as_u64().unwrap_or(0);
        if m["type"] == "SYNC_STATE" {
            for x in m["matches"].as_array().into_iter().flatten() {
                self.rows
                    .insert(x["path"].as_str().unwrap_or("").to_string());
            }
            self.last = self.last.max(m["last_seq"].as_u64().unwrap_or(0));
            self.completed |= m["session"]["status"] == "COMPLETE";
        } else if seq > self.last {
            self.held.insert(seq, m.clone());
        }
        while let Some(next) = self.held.remove(&(self.last + 1)) {
            self.last += 1;
            match next["type"].as_str() {
                Some("MATCH_FOUND") => {
                    self.rows
                        .insert(next["data"]["path"].as_str().unwrap_or("").to_string());
                }
                Some("COMPLETE") => self.completed = true,
                _ => {}
            }
        }
        self.held.retain(|&k, _| k > self.last);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_given_the_messages_out_of_order_and_some_lost_gets_every_one_by_asking_again() {
    let r = rig().await;
    let c = alice(&r, "c").await;
    let (key, codes) = upload_drawings(&r, 40).await;
    let session = start_upload_scan(&r, &c, &key, &codes).await;
    // Each message to a worker of its own, all at once, as Lambda runs them.
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let s = r.store.get(&session).await.unwrap().unwrap();
        if s.status.is_final() {
            break;
        }
        assert!(Instant::now() < deadline, "the scan did not end: {s:?}");
        let batch = take(&r, 30).await;
        let jobs: Vec<QueuedJob> = batch.iter().map(|(j, _)| j.clone()).collect();
        let runs = jobs.chunks(1).map(|j| r.dep.worker(j, None));
        let failed: Vec<Vec<String>> = futures::future::join_all(runs).await;
        assert!(failed.iter().all(Vec::is_empty), "{failed:?}");
        for (_, receipt) in &batch {
            delete(&r, receipt).await;
        }
    }
    let log = r.store.since(&session, 0, 100_000).await.unwrap();
    let matches: BTreeSet<String> = log
        .iter()
        .filter_map(|e| match &e.message {
            ServerMessage::MatchFound { data } => Some(data.path.clone()),
            _ => None,
        })
        .collect();
    assert!(!matches.is_empty());
    // What was posted, delivered shuffled (a fixed seed), every seventh message lost.
    let mut got: Vec<serde_json::Value> = posted(&c)
        .await
        .into_iter()
        .filter(|m| m["seq"].as_u64().unwrap_or(0) > 0)
        .filter(|m| m["seq"].as_u64().unwrap_or(0) % 7 != 3)
        .collect();
    let mut seed = 7u64;
    for i in (1..got.len()).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        got.swap(i, (seed >> 33) as usize % (i + 1));
    }
    let mut client = OrderingClient::default();
    client.receive(&json!({"type": "SYNC_STATE", "seq": 0, "last_seq": 0, "matches": []}));
    for m in &got {
        client.receive(m);
    }
    // Held behind the first lost message (seq 3).
    assert_eq!(client.last, 2);
    assert!(!client.held.is_empty());
    // The gap stays: the client asks for what follows the last message it applied.
    let mut asked = 0;
    while client.last < log.len() as u64 {
        asked += 1;
        assert!(asked < 10, "the client never catches up");
        let before = posted(&c).await.len();
        r.dep
            .message(
                &c,
                &json!({"action": "subscribe", "session_id": session, "since": client.last})
                    .to_string(),
            )
            .await
            .expect("subscribe");
        for m in &posted(&c).await[before..] {
            client.receive(m);
        }
    }
    assert_eq!(asked, 1);
    assert!(client.completed);
    assert_eq!(client.rows, matches);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drive_trees_40_folders_deep_and_2000_wide_scan_with_exact_totals() {
    use isoscan_drive::testing::{serve, FakeDrive};
    use isoscan_drive::Credentials;

    let dir = tempfile::tempdir().expect("tempdir");
    let truth = write_corpus(
        dir.path(),
        21,
        3,
        DrawingOptions {
            small: true,
            ..Default::default()
        },
    )
    .expect("corpus");
    let names: Vec<&String> = truth.keys().collect();
    let bytes = |i: usize| std::fs::read(dir.path().join(names[i])).expect("read");
    let d = FakeDrive::new("unused");
    let root = "root00000000000000000000000";
    d.folder(root, "Project", None);
    // 40 folders deep, names of 50 characters: the drawing at the bottom has a path of over
    // 2,000 bytes.
    let deep: Vec<String> = (0..40)
        .map(|l| format!("level-{l:02}-{}", "x".repeat(41)))
        .collect();
    let deep_path = format!("{}/{}", deep.join("/"), names[0]);
    assert!(deep_path.len() > 2_000);
    d.put_path(root, &deep_path, bytes(0));
    // 2,000 folders side by side, a drawing in every hundredth.
    d.folder("wide0000000000000000000000", "Wide", Some(root));
    let mut expected: BTreeSet<String> = [deep_path.clone()].into();
    for i in 0..2_000 {
        let id = format!("area{i:022}");
        d.folder(
            &id,
            &format!("area-{i:04}"),
            Some("wide0000000000000000000000"),
        );
        if i % 100 == 0 {
            let n = 1 + i / 100;
            d.put_path(&id, names[n], bytes(n));
            expected.insert(format!("Wide/area-{i:04}/{}", names[n]));
        }
    }
    let endpoint = serve(d.clone()).await;
    let mut drive = DriveConfig::new(Credentials::ServiceAccount {
        key_json: d.service_account_key(),
        subject: None,
    });
    drive.endpoint = Some(endpoint);
    let r = rig_full(None, Some(drive), None).await;
    let c = alice(&r, "c").await;
    r.dep
        .message(
            &c,
            &json!({"action": "start_scan",
                    "drive_link": format!("https://drive.google.com/drive/folders/{root}"),
                    "target_hole_codes": code_list(&truth, 10)})
            .to_string(),
        )
        .await
        .expect("start");
    let session = session_of(&r, &c).await;
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let s = r.store.get(&session).await.unwrap().unwrap();
        if s.status.is_final() {
            break;
        }
        assert!(Instant::now() < deadline, "the scan did not end: {s:?}");
        let batch = take(&r, 30).await;
        let jobs: Vec<QueuedJob> = batch.iter().map(|(j, _)| j.clone()).collect();
        assert!(r.dep.worker(&jobs, None).await.is_empty());
        for (_, receipt) in &batch {
            delete(&r, receipt).await;
        }
    }
    let s = r.store.get(&session).await.unwrap().unwrap();
    assert_eq!(s.status, SessionStatus::Complete, "{s:?}");
    assert_eq!((s.total, s.processed, s.errors), (21, 21, 0), "{s:?}");
    let results: BTreeSet<String> = r
        .store
        .results(&session, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.file.path)
        .collect();
    assert_eq!(results, expected);
}

/// A worker reads files up to a quarter of its memory: a larger one is a FILE_ERROR that says
/// the limit (the function is not killed for memory with its whole batch), and the others of
/// its batch are read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_over_the_workers_limit_is_a_file_error_that_says_the_limit() {
    assert_eq!(isoscan_lambda::max_file_bytes(1024), 256 << 20);
    assert_eq!(isoscan_lambda::max_file_bytes(10_240), 2560 << 20);
    let r = rig_limited(1 << 20).await;
    let c = alice(&r, "limit").await;
    let (key, codes) = upload_drawings(&r, 5).await;
    // A drawing padded with comment lines past the limit: a PDF any reader still opens.
    let mut big = b"%PDF-1.4\n".to_vec();
    while big.len() < (3 << 19) {
        big.extend_from_slice(b"% padding to make the file larger than the worker reads\n");
    }
    put_upload_file(&r, &key, "big/over-the-limit.pdf", big).await;
    let session = start_upload_scan(&r, &c, &key, &codes).await;
    let (complete, matches) = run_to_the_end(&r, &session).await;
    let ServerMessage::Complete {
        total_processed,
        errors,
        ..
    } = complete
    else {
        unreachable!()
    };
    assert_eq!((total_processed, errors), (6, 1));
    assert!(!matches.is_empty());
    let log = r.store.since(&session, 0, 1000).await.unwrap();
    let reasons: Vec<String> = log
        .iter()
        .filter_map(|e| match &e.message {
            ServerMessage::FileError { data } => Some(format!("{}: {}", data.path, data.error)),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0].starts_with("big/over-the-limit.pdf: ") && reasons[0].contains("1 MiB"),
        "{reasons:?}"
    );
}

/// 50,000 codes on DynamoDB: the list uploaded as a workbook, as the dashboard sends a list
/// of more than 88 KiB; COMPLETE and a reload's SYNC_STATE each fit API Gateway's frame with
/// the full counts, and the report's `Codes` sheet has every code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_thousand_codes_complete_on_dynamodb_in_messages_that_fit() {
    use isoscan_core::protocol::{COMPLETE_CODES_MAX, MESSAGE_MAX};
    let r = rig().await;
    let c = alice(&r, "codes").await;
    let (drawings, some) = upload_drawings(&r, 10).await;
    let mut codes = some.clone();
    codes.extend((codes.len()..50_000).map(|i| format!("ZZ-{i:05}")));
    let dir = tempfile::tempdir().expect("tempdir");
    let book = dir.path().join("codes.xlsx");
    isoscan_pdfgen::write_xlsx(&book, &codes).expect("workbook");
    let uploads = S3Uploads {
        bucket: r.bucket.clone(),
    };
    let list = uploads
        .create(&UploadMeta {
            owner: "alice".into(),
            purpose: UploadPurpose::Targets,
            announced: 1,
        })
        .await
        .expect("upload");
    put_upload_file(&r, &list, "codes.xlsx", std::fs::read(&book).expect("read")).await;
    r.dep
        .message(
            &c,
            &json!({"action": "start_scan", "drive_link": format!("upload:{drawings}"),
                    "targets_upload": list})
            .to_string(),
        )
        .await
        .expect("start");
    let session = session_of(&r, &c).await;
    let (complete, _) = run_to_the_end(&r, &session).await;
    let ServerMessage::Complete {
        codes_found,
        codes_not_found,
        codes_found_count,
        codes_not_found_count,
        codes_truncated,
        ..
    } = &complete
    else {
        unreachable!()
    };
    assert_eq!(codes_found_count + codes_not_found_count, 50_000);
    assert!(*codes_found_count > 0 && *codes_not_found_count >= 50_000 - some.len() as u64);
    assert!(codes_truncated);
    assert!(codes_found.len() <= COMPLETE_CODES_MAX);
    assert_eq!(codes_not_found.len(), COMPLETE_CODES_MAX);
    // What the connection was sent: COMPLETE among them, every one within the frame.
    let sent = posted(&c).await;
    assert!(
        sent.iter().any(|m| m["type"] == "COMPLETE"),
        "no COMPLETE posted"
    );
    for m in &sent {
        let len = m.to_string().len();
        assert!(len <= MESSAGE_MAX, "{} of {len} bytes", m["type"]);
    }
    let sync = reload_as_the_original(&r, &session).await;
    assert!(sync.to_string().len() <= MESSAGE_MAX);
    assert_eq!(
        sync["session"]["codes_not_found_count"],
        *codes_not_found_count
    );
    assert_eq!(sync["session"]["codes_truncated"], true);
    let bytes = r
        .bucket
        .client
        .get_object()
        .bucket(&r.bucket.name)
        .key(format!("reports/{session}.xlsx"))
        .send()
        .await
        .expect("report")
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    let mut wb: calamine::Xlsx<_> =
        calamine::Reader::new(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    let rows = calamine::Reader::worksheet_range(&mut wb, "Codes").expect("sheet");
    assert_eq!(rows.height(), 50_001);
}
