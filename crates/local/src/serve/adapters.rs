//! The server's adapters: sources (folders under the roots and uploads), uploads kept in the
//! data folder, reports in the data folder, all handing out signed links to this server.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use isoscan_core::location::{Location, LocationError};
use isoscan_core::protocol::UploadPurpose;
use isoscan_core::result::FileRef;
use isoscan_engine::ports::*;

use super::auth::{encode, hex, random_bytes, write_private, Signer};
use crate::source::LocalSource;

/// How long an upload URL and a report link live, in seconds.
pub const UPLOAD_TTL_S: u64 = 900;
pub const REPORT_TTL_S: u64 = 3600;

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Builds and checks this server's signed URLs.
#[derive(Clone)]
pub struct Links {
    /// `http://host:port`, without a trailing slash.
    pub base: String,
    pub signer: Signer,
}

impl Links {
    pub fn report(&self, session: &str, exp: u64) -> String {
        let sig = self.signer.sign(&format!("report|{session}|{exp}"));
        format!(
            "{}/reports/{}.xlsx?exp={exp}&sig={sig}",
            self.base,
            encode(session)
        )
    }

    pub fn check_report(&self, session: &str, exp: u64, sig: &str) -> bool {
        exp >= unix_now() && self.signer.verify(&format!("report|{session}|{exp}"), sig)
    }

    pub fn upload(&self, key: &str, name: &str, size: u64, exp: u64) -> String {
        let sig = self
            .signer
            .sign(&format!("upload|{key}|{name}|{size}|{exp}"));
        format!(
            "{}/uploads/{key}/{}?size={size}&exp={exp}&sig={sig}",
            self.base,
            encode(name)
        )
    }

    pub fn check_upload(&self, key: &str, name: &str, size: u64, exp: u64, sig: &str) -> bool {
        exp >= unix_now()
            && self
                .signer
                .verify(&format!("upload|{key}|{name}|{size}|{exp}"), sig)
    }

    /// A drawing's link: a capability for that one file of that one source (no expiry, so
    /// the links in a report keep working).
    pub fn drawing(&self, source: &str, path: &str) -> String {
        let sig = self.signer.sign(&format!("drawing|{source}|{path}"));
        format!(
            "{}/drawings?src={}&path={}&sig={sig}",
            self.base,
            encode(source),
            encode(path)
        )
    }

    pub fn check_drawing(&self, source: &str, path: &str, sig: &str) -> bool {
        self.signer.verify(&format!("drawing|{source}|{path}"), sig)
    }
}

/// Folders under the roots, and `upload:KEY` locations in the data folder; every listed file's
/// link points at this server.
pub struct ServeSource {
    folders: LocalSource,
    uploads: LocalSource,
    uploads_dir: PathBuf,
    links: Links,
}

impl ServeSource {
    /// Folders under `roots`, never the data folder `data` (uploads are reached by key).
    pub fn new(roots: Vec<PathBuf>, data: PathBuf, uploads_dir: PathBuf, links: Links) -> Self {
        ServeSource {
            folders: LocalSource::new(Some(roots)).excluding(vec![data]),
            uploads: LocalSource::new(Some(vec![uploads_dir.clone()])),
            uploads_dir,
            links,
        }
    }

