//! Local sources: a folder (walked recursively in a stable order) or a `.zip` archive (read in
//! place, never unpacked to disk). Paths are relative to the folder or archive root and
//! `/`-separated. A server may restrict folders to a set of roots.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use isoscan_core::result::FileRef;
use isoscan_engine::ports::{ListPage, Source, SourceError};

/// Entries returned per listing page.
const PAGE: usize = 1000;

#[derive(Debug, Clone)]
pub struct ZipLimits {
    pub max_entries: usize,
    /// Sum of the entries' uncompressed sizes, as declared.
    pub max_total_bytes: u64,
}

impl Default for ZipLimits {
    fn default() -> Self {
        ZipLimits {
            max_entries: 100_000,
            max_total_bytes: 50 * 1024 * 1024 * 1024,
        }
    }
}

#[derive(Clone)]
enum Entry {
    File(FileRef),
    Skipped(String),
    Error(FileRef, String),
}

/// Folders and zip archives on this machine.
pub struct LocalSource {
    /// When set, only locations under these folders are accepted.
    roots: Option<Vec<PathBuf>>,
    /// The roots as given (made absolute, `..` folded), before links were resolved: a location
    /// is first compared with these, as written, so that whether a path outside exists is
    /// never told.
    given_roots: Vec<PathBuf>,
    /// Folders never listed or read, even under a root (a server's own data folder).
    excluded: Vec<PathBuf>,
    zip_limits: ZipLimits,
    listings: Mutex<HashMap<String, Arc<Vec<Entry>>>>,
    archives: Mutex<HashMap<PathBuf, Arc<Mutex<zip::ZipArchive<File>>>>>,
}

/// A drawing: a PDF or a picture file.
fn is_drawing(name: &str) -> bool {
    isoscan_core::result::is_drawing_name(name)
}

/// `file://` URL of an absolute path, percent-encoding what a URL cannot hold.
pub fn file_url(path: &Path) -> String {
    let mut out = String::from("file://");
    let s = path.to_string_lossy().replace('\\', "/");
    if !s.starts_with('/') {
        out.push('/');
    }
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where a location may lead: under the roots (anywhere, without roots) and not into an
/// excluded folder. Paths are compared once links are resolved.
#[derive(Clone)]
struct Fence {
    roots: Option<Vec<PathBuf>>,
    excluded: Vec<PathBuf>,
}

impl Fence {
    fn allows(&self, canonical: &Path) -> bool {
        self.roots
            .as_ref()
            .is_none_or(|roots| roots.iter().any(|r| canonical.starts_with(r)))
            && !self.excluded.iter().any(|x| canonical.starts_with(x))
    }

    fn is_excluded(&self, canonical: &Path) -> bool {
        self.excluded.iter().any(|x| canonical.starts_with(x))
    }
}

/// `path` made absolute and with `.` and `..` folded, without touching the file system.
fn lexical(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

fn rel_path(parts: &[String]) -> String {
    parts.join("/")
}

impl LocalSource {
    pub fn new(roots: Option<Vec<PathBuf>>) -> Self {
        let given_roots = roots.iter().flatten().map(|r| lexical(r)).collect();
        let roots = roots.map(|r| {
            r.into_iter()
                .map(|p| p.canonicalize().unwrap_or(p))
                .collect()
        });
        LocalSource {
            given_roots,
            roots,
            excluded: vec![],
            zip_limits: ZipLimits::default(),
            listings: Mutex::new(HashMap::new()),
            archives: Mutex::new(HashMap::new()),
        }
    }

    /// Never lists or reads `dirs` or anything under them, however reached.
    pub fn excluding(mut self, dirs: Vec<PathBuf>) -> Self {
        self.excluded = dirs
            .into_iter()
            .map(|p| p.canonicalize().unwrap_or(p))
            .collect();
        self
    }

    fn fence(&self) -> Fence {
        Fence {
            roots: self.roots.clone(),
            excluded: self.excluded.clone(),
        }
    }

    pub fn with_zip_limits(mut self, limits: ZipLimits) -> Self {
        self.zip_limits = limits;
        self
    }

    fn resolve(&self, location: &str) -> Result<PathBuf, SourceError> {
        let raw = location.strip_prefix("file://").unwrap_or(location);
        if raw.trim().is_empty() {
            return Err(SourceError::Invalid("no folder given".into()));
        }
        let path = PathBuf::from(raw);
        if path.components().any(|c| c == Component::ParentDir) && self.roots.is_some() {
            return Err(SourceError::Forbidden(format!(
                "{location}: '..' is not allowed"
            )));
        }
        let outside = || {
            let list: Vec<String> = self
                .roots
                .iter()
                .flatten()
                .map(|r| r.display().to_string())
                .collect();
            SourceError::Forbidden(format!(
                "{location} is outside the allowed folders ({})",
                list.join(", ")
            ))
        };
        // Outside every root as written: the same answer whether or not the path exists.
        if let Some(roots) = &self.roots {
            let lex = lexical(&path);
            let under = |r: &PathBuf| lex.starts_with(r);
            if !roots.iter().any(under) && !self.given_roots.iter().any(under) {
                return Err(outside());
            }
        }
        let canon = path.canonicalize().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                SourceError::NotFound(format!("{location} does not exist"))
            }
            std::io::ErrorKind::PermissionDenied => {
                SourceError::Forbidden(format!("{location} cannot be read"))
            }
            _ => SourceError::Invalid(format!("{location}: {e}")),
        })?;
        let fence = self.fence();
        if fence.is_excluded(&canon) {
            return Err(SourceError::Forbidden(format!(
                "{location} is this server's data folder, which is never scanned"
            )));
        }
        if !fence.allows(&canon) {
            return Err(outside());
        }
        Ok(canon)
    }
}

