//! The upload policy, once for every store: which files may be uploaded (kinds by name,
//! sizes), by whom, how many may wait and how much one user keeps, and what reading one back
//! checks (owner, purpose, arrival, size). The stores behind [`UploadStore`] keep bytes only.

use isoscan_core::protocol::{ServerMessage, UploadPurpose};

use super::{Engine, EngineError};
use crate::ports::*;

/// Largest code list read from an upload.
pub const MAX_TARGETS_UPLOAD: u64 = 64 * 1024 * 1024;
/// How long an upload link lives, in seconds.
pub const UPLOAD_LINK_S: u64 = 15 * 60;

/// File kinds each purpose takes, by name.
const TARGET_KINDS: [&str; 6] = [".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt"];
const DRAWING_KINDS: [&str; 2] = [".pdf", ".zip"];

/// What one user may keep in uploads at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadQuota {
    /// Uploads asked for whose file has not arrived (expired ones do not count).
    pub waiting: usize,
    /// Bytes stored and announced.
    pub bytes: u64,
}

/// The plain name of a file a client names: its last path segment, trimmed.
fn plain_name(file_name: &str) -> &str {
    file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(file_name)
        .trim()
}

impl Engine {
    /// `request_upload`: a signed URL for one file, in a new upload or (drawings) joining
    /// `key`, an earlier one of `owner`'s.
    pub async fn request_upload(
        &self,
        owner: &str,
        file_name: &str,
        size: u64,
        purpose: UploadPurpose,
        key: Option<&str>,
    ) -> Result<ServerMessage, EngineError> {
        let name = plain_name(file_name);
        let lower = name.to_ascii_lowercase();
        let (kinds, what): (&[&str], _) = match purpose {
            UploadPurpose::Targets => (&TARGET_KINDS, "code list"),
            UploadPurpose::Drawings => (&DRAWING_KINDS, "drawing"),
        };
        if name.is_empty() || name.starts_with('.') || !kinds.iter().any(|e| lower.ends_with(e)) {
            return Err(EngineError::InvalidRequest(format!(
                "{file_name}: {what} uploads take {}",
                kinds.join(", ")
            )));
        }
        // Drawings may come as an archive far larger than any one drawing: their size is the
        // store's limit (the upload route's, S3's signed length).
        if purpose == UploadPurpose::Targets && size > MAX_TARGETS_UPLOAD {
            return Err(EngineError::InvalidRequest(format!(
                "{file_name}: a {what} may be at most {} MiB",
                MAX_TARGETS_UPLOAD >> 20
            )));
        }
        // One request at a time past the quota check, so two cannot both take the last place.
        let _one = self.upload_lock.lock().await;
        let store = &self.ports.uploads;
        if let (Some(q), Some(u)) = (self.config.upload_quota, store.usage(owner).await?) {
            if key.is_none() && u.waiting >= q.waiting {
                return Err(UploadError::Quota(format!(
                    "you have {} uploads waiting for their file; at most {} may wait: send those files, or wait {} minutes for their links to expire",
                    u.waiting,
                    q.waiting,
                    UPLOAD_LINK_S / 60
                ))
                .into());
            }
            if u.bytes.saturating_add(size) > q.bytes {
                return Err(UploadError::Quota(format!(
                    "your uploads would take {} MiB; at most {} MiB are kept for one user",
                    u.bytes.saturating_add(size) >> 20,
                    q.bytes >> 20
                ))
                .into());
            }
        }
        let key = match key {
            Some(k) => {
                let m = self.owned_upload(owner, k).await?;
                if m.purpose != UploadPurpose::Drawings || purpose != UploadPurpose::Drawings {
                    return Err(UploadError::Invalid(
                        "only drawings may be added to an earlier upload".into(),
                    )
                    .into());
                }
                k.to_string()
            }
            None => {
                store
                    .create(&UploadMeta {
                        owner: owner.to_string(),
                        purpose,
                        announced: size,
                    })
                    .await?
            }
        };
        let t = store.ticket(&key, name, size).await?;
        Ok(ServerMessage::UploadUrl {
            url: t.url,
            key: t.key,
            expires_in: t.expires_in,
        })
    }

    /// The upload's record, if `owner` made it.
    async fn owned_upload(&self, owner: &str, key: &str) -> Result<UploadMeta, UploadError> {
        let m = self.ports.uploads.meta(key).await?;
        if m.owner != owner {
            return Err(UploadError::Forbidden(key.to_string()));
        }
        Ok(m)
    }

    /// An uploaded code list of `owner`'s: (file name, bytes), at most `max_bytes`.
    pub async fn read_list_upload(
        &self,
        owner: &str,
        key: &str,
        max_bytes: u64,
    ) -> Result<(String, Vec<u8>), UploadError> {
        if self.owned_upload(owner, key).await?.purpose != UploadPurpose::Targets {
            return Err(UploadError::Invalid(format!(
                "{key} is an upload of drawings, not a code list"
            )));
        }
        let files = self.ports.uploads.files(key).await?;
        let (name, size) = files.first().ok_or_else(|| {
            UploadError::NotFound(format!("{key}: the code list has not arrived"))
        })?;
        if *size > max_bytes {
            return Err(UploadError::Invalid(format!(
                "the code list is over {max_bytes} bytes"
            )));
        }
        let bytes = self.ports.uploads.read(key, name).await?;
        if bytes.len() as u64 > max_bytes {
            return Err(UploadError::Invalid(format!(
                "the code list is over {max_bytes} bytes"
            )));
        }
        Ok((name.clone(), bytes))
    }

    /// Checks that `key` is an upload of drawings by `owner` that has arrived.
    pub async fn check_drawings_upload(&self, owner: &str, key: &str) -> Result<(), UploadError> {
        if self.owned_upload(owner, key).await?.purpose != UploadPurpose::Drawings {
            return Err(UploadError::Invalid(format!(
                "{key} is a code list, not drawings"
            )));
        }
        if self.ports.uploads.files(key).await?.is_empty() {
            return Err(UploadError::NotFound(format!(
                "{key}: no drawing has arrived"
            )));
        }
        Ok(())
    }
}