    /// The inner source and the location it understands.
    fn route(&self, location: &str) -> Result<(&LocalSource, String), SourceError> {
        match Location::parse(location) {
            Ok(Location::Upload { key }) => {
                let dir = upload_files(&self.uploads_dir, &key).ok_or_else(|| {
                    SourceError::Invalid(format!("{location}: not an upload key"))
                })?;
                // One archive uploaded alone is scanned as the archive; anything else as a folder.
                let entries: Vec<PathBuf> = std::fs::read_dir(&dir)
                    .map_err(|_| {
                        SourceError::NotFound(format!("{location}: nothing was uploaded"))
                    })?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| !is_partial(p))
                    .collect();
                let target = match entries.as_slice() {
                    [one]
                        if one
                            .extension()
                            .is_some_and(|e| e.eq_ignore_ascii_case("zip")) =>
                    {
                        one.clone()
                    }
                    _ => dir,
                };
                Ok((&self.uploads, target.to_string_lossy().into_owned()))
            }
            Err(LocationError::UploadKey(_)) => Err(SourceError::Invalid(format!(
                "{location}: not an upload key"
            ))),
            _ => {
                if location.contains("://") && !location.starts_with("file://") {
                    return Err(SourceError::Invalid(format!(
                        "{location}: this server reads folders under its roots, uploads, Drive links and \
                         s3://bucket/prefix"
                    )));
                }
                Ok((&self.folders, location.to_string()))
            }
        }
    }

    fn relink(&self, location: &str, f: &mut FileRef) {
        f.link = self.links.drawing(location, &f.path);
    }

    /// A drawing's bytes for the link route.
    pub async fn open(&self, location: &str, path: &str, max: u64) -> Result<Vec<u8>, SourceError> {
        let file = FileRef {
            id: None,
            path: path.to_string(),
            size: None,
            link: String::new(),
        };
        self.fetch(location, &file, max).await
    }
}

fn is_partial(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "part")
}

/// The folder of an upload's files, when `key` is a well-formed key.
fn upload_files(dir: &Path, key: &str) -> Option<PathBuf> {
    if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(dir.join(key).join("files"))
}

#[async_trait]
impl Source for ServeSource {
    async fn check(&self, location: &str) -> Result<(), SourceError> {
        let (src, loc) = self.route(location)?;
        src.check(&loc).await
    }

    async fn list(&self, location: &str, cursor: Option<&str>) -> Result<ListPage, SourceError> {
        let (src, loc) = self.route(location)?;
        let mut page = src.list(&loc, cursor).await?;
        for f in &mut page.files {
            self.relink(location, f);
        }
        for (f, _) in &mut page.errors {
            self.relink(location, f);
        }
        Ok(page)
    }