/// Every entry under `root`, in a stable order.
fn walk(root: &Path, fence: &Fence) -> Vec<Entry> {
    let mut out = vec![];
    let mut visited: HashSet<PathBuf> = HashSet::new();
    visited.insert(root.to_path_buf());
    // (directory, its path parts); a stack walked in reverse-sorted order gives sorted output.
    let mut stack: Vec<(PathBuf, Vec<String>)> = vec![(root.to_path_buf(), vec![])];
    while let Some((dir, parts)) = stack.pop() {
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) => {
                let path = rel_path(&parts);
                out.push(Entry::Error(
                    FileRef {
                        id: None,
                        path: format!("{path}/"),
                        size: None,
                        link: file_url(&dir),
                    },
                    format!("folder cannot be read: {e}"),
                ));
                continue;
            }
        };
        let mut names: Vec<(String, PathBuf)> = rd
            .filter_map(|e| e.ok())
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            .collect();
        names.sort();
        let mut subdirs = vec![];
        for (name, path) in names {
            let mut p = parts.clone();
            p.push(name.clone());
            let rel = rel_path(&p);
            let fref = |size| FileRef {
                id: None,
                path: rel.clone(),
                size,
                link: file_url(&path),
            };
            let meta = match std::fs::metadata(&path) {
                Ok(m) => m,
                Err(e) => {
                    let why = if std::fs::symlink_metadata(&path)
                        .is_ok_and(|m| m.file_type().is_symlink())
                    {
                        format!("broken or looping link: {e}")
                    } else {
                        format!("cannot be read: {e}")
                    };
                    out.push(Entry::Error(fref(None), why));
                    continue;
                }
            };
            if meta.is_dir() {
                match path.canonicalize() {
                    Ok(c) if visited.contains(&c) || root.starts_with(&c) => {
                        out.push(Entry::Error(
                            fref(None),
                            "link loops back to a folder already scanned".into(),
                        ));
                    }
                    // The data folder is left out without a word: it is no drawing folder.
                    Ok(c) if fence.is_excluded(&c) => {}
                    Ok(c) => {
                        if !fence.allows(&c) {
                            out.push(Entry::Error(
                                fref(None),
                                "link leaves the allowed folders".into(),
                            ));
                            continue;
                        }
                        visited.insert(c);
                        subdirs.push((path, p));
                    }
                    Err(e) => out.push(Entry::Error(fref(None), format!("cannot be read: {e}"))),
                }
            } else if is_drawing(&name) {
                let canon = path.canonicalize();
                if canon.as_ref().is_ok_and(|c| fence.is_excluded(c)) {
                    continue;
                }
                if !canon.is_ok_and(|c| fence.allows(&c)) {
                    out.push(Entry::Error(
                        fref(None),
                        "link leaves the allowed folders".into(),
                    ));
                    continue;
                }
                out.push(Entry::File(fref(Some(meta.len()))));
            } else {
                out.push(Entry::Skipped(rel));
            }
        }
        // Files of a folder come before its subfolders; subfolders in name order.
        for s in subdirs.into_iter().rev() {
            stack.push(s);
        }
    }
    out
}

