//! Reports and uploads on S3. Reports: `reports/SESSION.xlsx`, downloaded through a presigned
//! GET signed anew for every request. Uploads: `uploads/KEY/meta.json` (owner, purpose) and
//! `uploads/KEY/files/NAME`, put by the browser through a presigned PUT.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use isoscan_core::protocol::UploadPurpose;
use isoscan_engine::ports::*;

pub const REPORT_TTL: Duration = Duration::from_secs(3600);
pub const UPLOAD_TTL: Duration = Duration::from_secs(900);

/// One bucket holding reports and uploads.
#[derive(Clone)]
pub struct Bucket {
    pub client: Client,
    pub name: String,
}

impl Bucket {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        Bucket {
            client,
            name: name.into(),
        }
    }

    /// Creates the bucket (tests, emulators).
    pub async fn create(&self) -> Result<(), String> {
        self.client
            .create_bucket()
            .bucket(&self.name)
            .send()
            .await
            .map_err(|e| crate::describe(&e))?;
        Ok(())
    }

    async fn presign_get(&self, key: &str, ttl: Duration) -> Result<String, String> {
        let cfg = PresigningConfig::expires_in(ttl).map_err(|e| e.to_string())?;
        let r = self
            .client
            .get_object()
            .bucket(&self.name)
            .key(key)
            .presigned(cfg)
            .await
            .map_err(|e| crate::describe(&e))?;
        Ok(r.uri().to_string())
    }

    async fn exists(&self, key: &str) -> Result<bool, String> {
        match self
            .client
            .head_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(crate::describe(&e)),
        }
    }

    /// Keys under a prefix (every page), with their sizes.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>, String> {
        let mut out = vec![];
        let mut token = None;
        loop {
            let r = self
                .client
                .list_objects_v2()
                .bucket(&self.name)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| crate::describe(&e))?;
            for o in r.contents() {
                if let Some(k) = o.key() {
                    out.push((k.to_string(), o.size().unwrap_or(0).max(0) as u64));
                }
            }
            match r.next_continuation_token() {
                Some(t) if r.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    async fn read(&self, key: &str) -> Result<Vec<u8>, String> {
        let r = self
            .client
            .get_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .map_err(|e| crate::describe(&e))?;
        let b = r.body.collect().await.map_err(|e| e.to_string())?;
        Ok(b.into_bytes().to_vec())
    }
}

/// Reports in the bucket.
pub struct S3Reports {
    pub bucket: Bucket,
}

fn report_key(session: &str) -> String {
    format!("reports/{session}.xlsx")
}

#[async_trait]
impl ReportStore for S3Reports {
    fn scratch_dir(&self) -> Option<PathBuf> {
        // Lambda's only writable folder.
        Some(std::env::temp_dir())
    }

    async fn put(&self, session_id: &str, bytes: Vec<u8>) -> Result<String, ReportStoreError> {
        self.bucket
            .client
            .put_object()
            .bucket(&self.bucket.name)
            .key(report_key(session_id))
            .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            .content_disposition("attachment; filename=\"isoscan-report.xlsx\"")
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| ReportStoreError(crate::describe(&e)))?;
        Ok(self.link(session_id).await?.0)
    }

    async fn link(&self, session_id: &str) -> Result<(String, u64), ReportStoreError> {
        let key = report_key(session_id);
        if !self.bucket.exists(&key).await.map_err(ReportStoreError)? {
            return Err(ReportStoreError(format!("no report for {session_id}")));
        }
        let url = self
            .bucket
            .presign_get(&key, REPORT_TTL)
            .await
            .map_err(ReportStoreError)?;
        Ok((url, REPORT_TTL.as_secs()))
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Meta {
    owner: String,
    purpose: UploadPurpose,
}

/// Uploads in the bucket.
pub struct S3Uploads {
    pub bucket: Bucket,
}

fn valid_key(key: &str) -> bool {
    key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit())
}

impl S3Uploads {
    /// The prefix holding an upload's files: what an `upload:KEY` source lists.
    pub fn files_prefix(key: &str) -> String {
        format!("uploads/{key}/files/")
    }