    async fn fetch(
        &self,
        location: &str,
        file: &FileRef,
        max_bytes: u64,
    ) -> Result<Vec<u8>, SourceError> {
        let (src, loc) = self.route(location)?;
        src.fetch(&loc, file, max_bytes).await
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct UploadMeta {
    owner: String,
    purpose: UploadPurpose,
    /// The size the first file was announced with (uploads made before it was kept: 0).
    #[serde(default)]
    announced: u64,
}

/// What one user may keep in uploads.
#[derive(Debug, Clone)]
pub struct UploadQuota {
    /// Uploads asked for whose file has not arrived (expired ones are removed).
    pub pending: usize,
    /// Bytes of every upload, those announced and not yet arrived included.
    pub bytes: u64,
}

/// Uploads in `DATA/uploads/KEY/`: `meta.json` (owner, purpose) and `files/`, readable by this
/// user only (folders 0700, files 0600).
pub struct FolderUploads {
    pub dir: PathBuf,
    pub links: Links,
    quota: UploadQuota,
    /// Held while an upload is counted and created, so two requests cannot both pass.
    creating: std::sync::Mutex<()>,
}

impl Default for UploadQuota {
    fn default() -> Self {
        UploadQuota {
            pending: 20,
            bytes: 20 << 30,
        }
    }
}

impl FolderUploads {
    pub fn new(dir: PathBuf, links: Links, quota: UploadQuota) -> FolderUploads {
        FolderUploads {
            dir,
            links,
            quota,
            creating: std::sync::Mutex::new(()),
        }
    }
}

/// Creates `dir` and the folders above it that are missing, each readable by this user only.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// One user's uploads as they are now.
#[derive(Default)]
struct Usage {
    pending: usize,
    bytes: u64,
}

impl FolderUploads {
    fn meta(&self, key: &str) -> Result<UploadMeta, UploadError> {
        if upload_files(&self.dir, key).is_none() {
            return Err(UploadError::NotFound(key.to_string()));
        }
        let text = std::fs::read(self.dir.join(key).join("meta.json"))
            .map_err(|_| UploadError::NotFound(key.to_string()))?;
        serde_json::from_slice(&text).map_err(|e| UploadError::Unavailable(e.to_string()))
    }

    fn owned(&self, owner: &str, key: &str) -> Result<UploadMeta, UploadError> {
        let m = self.meta(key)?;
        if m.owner != owner {
            return Err(UploadError::Forbidden(key.to_string()));
        }
        Ok(m)
    }

    /// Where a PUT to an upload URL writes: checks the key exists and the name is plain.
    pub fn destination(&self, key: &str, name: &str) -> Result<PathBuf, UploadError> {
        self.meta(key)?;
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(UploadError::Invalid(format!(
                "{name}: not a plain file name"
            )));
        }
        let files =
            upload_files(&self.dir, key).ok_or_else(|| UploadError::NotFound(key.into()))?;
        Ok(files.join(name))
    }

    /// What `owner` keeps in uploads; uploads whose link expired before anything arrived are
    /// removed on the way.
    fn usage(&self, owner: &str) -> Usage {
        let mut u = Usage::default();
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return u;
        };
        for e in rd.filter_map(|e| e.ok()) {
            let key = e.file_name().to_string_lossy().into_owned();
            let Ok(meta) = self.meta(&key) else { continue };
            if meta.owner != owner {
                continue;
            }
            let files = self.files(&key).unwrap_or_default();
            let stored: u64 = files
                .iter()
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum();
            if files.is_empty() {
                let age = std::fs::metadata(e.path().join("meta.json"))
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .map_or(0, |d| d.as_secs());
                // A file still arriving (`.part`) keeps its upload, however old the link.
                let arriving =
                    std::fs::read_dir(e.path().join("files")).is_ok_and(|mut d| d.next().is_some());
                if age > UPLOAD_TTL_S && !arriving {
                    let _ = std::fs::remove_dir_all(e.path());
                    continue;
                }
                u.pending += 1;
                u.bytes += meta.announced;
            } else {
                u.bytes += stored;
            }
        }
        u
    }

    fn files(&self, key: &str) -> Result<Vec<PathBuf>, UploadError> {
        let dir = upload_files(&self.dir, key).ok_or_else(|| UploadError::NotFound(key.into()))?;
        let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| UploadError::Unavailable(e.to_string()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| !is_partial(p))
            .collect();
        v.sort();
        Ok(v)
    }
}

#[async_trait]
impl Uploads for FolderUploads {
    async fn create(
        &self,
        owner: &str,
        file_name: &str,
        size: u64,
        purpose: UploadPurpose,
        key: Option<&str>,
    ) -> Result<UploadTicket, UploadError> {
        let _one = self
            .creating
            .lock()
            .map_err(|_| UploadError::Unavailable("lock poisoned".into()))?;
        let usage = self.usage(owner);
        if key.is_none() && usage.pending >= self.quota.pending {
            return Err(UploadError::Quota(format!(
                "you have {} uploads waiting for their file; at most {} may wait: send those files, or wait {} minutes for their links to expire",
                usage.pending,
                self.quota.pending,
                UPLOAD_TTL_S / 60
            )));
        }
        if usage.bytes.saturating_add(size) > self.quota.bytes {
            return Err(UploadError::Quota(format!(
                "your uploads would take {} MiB; at most {} MiB are kept for one user",
                (usage.bytes.saturating_add(size)) >> 20,
                self.quota.bytes >> 20
            )));
        }
        let key = match key {
            Some(k) => {
                let m = self.owned(owner, k)?;
                if m.purpose != UploadPurpose::Drawings || purpose != UploadPurpose::Drawings {
                    return Err(UploadError::Invalid(
                        "only drawings may be added to an earlier upload".into(),
                    ));
                }
                k.to_string()
            }
            None => {
                let k = hex(&random_bytes::<16>());
                let dir = self.dir.join(&k);
                private_dir(&dir.join("files"))
                    .map_err(|e| UploadError::Unavailable(e.to_string()))?;
                let meta = serde_json::to_vec(&UploadMeta {
                    owner: owner.to_string(),
                    purpose,
                    announced: size,
                })
                .map_err(|e| UploadError::Unavailable(e.to_string()))?;
                write_private(&dir.join("meta.json"), &meta)
                    .map_err(|e| UploadError::Unavailable(e.to_string()))?;
                k
            }
        };
        let exp = unix_now() + UPLOAD_TTL_S;
        Ok(UploadTicket {
            url: self.links.upload(&key, file_name, size, exp),
            key,
            expires_in: UPLOAD_TTL_S,
        })
    }

