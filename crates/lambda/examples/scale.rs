//! The scale rehearsal: FILES tiny drawings in an upload, scanned through the Lambda entry
//! points against moto (DynamoDB, SQS, S3 through the real SDK clients) by WORKERS concurrent
//! workers that take jobs the way the SQS trigger hands them over. It checks that the counts
//! come out exact and prints the time, the items the scan left by kind with their sizes, and
//! the write units a file costs on DynamoDB on demand, computed from those sizes by
//! DynamoDB's rules (moto's `ConsumedCapacity` is a constant, not a measure).
//!
//! ```text
//! python3 scripts/moto_server.py -H 127.0.0.1 -p 5000 &
//! ISOSCAN_MOTO_ENDPOINT=http://127.0.0.1:5000 cargo run -p isoscan-lambda --example scale -- 100000 8
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use isoscan_aws::dynamo::DynamoStore;
use isoscan_aws::s3::{Bucket, S3Uploads};
use isoscan_aws::testing::{config, endpoint, queue_with_dead_letters, s3, unique};
use isoscan_core::protocol::{ServerMessage, UploadPurpose};
use isoscan_engine::ports::*;
use isoscan_lambda::{Deployment, QueuedJob, Settings};
use isoscan_pdfgen::{write_corpus, DrawingOptions};
use serde_json::json;