impl LocalSource {
    fn archive(&self, path: &Path) -> Result<Arc<Mutex<zip::ZipArchive<File>>>, SourceError> {
        let mut cache = self
            .archives
            .lock()
            .map_err(|_| SourceError::Transient("lock poisoned".into()))?;
        if let Some(a) = cache.get(path) {
            return Ok(a.clone());
        }
        let f = File::open(path)
            .map_err(|e| SourceError::NotFound(format!("{}: {e}", path.display())))?;
        let a = zip::ZipArchive::new(f).map_err(|e| {
            SourceError::Invalid(format!(
                "{} is not a readable zip archive: {e}",
                path.display()
            ))
        })?;
        let a = Arc::new(Mutex::new(a));
        cache.insert(path.to_path_buf(), a.clone());
        Ok(a)
    }

    fn list_zip(&self, path: &Path) -> Result<Vec<Entry>, SourceError> {
        let archive = self.archive(path)?;
        let mut a = archive
            .lock()
            .map_err(|_| SourceError::Transient("lock poisoned".into()))?;
        if a.len() > self.zip_limits.max_entries {
            return Err(SourceError::Invalid(format!(
                "{} has {} entries; at most {} are read",
                path.display(),
                a.len(),
                self.zip_limits.max_entries
            )));
        }
        let link = file_url(path);
        let mut out = vec![];
        let mut total: u64 = 0;
        for i in 0..a.len() {
            let entry = match a.by_index_raw(i) {
                Ok(e) => e,
                Err(e) => {
                    out.push(Entry::Error(
                        FileRef {
                            id: None,
                            path: format!("#{i}"),
                            size: None,
                            link: link.clone(),
                        },
                        format!("damaged archive entry: {e}"),
                    ));
                    continue;
                }
            };
            if entry.is_dir() {
                continue;
            }
            let raw_name = entry.name().to_string();
            let Some(safe) = entry.enclosed_name() else {
                out.push(Entry::Error(
                    FileRef {
                        id: None,
                        path: raw_name.clone(),
                        size: None,
                        link: link.clone(),
                    },
                    "archive entry would leave the extraction folder".into(),
                ));
                continue;
            };
            let rel = safe.components().filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            });
            let rel = rel.collect::<Vec<_>>().join("/");
            total = total.saturating_add(entry.size());
            if total > self.zip_limits.max_total_bytes {
                return Err(SourceError::Invalid(format!(
                    "{} unpacks to more than {} GiB",
                    path.display(),
                    self.zip_limits.max_total_bytes >> 30
                )));
            }
            if is_drawing(&rel) {
                out.push(Entry::File(FileRef {
                    id: None,
                    path: rel,
                    size: Some(entry.size()),
                    link: link.clone(),
                }));
            } else {
                out.push(Entry::Skipped(rel));
            }
        }
        out.sort_by(|a, b| key(a).cmp(key(b)));
        Ok(out)
    }

    fn is_zip(path: &Path) -> bool {
        path.is_file()
            && path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
    }
}

fn key(e: &Entry) -> &str {
    match e {
        Entry::File(f) | Entry::Error(f, _) => &f.path,
        Entry::Skipped(p) => p,
    }
}

/// Reads at most `max_bytes`; `size_hint` (the size the listing saw) sizes the buffer once.
fn read_limited(
    mut r: impl Read,
    max_bytes: u64,
    size_hint: Option<u64>,
    what: &str,
) -> Result<Vec<u8>, SourceError> {
    let mut buf =
        Vec::with_capacity(size_hint.unwrap_or(0).min(max_bytes).saturating_add(1) as usize);
    (&mut r)
        .take(max_bytes + 1)
        .read_to_end(&mut buf)
        .map_err(|e| SourceError::File(format!("cannot be read: {e}")))?;
    if buf.len() as u64 > max_bytes {
        return Err(SourceError::File(format!(
            "{what} is larger than {} MiB",
            max_bytes >> 20
        )));
    }
    Ok(buf)
}

