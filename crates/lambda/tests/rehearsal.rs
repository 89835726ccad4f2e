//! The deployment rehearsal: the stack as `cdk deploy` put it into moto and as the emulated
//! account shows it (`scripts/rehearse.sh` deploys it; `scripts/rehearse.py` reads each
//! function's configuration, trigger and queue back into `ISOSCAN_DEPLOYED`), and the
//! functions' own entry points started with exactly that environment, against the resources
//! the stack created. The test does what an operator and users do, nothing the stack should:
//! it puts the API tokens, fills the source bucket the operator named, and plays Lambda's SQS
//! poller with the batch size the trigger has.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::MessageSystemAttributeName;
use isoscan_aws::testing::{endpoint, posted, unique};
use isoscan_lambda::{Deployment, LinkAnswer, LinkService, QueuedJob, Refused};
use isoscan_pdfgen::{code_list, write_corpus, DrawingOptions, FileTruth};
use serde_json::{json, Value};

/// What `scripts/rehearse.py` read back.
fn deployed() -> Value {
    let path = std::env::var("ISOSCAN_DEPLOYED")
        .expect("ISOSCAN_DEPLOYED: the stack as read back from moto (run scripts/rehearse.sh)");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("deployed stack JSON")
}

/// Temporary credentials of the function's role, as Lambda gives each invocation environment
/// (STS AssumeRole on the emulator, for 15 minutes).
async fn role_session(stack: &Value, name: &str) {
    let role = stack["functions"][name]["role"].as_str().expect("role");
    let body = reqwest::Client::new()
        .post(endpoint())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(format!(
            "Action=AssumeRole&Version=2011-06-15&RoleSessionName={name}&DurationSeconds=900&RoleArn={role}"
        ))
        .send()
        .await
        .expect("AssumeRole")
        .text()
        .await
        .expect("AssumeRole answer");
    let field = |tag: &str| {
        body.split(&format!("<{tag}>"))
            .nth(1)
            .and_then(|r| r.split(&format!("</{tag}>")).next())
            .unwrap_or_else(|| panic!("{tag} in {body}"))
            .to_string()
    };
    std::env::set_var("AWS_ACCESS_KEY_ID", field("AccessKeyId"));
    std::env::set_var("AWS_SECRET_ACCESS_KEY", field("SecretAccessKey"));
    std::env::set_var("AWS_SESSION_TOKEN", field("SessionToken"));
}

/// Sets the environment the stack gave `name` and nothing else of the stack's, with its role's
/// session credentials (the emulator's address stands in for AWS's).
async fn function_env(stack: &Value, name: &str) {
    let every: BTreeSet<String> = stack["functions"]
        .as_object()
        .expect("functions")
        .values()
        .flat_map(|f| f["environment"].as_object().expect("env").keys().cloned())
        .collect();
    for k in every {
        std::env::remove_var(k);
    }
    for (k, v) in stack["functions"][name]["environment"]
        .as_object()
        .unwrap_or_else(|| panic!("function {name} not deployed"))
    {
        std::env::set_var(k, v.as_str().expect("string"));
    }
    role_session(stack, name).await;
}

/// A cold start of `name` with the environment the stack gave it.
async fn cold_start(stack: &Value, name: &str) -> Deployment {
    function_env(stack, name).await;
    Deployment::from_env()
        .await
        .unwrap_or_else(|e| panic!("{name} does not start with its deployed configuration: {e:#}"))
}

fn env_of<'a>(stack: &'a Value, name: &str, var: &str) -> &'a str {
    stack["functions"][name]["environment"][var]
        .as_str()
        .unwrap_or_else(|| panic!("{name} has no {var}"))
}

struct Poller {
    sqs: aws_sdk_sqs::Client,
    queue: String,
    batch: i32,
    /// The function's timeout: each batch runs with an invocation's deadline.
    timeout: Duration,
}

impl Poller {
    /// The function's SQS trigger as deployed: its queue and batch size.
    fn of(stack: &Value, name: &str, sqs: &aws_sdk_sqs::Client) -> Poller {
        let t = &stack["functions"][name]["triggers"][0];
        Poller {
            sqs: sqs.clone(),
            queue: t["queue"]["url"].as_str().expect("queue").to_string(),
            batch: t["batch_size"].as_i64().expect("batch size") as i32,
            timeout: Duration::from_secs(
                stack["functions"][name]["timeout_s"]
                    .as_u64()
                    .expect("timeout"),
            ),
        }
    }