/// Distinct drawings; file `i` is drawing `i % DISTINCT`.
const DISTINCT: usize = 20;
/// Drawings whose codes are on the list: about a tenth of the files match.
const LISTED: usize = 2;

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let files: usize = args
        .first()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let workers: usize = args.get(1).map(|a| a.parse()).transpose()?.unwrap_or(8);
    if std::env::var_os("ISOSCAN_MOTO_ENDPOINT").is_none() {
        bail!("set ISOSCAN_MOTO_ENDPOINT to a moto server (scripts/moto_server.py)");
    }
    let conf = config().await;
    let table = unique("scale");
    let dynamo = aws_sdk_dynamodb::Client::new(&conf);
    let store = Arc::new(DynamoStore::new(dynamo.clone(), &table));
    store.create_table().await.map_err(|e| anyhow!("{e}"))?;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let (queue_url, _dead) = queue_with_dead_letters(&sqs, &unique("jobs"), 5).await;
    let bucket = Bucket::new(s3(&conf), unique("scale").to_lowercase());
    bucket.create().await.map_err(|e| anyhow!("{e}"))?;
    std::env::set_var("AWS_S3_FORCE_PATH_STYLE", "true");
    let dep = Arc::new(
        Deployment::new(
            &conf,
            Settings {
                table: table.clone(),
                queue_url: queue_url.clone(),
                bucket: bucket.name.clone(),
                callback_url: endpoint(),
                tokens_secret: None,
                tokens_max_age: isoscan_lambda::MAX_TOKENS_AGE,
                source_buckets: vec![],
                links: None,
                cognito: None,
                drive_secret: None,
                ocr: None,
                sweep_idle: isoscan_lambda::SWEEP_IDLE,
                max_file_bytes: isoscan_lambda::max_file_bytes(isoscan_lambda::DEFAULT_MEMORY_MB),
            },
            Some(json!({"tokens": {"alice-token-0123456789": "alice"}})),
            None,
        )
        .await?,
    );

    // The drawings, and which files match.
    let dir = tempfile::tempdir()?;
    let truth = write_corpus(
        dir.path(),
        DISTINCT,
        7,
        DrawingOptions {
            small: true,
            ..Default::default()
        },
    )?;
    let drawings: Vec<(Vec<u8>, Vec<String>)> = truth
        .iter()
        .map(|(path, t)| Ok((std::fs::read(dir.path().join(path))?, t.codes.clone())))
        .collect::<std::io::Result<_>>()?;
    let mut codes: Vec<String> = drawings[..LISTED]
        .iter()
        .flat_map(|(_, c)| c.clone())
        .collect();
    codes.sort();
    codes.dedup();
    let matching: Vec<bool> = drawings
        .iter()
        .map(|(_, c)| c.iter().any(|c| codes.contains(c)))
        .collect();
    let expected_matches = (0..files).filter(|i| matching[i % DISTINCT]).count() as u64;

    let t = Instant::now();
    let uploads = S3Uploads {
        bucket: bucket.clone(),
    };
    let key = uploads
        .create(&UploadMeta {
            owner: "alice".into(),
            purpose: UploadPurpose::Drawings,
            announced: files as u64,
        })
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let prefix = S3Uploads::files_prefix(&key);
    let drawings = Arc::new(drawings);
    let mut puts = tokio::task::JoinSet::new();
    for w in 0..16 {
        let (client, name, prefix, drawings) = (
            bucket.client.clone(),
            bucket.name.clone(),
            prefix.clone(),
            drawings.clone(),
        );
        puts.spawn(async move {
            for i in (w..files).step_by(16) {
                client
                    .put_object()
                    .bucket(&name)
                    .key(format!("{prefix}area-{:03}/iso_{i:06}.pdf", i / 1000))
                    .body(drawings[i % DISTINCT].0.clone().into())
                    .send()
                    .await
                    .context("put a drawing")?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(r) = puts.join_next().await {
        r??;
    }
    let uploaded = t.elapsed();
    println!(
        "uploaded {files} drawings in {:.0} s",
        uploaded.as_secs_f64()
    );

    let conn = unique("scale");
    dep.connect(&conn, Some("alice-token-0123456789"))
        .await
        .map_err(|e| anyhow!("{e:?}"))?;
    let t = Instant::now();
    dep.message(
        &conn,
        &json!({"action": "start_scan", "drive_link": format!("upload:{key}"),
                "target_hole_codes": codes})
        .to_string(),
    )
    .await?;
    let session = store
        .connection_session(&conn)
        .await
        .map_err(|e| anyhow!("{e}"))?
        .ok_or_else(|| anyhow!("no session started"))?;

    // The workers, as the trigger runs them: up to 10 messages, the failed ones left to
    // come back, the others deleted.
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut pool = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (dep, sqs, queue_url, done) =
            (dep.clone(), sqs.clone(), queue_url.clone(), done.clone());
        pool.spawn(async move {
            let mut batches = 0u64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let out = sqs
                    .receive_message()
                    .queue_url(&queue_url)
                    .max_number_of_messages(10)
                    .visibility_timeout(120)
                    .wait_time_seconds(1)
                    .message_system_attribute_names(
                        MessageSystemAttributeName::ApproximateReceiveCount,
                    )
                    .send()
                    .await
                    .context("receive")?;
                let jobs: Vec<QueuedJob> = out
                    .messages()
                    .iter()
                    .map(|m| QueuedJob {
                        message_id: m.message_id().unwrap_or_default().to_string(),
                        receipt: m.receipt_handle().unwrap_or_default().to_string(),
                        body: m.body().unwrap_or_default().to_string(),
                        receive_count: m
                            .attributes()
                            .and_then(|a| {
                                a.get(&MessageSystemAttributeName::ApproximateReceiveCount)
                            })
                            .and_then(|c| c.parse().ok())
                            .unwrap_or(1),
                    })
                    .collect();
                if jobs.is_empty() {
                    continue;
                }
                batches += 1;
                let failed = dep.worker(&jobs, None).await;
                for j in jobs.iter().filter(|j| !failed.contains(&j.message_id)) {
                    sqs.delete_message()
                        .queue_url(&queue_url)
                        .receipt_handle(&j.receipt)
                        .send()
                        .await
                        .context("delete")?;
                }
            }
            anyhow::Ok(batches)
        });
    }
    let mut last_report = Instant::now();
    let end = loop {
        let s = store
            .get(&session)
            .await
            .map_err(|e| anyhow!("{e}"))?
            .ok_or_else(|| anyhow!("the session is gone"))?;
        if s.status.is_final() {
            break s;
        }
        if last_report.elapsed() > Duration::from_secs(30) {
            println!(
                "  {:.0} s: {} of {} processed",
                t.elapsed().as_secs_f64(),
                s.processed,
                s.total
            );
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let scanned = t.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut batches = 0;
    while let Some(r) = pool.join_next().await {
        batches += r??;
    }

    // Exact: every file once, the counters, one COMPLETE, last.
    let results = store
        .results(&session, None, files + 10)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let log = store
        .since(&session, 0, usize::MAX)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let completes = log
        .iter()
        .filter(|e| matches!(e.message, ServerMessage::Complete { .. }))
        .count();
    let match_found = log
        .iter()
        .filter(|e| matches!(e.message, ServerMessage::MatchFound { .. }))
        .count() as u64;
    let contiguous = log.iter().enumerate().all(|(i, e)| e.seq == i as u64 + 1);
    println!(
        "scan: {:?} in {:.0} s ({:.1} files/s on moto), {batches} batches by {workers} workers",
        end.status,
        scanned.as_secs_f64(),
        files as f64 / scanned.as_secs_f64()
    );
    println!(
        "counts: total {} processed {} results {} matches {} (expected {expected_matches}) \
         errors {}; log: {} events, {completes} COMPLETE, {match_found} MATCH_FOUND, seqs 1..{} \
         {}",
        end.total,
        end.processed,
        results.len(),
        end.matches,
        end.errors,
        log.len(),
        log.len(),
        if contiguous {
            "without a hole"
        } else {
            "WITH HOLES"
        }
    );
    let exact = end.status == SessionStatus::Complete
        && end.total == files as u64
        && end.processed == files as u64
        && results.len() == files
        && end.matches == expected_matches
        && end.errors == 0
        && completes == 1
        && match_found >= expected_matches
        && contiguous
        && matches!(
            log.last().map(|e| &e.message),
            Some(ServerMessage::Complete { .. })
        );

    write_units(&dynamo, &table, files as u64, expected_matches).await?;
    if !exact {
        bail!("the counts are not exact");
    }
    println!("exact");
    Ok(())
}

/// Scans the table; prints the items by kind with their sizes (DynamoDB's rules: names and
/// values in bytes), and the write units per file computed from the writes the store makes.
async fn write_units(
    c: &aws_sdk_dynamodb::Client,
    table: &str,
    files: u64,
    matches: u64,
) -> anyhow::Result<()> {
    let mut sizes: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut start = None;
    loop {
        let r = c
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .context("scan the table")?;
        for item in r.items() {
            let sk = item
                .get("sk")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            let pk = item
                .get("pk")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            let kind = if pk.starts_with("C#") {
                "C# connection".to_string()
            } else {
                sk.split('#').next().unwrap_or("").to_string()
            };
            sizes.entry(kind).or_default().push(item_size(item));
        }
        match r.last_evaluated_key() {
            Some(k) => start = Some(k.clone()),
            None => break,
        }
    }
    println!("items | count | median B | p99 B | max B");
    let mut p99 = HashMap::new();
    for (kind, v) in &mut sizes {
        v.sort();
        let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
        println!(
            "{kind} | {} | {} | {} | {}",
            v.len(),
            at(0.5),
            at(0.99),
            at(1.0)
        );
        p99.insert(kind.clone(), at(0.99));
    }
    // Per file: its result, in a transaction (2 units a KB); per job of FILES_PER_JOB files:
    // the session's counters in that transaction (2) and the PROGRESS claim (1); per match:
    // the counter's ADD and the event (1 + 1). Units by p99 size: one a KB.
    let wu = |kind: &str| {
        p99.get(kind)
            .map(|b| b.div_ceil(1024).max(1) as f64)
            .unwrap_or(1.0)
    };
    let job = isoscan_engine::FILES_PER_JOB as f64;
    let per_file = 2.0 * wu("R") + 3.0 * wu("META") / job;
    let per_match = wu("SEQ") + wu("E");
    let total = per_file * files as f64 + per_match * matches as f64;
    println!(
        "write units: {per_file:.1} a file, {per_match} more a match; this scan {total:.0} \
         ({:.1} a file): one partition key's 1,000 units a second carry about {:.0} files a second",
        total / files as f64,
        1000.0 * files as f64 / total
    );
    Ok(())
}

/// An item's size as DynamoDB counts it.
fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        // Numbers: about one byte per two significant digits, plus one.
        AttributeValue::N(n) => n.trim_start_matches('-').len().div_ceil(2) + 1,
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        AttributeValue::Ss(s) => s.iter().map(|s| s.len()).sum(),
        _ => 0,
    }
}