#[async_trait]
impl Source for LocalSource {
    async fn check(&self, location: &str) -> Result<(), SourceError> {
        let path = self.resolve(location)?;
        if path.is_dir() {
            std::fs::read_dir(&path)
                .map_err(|e| SourceError::Forbidden(format!("{location} cannot be read: {e}")))?;
            Ok(())
        } else if Self::is_zip(&path) {
            self.archive(&path).map(|_| ())
        } else {
            Err(SourceError::Invalid(format!(
                "{location} is neither a folder nor a .zip archive"
            )))
        }
    }

    async fn list(&self, location: &str, cursor: Option<&str>) -> Result<ListPage, SourceError> {
        let path = self.resolve(location)?;
        // The first page always walks anew, so a later scan of a folder sees its files as
        // they are now; the following pages read the listing the first one made.
        let cached = match cursor {
            None => None,
            Some(_) => self
                .listings
                .lock()
                .ok()
                .and_then(|l| l.get(location).cloned()),
        };
        let entries = match cached {
            Some(e) => e,
            None => {
                let entries = if Self::is_zip(&path) {
                    self.list_zip(&path)?
                } else if path.is_dir() {
                    let root = path.clone();
                    let fence = self.fence();
                    tokio::task::spawn_blocking(move || walk(&root, &fence))
                        .await
                        .map_err(|e| SourceError::Transient(e.to_string()))?
                } else {
                    return Err(SourceError::Invalid(format!(
                        "{location} is neither a folder nor a .zip archive"
                    )));
                };
                let entries = Arc::new(entries);
                if let Ok(mut l) = self.listings.lock() {
                    l.insert(location.to_string(), entries.clone());
                }
                entries
            }
        };
        let start: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
        let mut page = ListPage::default();
        for e in entries.iter().skip(start).take(PAGE) {
            match e.clone() {
                Entry::File(f) => page.files.push(f),
                Entry::Skipped(p) => page.skipped.push(p),
                Entry::Error(f, why) => page.errors.push((f, why)),
            }
        }
        if start + PAGE < entries.len() {
            page.next = Some((start + PAGE).to_string());
        } else if let Ok(mut l) = self.listings.lock() {
            // The last page is out: the listing need not stay in memory.
            l.remove(location);
        }
        Ok(page)
    }

    async fn fetch(
        &self,
        location: &str,
        file: &FileRef,
        max_bytes: u64,
    ) -> Result<Vec<u8>, SourceError> {
        let root = self.resolve(location)?;
        if Self::is_zip(&root) {
            let archive = self.archive(&root)?;
            let path = file.path.clone();
            let size = file.size;
            return tokio::task::spawn_blocking(move || {
                let mut a = archive
                    .lock()
                    .map_err(|_| SourceError::Transient("lock poisoned".into()))?;
                let entry = a
                    .by_name(&path)
                    .map_err(|e| SourceError::File(format!("archive entry cannot be read: {e}")))?;
                read_limited(entry, max_bytes, size, "the unpacked file")
            })
            .await
            .map_err(|e| SourceError::Transient(e.to_string()))?;
        }
        let rel = Path::new(&file.path);
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(SourceError::File("path leaves the scanned folder".into()));
        }
        let full = root.join(rel);
        let size = file.size;
        if (self.roots.is_some() || !self.excluded.is_empty())
            && !full.canonicalize().is_ok_and(|c| self.fence().allows(&c))
        {
            return Err(SourceError::File("link leaves the allowed folders".into()));
        }
        tokio::task::spawn_blocking(move || {
            let f =
                File::open(&full).map_err(|e| SourceError::File(format!("cannot be read: {e}")))?;
            read_limited(f, max_bytes, size, "the file")
        })
        .await
        .map_err(|e| SourceError::Transient(e.to_string()))?
    }
}
