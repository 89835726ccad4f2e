//! A source of in-memory files.

use super::*;

/// A source of in-memory files: `location` names a folder of `files`, listed `page_size` at a
/// time. Paths ending in `.pdf` are drawings, others are skipped; a path in `broken` fails to
/// fetch; `transient` fetch failures happen that many times first.
#[derive(Default)]
pub struct MemorySource {
    pub files: BTreeMap<String, Vec<u8>>,
    pub broken: Vec<String>,
    pub page_size: usize,
    pub transient: Mutex<u32>,
    /// Links that expire: each `relink` signs anew (`memory:PATH?signed=N`).
    pub expiring_links: bool,
    pub signed: std::sync::atomic::AtomicU64,
}

#[async_trait]
impl Source for MemorySource {
    async fn check(&self, location: &str) -> Result<(), SourceError> {
        if location == "memory:" {
            Ok(())
        } else {
            Err(SourceError::NotFound(location.to_string()))
        }
    }

    async fn list(&self, location: &str, cursor: Option<&str>) -> Result<ListPage, SourceError> {
        self.check(location).await?;
        let start: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
        let names: Vec<&String> = self.files.keys().collect();
        let size = self.page_size.max(1);
        let mut page = ListPage::default();
        for name in names.iter().skip(start).take(size) {
            if name.ends_with(".pdf") {
                page.files.push(isoscan_core::result::FileRef {
                    id: None,
                    path: name.to_string(),
                    size: None,
                    link: if self.expiring_links {
                        format!("memory:{name}?listed")
                    } else {
                        format!("memory:{name}")
                    },
                });
            } else {
                page.skipped.push(name.to_string());
            }
        }
        if start + size < names.len() {
            page.next = Some((start + size).to_string());
        }
        Ok(page)
    }

    async fn fetch(
        &self,
        _location: &str,
        file: &isoscan_core::result::FileRef,
        max_bytes: u64,
    ) -> Result<Vec<u8>, SourceError> {
        {
            let mut t = self
                .transient
                .lock()
                .map_err(|_| SourceError::Transient("lock".into()))?;
            if *t > 0 {
                *t -= 1;
                return Err(SourceError::Transient("try again".into()));
            }
        }
        if self.broken.contains(&file.path) {
            return Err(SourceError::File("cannot read".into()));
        }
        let b = self
            .files
            .get(&file.path)
            .ok_or_else(|| SourceError::File("gone".into()))?;
        if b.len() as u64 > max_bytes {
            return Err(SourceError::File(format!("larger than {max_bytes} bytes")));
        }
        Ok(b.clone())
    }

    async fn relink(
        &self,
        _location: &str,
        file: &isoscan_core::result::FileRef,
    ) -> Option<String> {
        if !self.expiring_links {
            return None;
        }
        let n = self
            .signed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(format!("memory:{}?signed={n}", file.path))
    }
}