    /// One batch as Lambda hands it over: the ids the function returns stay on the queue,
    /// the rest are deleted. Returns how many messages there were.
    async fn once(&self, run: impl AsyncFnOnce(&[QueuedJob]) -> Vec<String>) -> usize {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue)
            .max_number_of_messages(self.batch)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .expect("receive");
        let messages = out.messages();
        if messages.is_empty() {
            return 0;
        }
        let jobs: Vec<QueuedJob> = messages
            .iter()
            .map(|m| QueuedJob {
                message_id: m.message_id().unwrap_or_default().to_string(),
                receipt: m.receipt_handle().unwrap_or_default().to_string(),
                body: m.body().unwrap_or_default().to_string(),
                receive_count: m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1),
            })
            .collect();
        let failed = run(&jobs).await;
        assert!(failed.is_empty(), "the function returned {failed:?}");
        for m in messages {
            self.sqs
                .delete_message()
                .queue_url(&self.queue)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
        messages.len()
    }
}

/// Runs the worker's trigger until `connection` is told the scan ended; returns its last
/// message (COMPLETE, or what ended it) and every message since the `from`th.
async fn until_the_end(
    worker: &Deployment,
    poller: &Poller,
    connection: &str,
    from: usize,
) -> (Value, Vec<Value>) {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let got: Vec<Value> = posted(connection).await.into_iter().skip(from).collect();
        if let Some(end) = got
            .iter()
            .find(|m| matches!(m["type"].as_str(), Some("COMPLETE" | "ERROR" | "CANCELLED")))
        {
            return (end.clone(), got);
        }
        assert!(
            Instant::now() < deadline,
            "the scan did not end: {:?}",
            got.last()
        );
        // Each batch with the deadline of an invocation of the deployed timeout.
        let invocation = Instant::now() + poller.timeout;
        if poller
            .once(async |jobs| worker.worker(jobs, Some(invocation)).await)
            .await
            == 0
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn send(dep: &Deployment, connection: &str, body: Value) -> Value {
    let before = posted(connection).await.len();
    dep.message(connection, &body.to_string())
        .await
        .expect("message handled");
    posted(connection)
        .await
        .get(before)
        .cloned()
        .unwrap_or_else(|| panic!("no answer to {body}"))
}

async fn get(url: &str) -> Vec<u8> {
    let r = reqwest::get(url).await.expect("download");
    assert!(r.status().is_success(), "{url}: {}", r.status());
    r.bytes().await.expect("body").to_vec()
}

fn report_rows(bytes: Vec<u8>) -> usize {
    use calamine::Reader;
    let mut wb = calamine::Xlsx::new(std::io::Cursor::new(bytes)).expect("xlsx");
    let rows = wb.worksheet_range("Processing Results").expect("sheet");
    rows.height() - 1
}

/// The targets of the report's HYPERLINK formulas.
fn report_links(bytes: Vec<u8>) -> Vec<String> {
    use calamine::Reader;
    let mut wb = calamine::Xlsx::new(std::io::Cursor::new(bytes)).expect("xlsx");
    let formulas = wb
        .worksheet_formula("Processing Results")
        .expect("formulas");
    formulas
        .used_cells()
        .filter_map(|(_, _, f)| {
            let f = f.strip_prefix('=').unwrap_or(f);
            let rest = f.strip_prefix("HYPERLINK(\"")?;
            Some(rest.split('"').next()?.to_string())
        })
        .collect()
}

fn expected_found(truth: &BTreeMap<String, FileTruth>, codes: &[String]) -> BTreeSet<String> {
    let listed: BTreeSet<&String> = codes.iter().collect();
    truth
        .values()
        .flat_map(|t| t.codes.iter())
        .filter(|c| listed.contains(c))
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the stack deployed into moto: scripts/rehearse.sh deploys it and runs this"]
async fn the_deployed_stack_scans_an_s3_prefix_and_an_upload_to_the_end() {
    let stack = deployed();
    // The emulator stands in for AWS; the stack's configuration is the functions' own.
    std::env::set_var("AWS_ENDPOINT_URL", endpoint());
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::set_var("AWS_S3_FORCE_PATH_STYLE", "true");
    let sdk = isoscan_aws::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let s3 = isoscan_aws::testing::s3(&sdk);

    // The configuration the stack gave, as the account shows it.
    let fns = stack["functions"].as_object().expect("functions");
    let names: BTreeSet<&str> = fns.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "dlq-drain",
            "link",
            "sweeper",
            "worker",
            "ws-connect",
            "ws-disconnect",
            "ws-message"
        ])
    );
    for (name, f) in fns {
        assert_eq!(f["runtime"], "provided.al2023", "{name}");
        assert_eq!(f["handler"], "bootstrap", "{name}");
    }
    let worker_fn = &stack["functions"]["worker"];
    let trigger = &worker_fn["triggers"][0];
    assert_eq!(
        trigger["response_types"],
        json!(["ReportBatchItemFailures"])
    );
    assert!(trigger["batch_size"].as_i64().unwrap() <= 10);
    let timeout = worker_fn["timeout_s"].as_i64().unwrap();
    assert!(
        trigger["queue"]["visibility_timeout"].as_i64().unwrap() >= 6 * timeout,
        "the queue hides a job for at least 6 times the worker's timeout"
    );
    assert_eq!(trigger["queue"]["redrive"]["maxReceiveCount"], 5);
    let drain = &stack["functions"]["dlq-drain"]["triggers"][0];
    assert_eq!(
        trigger["queue"]["redrive"]["deadLetterTargetArn"], drain["queue"]["arn"],
        "dead letters go to the drain's queue"
    );
    assert_eq!(drain["response_types"], json!(["ReportBatchItemFailures"]));
    assert!(worker_fn["memory_mb"].as_i64().unwrap() >= 1024);

    // Before the operator puts a token, nobody connects, and every function starts.
    let connect = cold_start(&stack, "ws-connect").await;
    assert!(matches!(
        connect
            .connect("c-early", Some("alice-token-0123456789"))
            .await,
        Err(Refused::Unauthorized)
    ));
    for name in ["ws-disconnect", "ws-message", "worker", "dlq-drain"] {
        cold_start(&stack, name).await;
    }
    let sweeper = cold_start(&stack, "sweeper").await;
    function_env(&stack, "link").await;
    LinkService::from_env()
        .await
        .expect("the link function starts with its deployed configuration");
    let link_url = stack["functions"]["link"]["url"]["url"]
        .as_str()
        .expect("the link function has a URL")
        .to_string();
    assert_eq!(stack["functions"]["link"]["url"]["auth_type"], "NONE");
    for name in ["ws-message", "worker"] {
        assert_eq!(
            env_of(&stack, name, "LINK_URL"),
            link_url,
            "{name} makes links to it"
        );
    }

    // The operator's steps: tokens in the secret the stack made, drawings in the bucket they
    // named. Alice is held to one prefix of it; Bob may read what the deployment reads.
    let source = env_of(&stack, "worker", "SOURCE_BUCKETS")
        .split(',')
        .next()
        .expect("a source bucket")
        .to_string();
    aws_sdk_secretsmanager::Client::new(&sdk)
        .put_secret_value()
        .secret_id(env_of(&stack, "ws-connect", "TOKENS_SECRET_ID"))
        .secret_string(
            json!({"tokens": {
                "alice-token-0123456789": {"principal": "alice", "sources": [format!("s3://{source}/isos/")]},
                "bob-token-0123456789ab": "bob",
            }})
            .to_string(),
        )
        .send()
        .await
        .expect("put the tokens");
    s3.create_bucket()
        .bucket(&source)
        .send()
        .await
        .expect("source bucket");
    let dir = tempfile::tempdir().expect("tempdir");
    let truth = write_corpus(
        dir.path(),
        300,
        17,
        DrawingOptions {
            small: true,
            ..Default::default()
        },
    )
    .expect("corpus");
    for path in truth.keys() {
        let bytes = std::fs::read(dir.path().join(path)).expect("read");
        s3.put_object()
            .bucket(&source)
            .key(format!("isos/{path}"))
            .body(bytes.into())
            .send()
            .await
            .expect("put");
    }
    s3.put_object()
        .bucket(&source)
        .key("other/secret.pdf")
        .body(b"%PDF-1.4".to_vec().into())
        .send()
        .await
        .expect("put");

    let connect = cold_start(&stack, "ws-connect").await;
    let message = cold_start(&stack, "ws-message").await;
    let worker = cold_start(&stack, "worker").await;
    let poller = Poller::of(&stack, "worker", &sqs);
    let alice = unique("alice");
    let bob = unique("bob");
    assert_eq!(
        connect
            .connect(&alice, Some("alice-token-0123456789"))
            .await
            .ok()
            .as_deref(),
        Some("alice")
    );
    assert_eq!(
        connect
            .connect(&bob, Some("bob-token-0123456789ab"))
            .await
            .ok()
            .as_deref(),
        Some("bob")
    );

    // Drive is off until its key is put: said plainly.
    let drive = send(
        &message,
        &bob,
        json!({"action": "start_scan", "drive_link": "https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOpQrStUvWxYz012345", "target_hole_codes": ["HC-1"]}),
    )
    .await;
    assert_eq!(drive["type"], "ERROR", "{drive}");
    assert!(
        drive["message"]
            .as_str()
            .unwrap()
            .contains("Drive is not configured"),
        "{drive}"
    );

    // The 300-file S3 scan, from start_scan to the downloaded report.
    let codes = code_list(&truth, 60);
    let started = send(
        &message,
        &alice,
        json!({"action": "start_scan", "drive_link": format!("s3://{source}/isos/"), "target_hole_codes": codes}),
    )
    .await;
    assert_eq!(started["type"], "STARTED", "{started}");
    // The sweeper, as deployed, finds the scan through the table's index and leaves it to the
    // workers: its files are not all in.
    let swept = sweeper.sweep().await.expect("sweep");
    assert_eq!((swept.unfinished, swept.resumed), (1, 0), "{swept:?}");
    let (end, got) = until_the_end(&worker, &poller, &alice, 0).await;
    let swept = sweeper.sweep().await.expect("sweep");
    assert_eq!((swept.unfinished, swept.resumed), (0, 0), "{swept:?}");
    assert_eq!(end["type"], "COMPLETE", "{end}");
    assert_eq!(end["total_files"], 300);
    assert_eq!(end["total_processed"], 300);
    assert_eq!(end["errors"], 0);
    let found: BTreeSet<String> = end["codes_found"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(found, expected_found(&truth, &codes));
    let matched_files = truth
        .values()
        .filter(|t| t.codes.iter().any(|c| codes.contains(c)))
        .count();
    let match_msgs = got.iter().filter(|m| m["type"] == "MATCH_FOUND").count();
    assert_eq!(
        match_msgs, matched_files,
        "one MATCH_FOUND per drawing with a listed code"
    );
    // The report lists the drawings with a match, one row each, each linked by a stable link.
    let report = get(end["download_url"].as_str().unwrap()).await;
    assert_eq!(report_rows(report.clone()), matched_files);
    let linked = report_links(report);
    assert_eq!(linked.len(), matched_files);
    assert!(
        linked.iter().all(|l| l.starts_with(&link_url)),
        "{linked:?}"
    );

    // MATCH_FOUND carries the same links. They hold no AWS credential, and the link function,
    // started later with its own role's session, opens them: nothing in a link expires with
    // the worker's credentials that made it.
    let first = got
        .iter()
        .find(|m| m["type"] == "MATCH_FOUND")
        .expect("a match");
    let link = first["data"]["pdf_link"].as_str().unwrap();
    assert!(link.starts_with(&link_url), "{link}");
    assert!(!link.contains("X-Amz"), "{link}");
    function_env(&stack, "link").await;
    let links = LinkService::from_env().await.expect("link function");
    // What reaches the function: the query, without the page anchor (`#page=N`) a browser keeps.
    let query = link.split('#').next().unwrap().split_once('?').unwrap().1;
    let to = match links.open(query).await {
        LinkAnswer::Redirect(to) => to,
        refused => panic!("{link} is refused: {refused:?}"),
    };
    let path = first["data"]["path"].as_str().unwrap();
    assert_eq!(
        get(&to).await,
        std::fs::read(dir.path().join(path)).unwrap(),
        "the link opens its drawing"
    );
    let tampered = query.replace("&s=", "&s=A");
    assert!(matches!(
        links.open(&tampered).await,
        LinkAnswer::Refused(403, _)
    ));
    println!(
        "rehearsal: {} report links and every MATCH_FOUND lead to the link function; one opened its drawing under another session, a tampered one was refused",
        linked.len()
    );
    println!(
        "rehearsal: s3 scan complete, {} files, {} with a match (and as many report rows), {} of {} codes found",
        end["total_files"], match_msgs, found.len(), codes.len()
    );

    // An upload scan: Bob's drawings through signed PUTs, then scanned.
    let few: Vec<&String> = truth.keys().take(5).collect();
    let mut key: Option<String> = None;
    for path in &few {
        let bytes = std::fs::read(dir.path().join(path)).expect("read");
        let name = path.rsplit('/').next().unwrap();
        let mut ask = json!({"action": "request_upload", "file_name": name, "size": bytes.len(), "purpose": "drawings"});
        if let Some(k) = &key {
            ask["key"] = json!(k);
        }
        let ticket = send(&message, &bob, ask).await;
        assert_eq!(ticket["type"], "UPLOAD_URL", "{ticket}");
        key = Some(ticket["key"].as_str().unwrap().to_string());
        let put = reqwest::Client::new()
            .put(ticket["url"].as_str().unwrap())
            .body(bytes)
            .send()
            .await
            .expect("PUT");
        assert!(put.status().is_success(), "upload: {}", put.status());
    }
    let key = key.unwrap();
    // Bob's upload lies in Bob's folder of the results bucket.
    let results = env_of(&stack, "worker", "BUCKET_NAME");
    let bobs = s3
        .list_objects_v2()
        .bucket(results)
        .prefix(format!("uploads/{}/", isoscan_aws::s3::owner_folder("bob")))
        .send()
        .await
        .expect("list");
    assert_eq!(
        bobs.contents().len(),
        1 + few.len(),
        "a record and the files"
    );
    let from = posted(&bob).await.len();
    let started = send(
        &message,
        &bob,
        json!({"action": "start_scan", "drive_link": format!("upload:{key}"), "target_hole_codes": codes}),
    )
    .await;
    assert_eq!(started["type"], "STARTED", "{started}");
    let (end, _) = until_the_end(&worker, &poller, &bob, from).await;
    assert_eq!(end["type"], "COMPLETE", "{end}");
    assert_eq!(end["total_files"], 5);
    assert_eq!(end["errors"], 0);
    let matched_few = few
        .iter()
        .filter(|p| truth[**p].codes.iter().any(|c| codes.contains(c)))
        .count();
    assert_eq!(
        report_rows(get(end["download_url"].as_str().unwrap()).await),
        matched_few
    );
    println!("rehearsal: upload scan complete, 5 files");

    // What a principal may not scan: the results bucket, a bucket the stack does not name,
    // outside its own prefix, another's upload.
    let refused = [
        (&bob, format!("s3://{results}/uploads/")),
        (&bob, format!("s3://{results}/")),
        (&bob, format!("s3://not-{source}/isos/")),
        (&alice, format!("s3://{source}/other/")),
        (&alice, format!("s3://{source}/")),
        (&alice, format!("upload:{key}")),
    ];
    for (who, location) in refused {
        let c = unique("c");
        let token = if who == &alice {
            "alice-token-0123456789"
        } else {
            "bob-token-0123456789ab"
        };
        connect.connect(&c, Some(token)).await.expect("connect");
        let answer = send(
            &message,
            &c,
            json!({"action": "start_scan", "drive_link": location, "target_hole_codes": ["HC-1"]}),
        )
        .await;
        assert_eq!(answer["type"], "ERROR", "{location}: {answer}");
        assert!(
            matches!(
                answer["code"].as_str(),
                Some("source_forbidden" | "forbidden")
            ),
            "{location}: {answer}"
        );
    }
    println!("rehearsal: 6 locations refused (results bucket, unnamed bucket, outside a principal's prefix, another's upload)");
}