    async fn meta(&self, key: &str) -> Result<Meta, UploadError> {
        if !valid_key(key) {
            return Err(UploadError::NotFound(key.to_string()));
        }
        let bytes = match self.bucket.read(&format!("uploads/{key}/meta.json")).await {
            Ok(b) => b,
            Err(e) if e.contains("NoSuchKey") => {
                return Err(UploadError::NotFound(key.to_string()))
            }
            Err(e) => return Err(UploadError::Unavailable(e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| UploadError::Unavailable(e.to_string()))
    }

    async fn owned(&self, owner: &str, key: &str) -> Result<Meta, UploadError> {
        let m = self.meta(key).await?;
        if m.owner != owner {
            return Err(UploadError::Forbidden(key.to_string()));
        }
        Ok(m)
    }

    async fn files(&self, key: &str) -> Result<Vec<(String, u64)>, UploadError> {
        self.bucket
            .list(&Self::files_prefix(key))
            .await
            .map_err(UploadError::Unavailable)
    }
}

#[async_trait]
impl Uploads for S3Uploads {
    async fn create(
        &self,
        owner: &str,
        file_name: &str,
        size: u64,
        purpose: UploadPurpose,
        key: Option<&str>,
    ) -> Result<UploadTicket, UploadError> {
        let key = match key {
            Some(k) => {
                let m = self.owned(owner, k).await?;
                if m.purpose != UploadPurpose::Drawings || purpose != UploadPurpose::Drawings {
                    return Err(UploadError::Invalid(
                        "only drawings may be added to an earlier upload".into(),
                    ));
                }
                k.to_string()
            }
            None => {
                let k = crate::random_key();
                let meta = serde_json::to_vec(&Meta {
                    owner: owner.to_string(),
                    purpose,
                })
                .map_err(|e| UploadError::Unavailable(e.to_string()))?;
                self.bucket
                    .client
                    .put_object()
                    .bucket(&self.bucket.name)
                    .key(format!("uploads/{k}/meta.json"))
                    .body(ByteStream::from(meta))
                    .send()
                    .await
                    .map_err(|e| UploadError::Unavailable(crate::describe(&e)))?;
                k
            }
        };
        let name = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
        let cfg = PresigningConfig::expires_in(UPLOAD_TTL)
            .map_err(|e| UploadError::Unavailable(e.to_string()))?;
        let req = self
            .bucket
            .client
            .put_object()
            .bucket(&self.bucket.name)
            .key(format!("{}{name}", Self::files_prefix(&key)))
            .content_length(size as i64)
            .presigned(cfg)
            .await
            .map_err(|e| UploadError::Unavailable(crate::describe(&e)))?;
        Ok(UploadTicket {
            url: req.uri().to_string(),
            key,
            expires_in: UPLOAD_TTL.as_secs(),
        })
    }

    async fn read(
        &self,
        owner: &str,
        key: &str,
        max_bytes: u64,
    ) -> Result<(String, Vec<u8>), UploadError> {
        let m = self.owned(owner, key).await?;
        if m.purpose != UploadPurpose::Targets {
            return Err(UploadError::Invalid(format!(
                "{key} is an upload of drawings, not a code list"
            )));
        }
        let files = self.files(key).await?;
        let (k, size) = files.first().ok_or_else(|| {
            UploadError::NotFound(format!("{key}: the code list has not arrived"))
        })?;
        if *size > max_bytes {
            return Err(UploadError::Invalid(format!(
                "the code list is over {max_bytes} bytes"
            )));
        }
        let bytes = self
            .bucket
            .read(k)
            .await
            .map_err(UploadError::Unavailable)?;
        let name = k.rsplit('/').next().unwrap_or(k).to_string();
        Ok((name, bytes))
    }

    async fn check(&self, owner: &str, key: &str) -> Result<(), UploadError> {
        let m = self.owned(owner, key).await?;
        if m.purpose != UploadPurpose::Drawings {
            return Err(UploadError::Invalid(format!(
                "{key} is a code list, not drawings"
            )));
        }
        if self.files(key).await?.is_empty() {
            return Err(UploadError::NotFound(format!(
                "{key}: no drawing has arrived"
            )));
        }
        Ok(())
    }
}
