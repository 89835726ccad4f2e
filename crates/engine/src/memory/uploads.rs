//! Uploads in memory.

use super::*;

/// Uploads held in memory: the record and files by name per key.
#[derive(Default)]
pub struct MemoryUploads {
    uploads: Mutex<HashMap<String, MemoryUpload>>,
    next: std::sync::atomic::AtomicU64,
}

pub(super) struct MemoryUpload {
    meta: UploadMeta,
    files: BTreeMap<String, Vec<u8>>,
}

impl MemoryUploads {
    pub fn new() -> Self {
        Self::default()
    }

    /// What a client's PUT to the ticket's URL does.
    pub fn put(&self, key: &str, file_name: &str, bytes: Vec<u8>) -> Result<(), UploadError> {
        let mut u = self
            .uploads
            .lock()
            .map_err(|_| UploadError::Unavailable("lock poisoned".into()))?;
        let up = u
            .get_mut(key)
            .ok_or_else(|| UploadError::NotFound(key.to_string()))?;
        up.files.insert(file_name.to_string(), bytes);
        Ok(())
    }

    fn with<T>(
        &self,
        key: &str,
        f: impl FnOnce(&MemoryUpload) -> Result<T, UploadError>,
    ) -> Result<T, UploadError> {
        let u = self
            .uploads
            .lock()
            .map_err(|_| UploadError::Unavailable("lock poisoned".into()))?;
        f(u.get(key)
            .ok_or_else(|| UploadError::NotFound(key.to_string()))?)
    }
}

#[async_trait]
impl UploadStore for MemoryUploads {
    async fn create(&self, meta: &UploadMeta) -> Result<String, UploadError> {
        let k = format!(
            "u{}",
            self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        self.uploads
            .lock()
            .map_err(|_| UploadError::Unavailable("lock poisoned".into()))?
            .insert(
                k.clone(),
                MemoryUpload {
                    meta: meta.clone(),
                    files: BTreeMap::new(),
                },
            );
        Ok(k)
    }

    async fn meta(&self, key: &str) -> Result<UploadMeta, UploadError> {
        self.with(key, |u| Ok(u.meta.clone()))
    }

    async fn ticket(&self, key: &str, name: &str, _size: u64) -> Result<UploadTicket, UploadError> {
        self.with(key, |_| Ok(()))?;
        Ok(UploadTicket {
            url: format!("memory://{key}/{name}"),
            key: key.to_string(),
            expires_in: crate::usecases::UPLOAD_LINK_S,
        })
    }

    async fn files(&self, key: &str) -> Result<Vec<(String, u64)>, UploadError> {
        self.with(key, |u| {
            Ok(u.files
                .iter()
                .map(|(n, b)| (n.clone(), b.len() as u64))
                .collect())
        })
    }

    async fn read(&self, key: &str, name: &str) -> Result<Vec<u8>, UploadError> {
        self.with(key, |u| {
            u.files
                .get(name)
                .cloned()
                .ok_or_else(|| UploadError::NotFound(format!("{key}/{name}")))
        })
    }

    async fn usage(&self, owner: &str) -> Result<Option<UploadUsage>, UploadError> {
        let u = self
            .uploads
            .lock()
            .map_err(|_| UploadError::Unavailable("lock poisoned".into()))?;
        let mut usage = UploadUsage::default();
        for up in u.values().filter(|up| up.meta.owner == owner) {
            if up.files.is_empty() {
                usage.waiting += 1;
                usage.bytes += up.meta.announced;
            } else {
                usage.bytes += up.files.values().map(|b| b.len() as u64).sum::<u64>();
            }
        }
        Ok(Some(usage))
    }
}