    async fn read(
        &self,
        owner: &str,
        key: &str,
        max_bytes: u64,
    ) -> Result<(String, Vec<u8>), UploadError> {
        let m = self.owned(owner, key)?;
        if m.purpose != UploadPurpose::Targets {
            return Err(UploadError::Invalid(format!(
                "{key} is an upload of drawings, not a code list"
            )));
        }
        let files = self.files(key)?;
        let first = files.first().ok_or_else(|| {
            UploadError::NotFound(format!("{key}: the code list has not arrived"))
        })?;
        let len = std::fs::metadata(first)
            .map_err(|e| UploadError::Unavailable(e.to_string()))?
            .len();
        if len > max_bytes {
            return Err(UploadError::Invalid(format!(
                "the code list is over {max_bytes} bytes"
            )));
        }
        let bytes = std::fs::read(first).map_err(|e| UploadError::Unavailable(e.to_string()))?;
        let name = first
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok((name, bytes))
    }

    async fn check(&self, owner: &str, key: &str) -> Result<(), UploadError> {
        let m = self.owned(owner, key)?;
        if m.purpose != UploadPurpose::Drawings {
            return Err(UploadError::Invalid(format!(
                "{key} is a code list, not drawings"
            )));
        }
        if self.files(key)?.is_empty() {
            return Err(UploadError::NotFound(format!(
                "{key}: no drawing has arrived"
            )));
        }
        Ok(())
    }
}

/// Reports in `DATA/reports/SESSION.xlsx`, downloaded through signed links.
pub struct ReportFolder {
    pub dir: PathBuf,
    pub links: Links,
}

impl ReportFolder {
    pub fn path(&self, session: &str) -> Option<PathBuf> {
        // Session ids are made by the clock port: letters, digits and dashes.
        if session.is_empty()
            || !session
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return None;
        }
        Some(self.dir.join(format!("{session}.xlsx")))
    }
}

#[async_trait]
impl ReportStore for ReportFolder {
    fn scratch_dir(&self) -> Option<PathBuf> {
        // The report writer spills here before the report is stored.
        let _ = private_dir(&self.dir);
        Some(self.dir.clone())
    }

    async fn writer(&self, session_id: &str) -> Result<Box<dyn ReportWriter>, ReportStoreError> {
        let path = self
            .path(session_id)
            .ok_or_else(|| ReportStoreError(format!("bad session id {session_id}")))?;
        private_dir(&self.dir)
            .map_err(|e| ReportStoreError(format!("cannot write the report: {e}")))?;
        let url = self.links.report(session_id, unix_now() + REPORT_TTL_S);
        let part = crate::cli::PartFile::create(path, url, 0o600)
            .map_err(|e| ReportStoreError(format!("cannot write the report: {e}")))?;
        Ok(Box::new(part))
    }

    async fn link(&self, session_id: &str) -> Result<(String, u64), ReportStoreError> {
        let exists = self.path(session_id).is_some_and(|p| p.is_file());
        if !exists {
            return Err(ReportStoreError(format!("no report for {session_id}")));
        }
        Ok((
            self.links.report(session_id, unix_now() + REPORT_TTL_S),
            REPORT_TTL_S,
        ))
    }
}

pub type SharedSource = Arc<ServeSource>;
