//! Drive folders and S3 prefixes next to the local folders: the routes in front of the local
//! source for `isoscan scan` and `isoscan serve`, and the options that configure them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
#[cfg(feature = "s3")]
use isoscan_core::result::FileRef;
use isoscan_drive::{is_bare_id, is_drive_link, DriveClient, DriveConfig, DriveSource};
use isoscan_engine::ports::Source;
#[cfg(feature = "s3")]
use isoscan_engine::ports::{ListPage, SourceError};
use isoscan_engine::routing::{Route, RoutedSource};

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
    is_drive_link(location) || (is_bare_id(location) && !Path::new(location).exists())
}

/// `fallback` with Drive and S3 in front of it.
pub async fn sources(args: &RemoteArgs, fallback: Arc<dyn Source>) -> anyhow::Result<RoutedSource> {
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
    Ok(RoutedSource::new(vec![drive, s3().await], fallback))
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

#[cfg(feature = "s3")]
async fn s3() -> Route {
    Route::new(|l| l.starts_with("s3://"), Arc::new(LazyS3::default()))
}

#[cfg(not(feature = "s3"))]
async fn s3() -> Route {
    Route::unavailable(
        |l| l.starts_with("s3://"),
        "this isoscan was built without S3 (the `s3` feature)",
    )
}
