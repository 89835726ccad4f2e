//! isoscan's adapters on AWS: the session store and event log on DynamoDB, the job queue on
//! SQS, reports and uploads on S3, the notifier on the API Gateway Management API, secrets from
//! Secrets Manager, Cognito user pool tokens, OCR by Textract (`ocr`, with Textract's size and
//! tiling rules). They implement the engine's ports; no AWS type crosses a port. Clients are
//! built once (per Lambda cold start) from the environment; `AWS_ENDPOINT_URL` points them at
//! an emulator. Nothing here may depend on the local adapters, axum or SQLite.

pub mod cognito;
pub mod dynamo;
pub mod links;
pub mod notifier;
pub mod ocr;
pub mod s3;
pub mod secrets;
pub mod sqs;
#[cfg(feature = "testing")]
pub mod testing;
pub mod textract;

/// The SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// A random key of 32 hex digits.
pub fn random_key() -> String {
    use rand::{RngCore, SeedableRng};
    let mut b = [0u8; 16];
    rand::rngs::StdRng::from_os_rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// An SDK error's service code and message, for logs and mapping.
pub(crate) fn describe<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> String
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match e.as_service_error() {
        Some(s) => format!(
            "{}: {}",
            s.code().unwrap_or("error"),
            s.message().unwrap_or("")
        ),
        None => format!("{e:?}"),
    }
}
