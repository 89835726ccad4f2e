//! Reports and uploads on S3. Reports: `reports/SESSION.xlsx`, downloaded through a presigned
//! GET signed anew for every request. Uploads: `uploads/KEY/meta.json` (owner, purpose) and
//! `uploads/KEY/files/NAME`, put by the browser through a presigned PUT.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use isoscan_core::location::Location;
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

impl S3Reports {
    /// Stores a session's workbook and links it.
    async fn upload(&self, session_id: &str, body: ByteStream) -> Result<String, ReportStoreError> {
        self.bucket
            .client
            .put_object()
            .bucket(&self.bucket.name)
            .key(report_key(session_id))
            .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            .content_disposition("attachment; filename=\"isoscan-report.xlsx\"")
            .body(body)
            .send()
            .await
            .map_err(|e| ReportStoreError(crate::describe(&e)))?;
        Ok(self.link(session_id).await?.0)
    }
}

/// A report written to a temporary file (Lambda's only writable folder) and streamed to the
/// bucket on `store`: the workbook is never in memory whole.
struct S3ReportWriter {
    reports: S3Reports,
    session: String,
    file: std::io::BufWriter<tempfile::NamedTempFile>,
}

impl std::io::Write for S3ReportWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl std::io::Seek for S3ReportWriter {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.file.seek(pos)
    }
}

#[async_trait]
impl ReportWriter for S3ReportWriter {
    async fn store(self: Box<Self>) -> Result<String, ReportStoreError> {
        let S3ReportWriter {
            reports,
            session,
            file,
        } = *self;
        let file = file
            .into_inner()
            .map_err(|e| ReportStoreError(format!("cannot write the report: {}", e.error())))?;
        let body = ByteStream::from_path(file.path())
            .await
            .map_err(|e| ReportStoreError(format!("cannot read the report: {e}")))?;
        // `file` lives until the upload has read it, and is removed when dropped.
        let url = reports.upload(&session, body).await;
        drop(file);
        url
    }
}

#[async_trait]
impl ReportStore for S3Reports {
    fn scratch_dir(&self) -> Option<PathBuf> {
        // Lambda's only writable folder.
        Some(std::env::temp_dir())
    }

