//! Test support: a moto server on loopback and SDK configuration for it. Only with the
//! `testing` feature; never in a deployment.

use aws_sdk_dynamodb::config::{Credentials, Region};

/// The emulator's endpoint (see [`isoscan_testkit::moto_endpoint`]).
pub fn endpoint() -> String {
    isoscan_testkit::moto_endpoint()
}

/// SDK configuration for the emulator.
pub async fn config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await
}

/// A name no other test uses.
pub fn unique(name: &str) -> String {
    format!("{name}-{}", crate::random_key())
}

/// An S3 client for the emulator (path-style addressing).
pub fn s3(conf: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(true)
            .build(),
    )
}

async fn http(method: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ep = endpoint();
    let host = ep.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect to moto");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = vec![];
    s.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    match text.split_once("\r\n\r\n") {
        Some((_, body)) => body.to_string(),
        None => String::new(),
    }
}

/// The JSON messages posted to a connection through the management API and accepted, in
/// order, each once, as the moto launcher (`scripts/moto_server.py`) kept them.
pub async fn posted(connection: &str) -> Vec<serde_json::Value> {
    let body = http(
        "GET",
        &format!("/moto-api/static/apigateway/posted?connection={connection}"),
    )
    .await;
    let listed: serde_json::Value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("the launcher's list of posts: {e}: {body}"));
    listed["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|t| t.as_str().and_then(|t| serde_json::from_str(t).ok()))
                .collect()
        })
        .unwrap_or_default()
}

/// A queue whose messages move to a dead-letter queue after `max_receives` receives, as the
/// stack configures it: (queue URL, dead-letter queue URL).
pub async fn queue_with_dead_letters(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    max_receives: u32,
) -> (String, String) {
    use aws_sdk_sqs::types::QueueAttributeName;
    let dlq = sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .expect("dead-letter queue");
    let dlq_url = dlq.queue_url().expect("url").to_string();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("attributes");
    let arn = arn
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .expect("arn")
        .clone();
    let q = sqs
        .create_queue()
        .queue_name(name)
        .attributes(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max_receives})
                .to_string(),
        )
        .send()
        .await
        .expect("queue");
    (q.queue_url().expect("url").to_string(), dlq_url)
}

/// Closes a connection on the management API's side, as a client going away does: posts to
/// it answer 410 Gone from then on.
pub async fn close_connection(conf: &aws_config::SdkConfig, connection: &str) {
    let api = aws_sdk_apigatewaymanagement::Client::from_conf(
        aws_sdk_apigatewaymanagement::config::Builder::from(conf)
            .endpoint_url(endpoint())
            .build(),
    );
    api.delete_connection()
        .connection_id(connection)
        .send()
        .await
        .expect("delete connection");
}

/// One call to moto's Cognito user pool API (JSON 1.1), to set up pools, clients and users.
pub async fn cognito(action: &str, body: serde_json::Value) -> serde_json::Value {
    let r = reqwest::Client::new()
        .post(endpoint())
        .header("Content-Type", "application/x-amz-json-1.1")
        .header(
            "X-Amz-Target",
            format!("AWSCognitoIdentityProviderService.{action}"),
        )
        // moto picks the service from the credential scope of the signature.
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/cognito-idp/aws4_request, \
             SignedHeaders=host, Signature=0",
        )
        .body(body.to_string())
        .send()
        .await
        .expect("cognito call");
    let status = r.status();
    let v: serde_json::Value = r.json().await.expect("cognito answer");
    assert!(status.is_success(), "{action}: {v}");
    v
}

/// What the emulated Textract reads in documents, by the SHA-256 of their bytes (pages of lines),
/// and how it behaves: `in_progress` polls before a job finishes, `busy` refusals
/// (ProvisionedThroughputExceededException) of the next requests, `page_size` blocks per
/// result page. Served by `scripts/moto_server.py`.
pub async fn textract_reads(documents: &[(&[u8], Vec<Vec<&str>>)], behaviour: serde_json::Value) {
    use sha2::Digest;
    let mut body = behaviour;
    let docs: serde_json::Map<String, serde_json::Value> = documents
        .iter()
        .map(|(bytes, pages)| {
            let sha: String = sha2::Sha256::digest(bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            (sha, serde_json::json!(pages))
        })
        .collect();
    body["documents"] = serde_json::Value::Object(docs);
    let r = reqwest::Client::new()
        .post(format!("{}/moto-api/static/textract/results", endpoint()))
        .json(&body)
        .send()
        .await
        .expect("textract results");
    assert!(r.status().is_success(), "textract results: {}", r.status());
}

/// The Textract requests the emulator has received, in order (`action` and what it was given).
pub async fn textract_calls() -> Vec<serde_json::Value> {
    let v: serde_json::Value =
        reqwest::get(format!("{}/moto-api/static/textract/results", endpoint()))
            .await
            .expect("textract calls")
            .json()
            .await
            .expect("textract calls json");
    v["calls"].as_array().cloned().unwrap_or_default()
}
