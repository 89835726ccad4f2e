//! The server's adapters: sources (folders under the roots and uploads), uploads kept in the
//! data folder, reports in the data folder, all handing out signed links to this server.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use isoscan_core::location::{Location, LocationError};
use isoscan_core::result::FileRef;
use isoscan_engine::ports::*;
use isoscan_engine::usecases::UPLOAD_LINK_S;

use super::auth::{encode, hex, random_bytes, write_private, Signer};
use crate::source::LocalSource;

/// How long a report link lives, in seconds.
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

/// Uploads in `DATA/uploads/KEY/`: `meta.json` (owner, purpose) and `files/`, readable by this
/// user only (folders 0700, files 0600). What may be uploaded is the engine's policy.
pub struct FolderUploads {
    pub dir: PathBuf,
    pub links: Links,
}

impl FolderUploads {
    pub fn new(dir: PathBuf, links: Links) -> FolderUploads {
        FolderUploads { dir, links }
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

impl FolderUploads {
    fn read_meta(&self, key: &str) -> Result<UploadMeta, UploadError> {
        if upload_files(&self.dir, key).is_none() {
            return Err(UploadError::NotFound(key.to_string()));
        }
        let text = std::fs::read(self.dir.join(key).join("meta.json"))
            .map_err(|_| UploadError::NotFound(key.to_string()))?;
        serde_json::from_slice(&text).map_err(|e| UploadError::Unavailable(e.to_string()))
    }

    /// Where a PUT to an upload URL writes: checks the key exists and the name is plain.
    pub fn destination(&self, key: &str, name: &str) -> Result<PathBuf, UploadError> {
        self.read_meta(key)?;
        if !plain(name) {
            return Err(UploadError::Invalid(format!(
                "{name}: not a plain file name"
            )));
        }
        let files =
            upload_files(&self.dir, key).ok_or_else(|| UploadError::NotFound(key.into()))?;
        Ok(files.join(name))
    }

    fn arrived(&self, key: &str) -> Result<Vec<PathBuf>, UploadError> {
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

/// A file name without a folder, that is not hidden.
fn plain(name: &str) -> bool {
    !name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.')
}

#[async_trait]
impl UploadStore for FolderUploads {
    async fn create(&self, meta: &UploadMeta) -> Result<String, UploadError> {
        let k = hex(&random_bytes::<16>());
        let dir = self.dir.join(&k);
        private_dir(&dir.join("files")).map_err(|e| UploadError::Unavailable(e.to_string()))?;
        let bytes =
            serde_json::to_vec(meta).map_err(|e| UploadError::Unavailable(e.to_string()))?;
        write_private(&dir.join("meta.json"), &bytes)
            .map_err(|e| UploadError::Unavailable(e.to_string()))?;
        Ok(k)
    }

    async fn meta(&self, key: &str) -> Result<UploadMeta, UploadError> {
        self.read_meta(key)
    }

    async fn ticket(&self, key: &str, name: &str, size: u64) -> Result<UploadTicket, UploadError> {
        self.destination(key, name)?;
        Ok(UploadTicket {
            url: self
                .links
                .upload(key, name, size, unix_now() + UPLOAD_LINK_S),
            key: key.to_string(),
            expires_in: UPLOAD_LINK_S,
        })
    }

    async fn files(&self, key: &str) -> Result<Vec<(String, u64)>, UploadError> {
        Ok(self
            .arrived(key)?
            .into_iter()
            .filter_map(|p| {
                let len = std::fs::metadata(&p).ok()?.len();
                Some((p.file_name()?.to_string_lossy().into_owned(), len))
            })
            .collect())
    }

    async fn read(&self, key: &str, name: &str) -> Result<Vec<u8>, UploadError> {
        let path = self.destination(key, name)?;
        std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => UploadError::NotFound(format!("{key}/{name}")),
            _ => UploadError::Unavailable(e.to_string()),
        })
    }

    async fn usage(&self, owner: &str) -> Result<Option<UploadUsage>, UploadError> {
        let mut u = UploadUsage::default();
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Ok(Some(u));
        };
        for e in rd.filter_map(|e| e.ok()) {
            let key = e.file_name().to_string_lossy().into_owned();
            let Ok(meta) = self.read_meta(&key) else {
                continue;
            };
            if meta.owner != owner {
                continue;
            }
            let files = self.arrived(&key).unwrap_or_default();
            if files.is_empty() {
                let age = std::fs::metadata(e.path().join("meta.json"))
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .map_or(0, |d| d.as_secs());
                // A file still arriving (`.part`) keeps its upload, however old the link.
                let arriving =
                    std::fs::read_dir(e.path().join("files")).is_ok_and(|mut d| d.next().is_some());
                if age > UPLOAD_LINK_S && !arriving {
                    let _ = std::fs::remove_dir_all(e.path());
                    continue;
                }
                u.waiting += 1;
                u.bytes += meta.announced;
            } else {
                u.bytes += files
                    .iter()
                    .filter_map(|f| std::fs::metadata(f).ok())
                    .map(|m| m.len())
                    .sum::<u64>();
            }
        }
        Ok(Some(u))
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