    async fn writer(&self, session_id: &str) -> Result<Box<dyn ReportWriter>, ReportStoreError> {
        let file = tempfile::Builder::new()
            .prefix("isoscan-report-")
            .suffix(".xlsx")
            .tempfile()
            .map_err(|e| ReportStoreError(format!("cannot write the report: {e}")))?;
        Ok(Box::new(S3ReportWriter {
            reports: S3Reports {
                bucket: self.bucket.clone(),
            },
            session: session_id.to_string(),
            file: std::io::BufWriter::new(file),
        }))
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

/// Uploads in the bucket, under a folder of their owner's: `uploads/OWNER/ID/meta.json` and
/// `uploads/OWNER/ID/files/NAME`, where OWNER is the first 16 hex digits of the SHA-256 of the
/// principal's name, and the upload's key is OWNER followed by ID (32 random hex digits). (Keys
/// of 32 digits, made before uploads had an owner's folder, are `uploads/KEY/`.) What may be
/// uploaded is the engine's policy.
pub struct S3Uploads {
    pub bucket: Bucket,
}

fn valid_key(key: &str) -> bool {
    (key.len() == 32 || key.len() == 48) && key.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The folder of `owner`'s uploads, below `uploads/`.
pub fn owner_folder(owner: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(owner.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `uploads/OWNER/ID` of a key (see [`S3Uploads`]).
fn upload_dir(key: &str) -> String {
    match key.split_at_checked(16) {
        Some((owner, id)) if key.len() == 48 => format!("uploads/{owner}/{id}"),
        _ => format!("uploads/{key}"),
    }
}

/// A file name without a folder, that is not hidden.
fn plain(name: &str) -> bool {
    !name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.')
}

impl S3Uploads {
    /// The prefix holding an upload's files: what an `upload:KEY` source lists.
    pub fn files_prefix(key: &str) -> String {
        format!("{}/files/", upload_dir(key))
    }
}

#[async_trait]
impl UploadStore for S3Uploads {
    async fn create(&self, meta: &UploadMeta) -> Result<String, UploadError> {
        let k = format!("{}{}", owner_folder(&meta.owner), crate::random_key());
        let meta = serde_json::to_vec(meta).map_err(|e| UploadError::Unavailable(e.to_string()))?;
        self.bucket
            .client
            .put_object()
            .bucket(&self.bucket.name)
            .key(format!("{}/meta.json", upload_dir(&k)))
            .body(ByteStream::from(meta))
            .send()
            .await
            .map_err(|e| UploadError::Unavailable(crate::describe(&e)))?;
        Ok(k)
    }

    async fn meta(&self, key: &str) -> Result<UploadMeta, UploadError> {
        if !valid_key(key) {
            return Err(UploadError::NotFound(key.to_string()));
        }
        let bytes = match self
            .bucket
            .read(&format!("{}/meta.json", upload_dir(key)))
            .await
        {
            Ok(b) => b,
            Err(e) if e.contains("NoSuchKey") => {
                return Err(UploadError::NotFound(key.to_string()))
            }
            Err(e) => return Err(UploadError::Unavailable(e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| UploadError::Unavailable(e.to_string()))
    }

    async fn ticket(&self, key: &str, name: &str, size: u64) -> Result<UploadTicket, UploadError> {
        self.meta(key).await?;
        if !plain(name) {
            return Err(UploadError::Invalid(format!(
                "{name}: not a plain file name"
            )));
        }
        let cfg = PresigningConfig::expires_in(UPLOAD_TTL)
            .map_err(|e| UploadError::Unavailable(e.to_string()))?;
        let req = self
            .bucket
            .client
            .put_object()
            .bucket(&self.bucket.name)
            .key(format!("{}{name}", Self::files_prefix(key)))
            .content_length(size as i64)
            .presigned(cfg)
            .await
            .map_err(|e| UploadError::Unavailable(crate::describe(&e)))?;
        Ok(UploadTicket {
            url: req.uri().to_string(),
            key: key.to_string(),
            expires_in: UPLOAD_TTL.as_secs(),
        })
    }

    async fn files(&self, key: &str) -> Result<Vec<(String, u64)>, UploadError> {
        if !valid_key(key) {
            return Err(UploadError::NotFound(key.to_string()));
        }
        let prefix = Self::files_prefix(key);
        let mut files: Vec<(String, u64)> = self
            .bucket
            .list(&prefix)
            .await
            .map_err(UploadError::Unavailable)?
            .into_iter()
            .map(|(k, size)| (k.strip_prefix(&prefix).unwrap_or(&k).to_string(), size))
            .collect();
        files.sort();
        Ok(files)
    }

    async fn read(&self, key: &str, name: &str) -> Result<Vec<u8>, UploadError> {
        if !valid_key(key) || !plain(name) {
            return Err(UploadError::NotFound(format!("{key}/{name}")));
        }
        match self
            .bucket
            .read(&format!("{}{name}", Self::files_prefix(key)))
            .await
        {
            Ok(b) => Ok(b),
            Err(e) if e.contains("NoSuchKey") => {
                Err(UploadError::NotFound(format!("{key}/{name}")))
            }
            Err(e) => Err(UploadError::Unavailable(e)),
        }
    }

    async fn usage(&self, _owner: &str) -> Result<Option<UploadUsage>, UploadError> {
        // Telling would take reading every upload's record: S3 keeps no index by owner.
        Ok(None)
    }
}

/// Drawings under an S3 prefix: `s3://bucket/prefix`, or `upload:KEY` (the deployment's own
/// uploads). One listing page per job (the continuation token is the cursor); paths are the
/// keys below the prefix; links are presigned GETs.
pub struct S3Source {
    /// Builds clients for other buckets; the uploads live in `uploads`.
    pub client: Client,
    /// The deployment's uploads (`upload:KEY`); none for the command line.
    pub uploads: Option<S3Uploads>,
    /// How long a presigned link works (the command line's links).
    pub link_ttl: Duration,
    /// Stable links, checked by the deployment's link function, instead of presigned ones
    /// (which die with the temporary credentials that signed them).
    pub signer: Option<std::sync::Arc<crate::links::LinkSigner>>,
}

fn is_drawing(key: &str) -> bool {
    isoscan_core::result::is_drawing_name(key)
}

impl S3Source {
    /// A link to one object: a stable link when there is a signer, else a GET presigned for
    /// `link_ttl`.
    async fn presign(&self, bucket: &str, key: &str) -> Option<String> {
        if let Some(signer) = &self.signer {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            return Some(signer.link(bucket, key, now));
        }
        let cfg = PresigningConfig::expires_in(self.link_ttl).ok()?;
        self.client
            .get_object()
            .bucket(bucket)
            .key(key)
            .presigned(cfg)
            .await
            .map(|p| p.uri().to_string())
            .ok()
    }

    /// (bucket, prefix) of a location this source reads.
    fn resolve(&self, location: &str) -> Result<(String, String), SourceError> {
        match Location::parse(location) {
            Ok(Location::Upload { key }) => {
                if !valid_key(&key) {
                    return Err(SourceError::Invalid(format!(
                        "{location}: not an upload key"
                    )));
                }
                let uploads = self.uploads.as_ref().ok_or_else(|| {
                    SourceError::Invalid(format!("{location}: uploads are not kept in S3 here"))
                })?;
                Ok((uploads.bucket.name.clone(), S3Uploads::files_prefix(&key)))
            }
            Ok(Location::S3 { bucket, prefix }) => Ok((bucket, prefix)),
            Err(e) => Err(SourceError::Invalid(e.to_string())),
            Ok(_) => Err(SourceError::Invalid(format!(
                "{location}: give s3://bucket/prefix or an upload; this deployment does not read folders of a machine"
            ))),
        }
    }

    fn map_err<E, R>(location: &str, e: aws_sdk_s3::error::SdkError<E, R>) -> SourceError
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug,
        R: std::fmt::Debug,
    {
        let code = e
            .as_service_error()
            .and_then(|s| s.code())
            .unwrap_or("")
            .to_string();
        match code.as_str() {
            "NoSuchBucket" | "NoSuchKey" | "NotFound" => {
                SourceError::NotFound(location.to_string())
            }
            "AccessDenied" | "Forbidden" => SourceError::Forbidden(location.to_string()),
            "SlowDown" | "ServiceUnavailable" | "InternalError" | "RequestTimeout" | "" => {
                SourceError::Transient(crate::describe(&e))
            }
            _ => SourceError::Invalid(format!("{location}: {}", crate::describe(&e))),
        }
    }
}

#[async_trait]
impl Source for S3Source {
    async fn check(&self, location: &str) -> Result<(), SourceError> {
        let (bucket, prefix) = self.resolve(location)?;
        self.client
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(&prefix)
            .max_keys(1)
            .send()
            .await
            .map_err(|e| Self::map_err(location, e))?;
        Ok(())
    }

    async fn list(&self, location: &str, cursor: Option<&str>) -> Result<ListPage, SourceError> {
        let (bucket, prefix) = self.resolve(location)?;
        let r = self
            .client
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(&prefix)
            .set_continuation_token(cursor.map(str::to_string))
            .send()
            .await
            .map_err(|e| Self::map_err(location, e))?;
        let mut page = ListPage::default();
        for o in r.contents() {
            let Some(key) = o.key() else { continue };
            let path = key.strip_prefix(&prefix).unwrap_or(key).to_string();
            if path.is_empty() || key.ends_with('/') {
                continue;
            }
            if !is_drawing(&path) {
                page.skipped.push(path);
                continue;
            }
            let link = self.presign(&bucket, key).await.unwrap_or_default();
            page.files.push(isoscan_core::result::FileRef {
                id: None,
                path,
                size: o.size().map(|s| s.max(0) as u64),
                link,
            });
        }
        page.next = match r.next_continuation_token() {
            Some(t) if r.is_truncated() == Some(true) => Some(t.to_string()),
            _ => None,
        };
        Ok(page)
    }

    async fn relink(&self, location: &str, file: &isoscan_core::result::FileRef) -> Option<String> {
        let (bucket, prefix) = self.resolve(location).ok()?;
        self.presign(&bucket, &format!("{prefix}{}", file.path))
            .await
    }

    async fn fetch(
        &self,
        location: &str,
        file: &isoscan_core::result::FileRef,
        max_bytes: u64,
    ) -> Result<Vec<u8>, SourceError> {
        let (bucket, prefix) = self.resolve(location)?;
        if file.size.is_some_and(|s| s > max_bytes) {
            return Err(SourceError::File(format!(
                "the file is larger than {} MiB",
                max_bytes >> 20
            )));
        }
        let r = self
            .client
            .get_object()
            .bucket(&bucket)
            .key(format!("{prefix}{}", file.path))
            .send()
            .await
            .map_err(|e| match Self::map_err(location, e) {
                SourceError::NotFound(_) => SourceError::File("the file is gone".into()),
                other => other,
            })?;
        // Sized once from the object's length: a vector grown by doubling would hold up to
        // twice the file for a moment.
        let announced = r.content_length().and_then(|l| u64::try_from(l).ok());
        if announced.is_some_and(|l| l > max_bytes) {
            return Err(SourceError::File(format!(
                "the file is larger than {} MiB",
                max_bytes >> 20
            )));
        }
        let mut body = r.body;
        let mut out = Vec::with_capacity(announced.unwrap_or(0) as usize);
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| SourceError::Transient(e.to_string()))?
        {
            out.extend_from_slice(&chunk);
            if out.len() as u64 > max_bytes {
                return Err(SourceError::File(format!(
                    "the file is larger than {} MiB",
                    max_bytes >> 20
                )));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    #[test]
    fn each_owner_has_a_folder_of_uploads() {
        let alice = owner_folder("alice");
        assert_eq!(alice.len(), 16);
        assert_ne!(alice, owner_folder("bob"));
        let key = format!("{alice}{}", "0".repeat(32));
        assert!(valid_key(&key));
        assert_eq!(
            S3Uploads::files_prefix(&key),
            format!("uploads/{alice}/{}/files/", "0".repeat(32))
        );
        // Keys made before owners had a folder keep their place.
        let old = "a".repeat(32);
        assert_eq!(
            S3Uploads::files_prefix(&old),
            format!("uploads/{old}/files/")
        );
        assert!(!valid_key(&"a".repeat(40)));
        assert!(!valid_key(&format!("{alice}/{}", "0".repeat(31))));
    }
}
