//! Drive folders and S3 prefixes next to the local folders: the routes in front of the local
//! source for `isoscan scan` and `isoscan serve`, and the options that configure them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use isoscan_core::location::{Location, LocationError};
use isoscan_core::result::FileRef;
use isoscan_drive::{DriveClient, DriveConfig, DriveSource};
use isoscan_engine::ports::{ListPage, Source, SourceError};
use isoscan_engine::routing::{Fenced, Route, RoutedSource};

/// How Drive is reached (`scan` and `serve` alike).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RemoteArgs {
    /// A Google service account key (JSON) for Drive links; GOOGLE_APPLICATION_CREDENTIALS
    /// otherwise. Share the Drive folder with the key's client_email.
    #[arg(long, value_name = "KEY.json")]
    pub drive_credentials: Option<PathBuf>,
    /// With domain-wide delegation: the user the service account acts as.
    #[arg(long, value_name = "EMAIL")]
    pub drive_subject: Option<String>,
}

/// Whether a location is a Drive item: a Drive link, or a bare ID that is not a local path.
pub fn is_drive_location(location: &str) -> bool {
    match Location::parse(location) {
        Ok(Location::Drive(_)) => true,
        Ok(Location::BareId(id)) => !Path::new(&id).exists(),
        _ => false,
    }
}

/// Which remote locations a server's clients may scan: none unless its operator names them.
/// (`isoscan scan` has no such limit: its user is the operator.)
pub use isoscan_engine::routing::Allowed;

/// `fallback` with Drive and S3 in front of it; with `allowed`, only the remote locations it
/// names (a server), else any the credentials reach (the command line).
pub async fn sources(
    args: &RemoteArgs,
    fallback: Arc<dyn Source>,
    allowed: Option<&Allowed>,
) -> anyhow::Result<RoutedSource> {
    let s3 = match (s3_source(), allowed) {
        (Err(why), _) => Route::unavailable(is_s3, why),
        (Ok(inner), None) => Route::new(is_s3, inner),
        (Ok(inner), Some(a)) => Route::new(
            is_s3,
            Arc::new(Fenced::new(
                inner,
                a.clone(),
                "this server reads only the S3 locations its operator allowed (isoscan serve \
                 --allow-s3 s3://bucket/prefix)",
            )),
        ),
    };
    if allowed.is_some_and(|a| !a.drive) {
        let drive = Route::unavailable(
            is_drive_location,
            "this server reads no Drive folders: its operator can allow them with isoscan serve \
             --allow-drive",
        );
        return Ok(RoutedSource::new(vec![drive, s3], fallback));
    }
    let drive = match DriveConfig::from_env(
        args.drive_credentials.as_deref(),
        args.drive_subject.clone(),
    )
    .context("Drive credentials")?
    {
        Some(config) => {
            let client = DriveClient::new(config)
                .await
                .context("Drive credentials")?;
            Route::new(is_drive_location, Arc::new(DriveSource::new(client)))
        }
        None => Route::unavailable(
            is_drive_location,
            "Drive links need a Google service account key: pass --drive-credentials KEY.json \
             (or set GOOGLE_APPLICATION_CREDENTIALS), and share the folder with the key's \
             client_email",
        ),
    };
    Ok(RoutedSource::new(vec![drive, s3], fallback))
}

/// S3, with the SDK configured on the first `s3://` location only: a scan of a local folder
/// never looks for AWS credentials or a region.
#[cfg(feature = "s3")]
#[derive(Default)]
struct LazyS3 {
    source: tokio::sync::OnceCell<isoscan_aws::s3::S3Source>,
}

#[cfg(feature = "s3")]
impl LazyS3 {
    async fn get(&self) -> &isoscan_aws::s3::S3Source {
        self.source
            .get_or_init(|| async {
                let sdk = isoscan_aws::sdk_config().await;
                let client = aws_sdk_s3::Client::from_conf(
                    aws_sdk_s3::config::Builder::from(&sdk)
                        .force_path_style(
                            std::env::var("AWS_S3_FORCE_PATH_STYLE").is_ok_and(|v| v == "true"),
                        )
                        .build(),
                );
                isoscan_aws::s3::S3Source {
                    client,
                    uploads: None,
                    link_ttl: std::time::Duration::from_secs(7 * 24 * 3600),
                    signer: None,
                }
            })
            .await
    }
}

#[cfg(feature = "s3")]
#[async_trait::async_trait]
impl Source for LazyS3 {
    async fn check(&self, location: &str) -> Result<(), SourceError> {
        self.get().await.check(location).await
    }

    async fn list(&self, location: &str, cursor: Option<&str>) -> Result<ListPage, SourceError> {
        self.get().await.list(location, cursor).await
    }

    async fn fetch(
        &self,
        location: &str,
        file: &FileRef,
        max_bytes: u64,
    ) -> Result<Vec<u8>, SourceError> {
        self.get().await.fetch(location, file, max_bytes).await
    }

    async fn relink(&self, location: &str, file: &FileRef) -> Option<String> {
        self.get().await.relink(location, file).await
    }
}

/// The S3 source, or why this build has none.
#[cfg(feature = "s3")]
fn s3_source() -> Result<Arc<dyn Source>, &'static str> {
    Ok(Arc::new(LazyS3::default()))
}

#[cfg(not(feature = "s3"))]
fn s3_source() -> Result<Arc<dyn Source>, &'static str> {
    Err("this isoscan was built without S3 (the `s3` feature)")
}

fn is_s3(location: &str) -> bool {
    // A malformed S3 location is still S3's to refuse, with S3's message.
    matches!(
        Location::parse(location),
        Ok(Location::S3 { .. }) | Err(LocationError::NoBucket(_) | LocationError::S3Path(_))
    )
}
