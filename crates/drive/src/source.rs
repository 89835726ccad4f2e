//! The engine's `Source` on Drive: breadth-first, one `files.list` page per `list` call, the
//! walk's state in the cursor (so a listing job on a queue carries it).

use std::collections::HashSet;

use async_trait::async_trait;
use google_drive3::api::File;
use isoscan_core::result::FileRef;
use isoscan_engine::ports::{ListPage, Source, SourceError};
use serde::{Deserialize, Serialize};

use crate::{link, DriveClient, DriveError};

const FOLDER: &str = "application/vnd.google-apps.folder";
const SHORTCUT: &str = "application/vnd.google-apps.shortcut";

/// A folder waiting to be listed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    id: String,
    /// Its path under the scanned folder ("" for the root).
    path: String,
    /// Folder IDs above it, so that a shortcut back up the tree is cut.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    up: Vec<String>,
}

/// The walk between two pages.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Cursor {
    pending: Vec<Pending>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    /// Folders reached through shortcuts (each followed once).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    followed: Vec<String>,
    /// The last name on the previous page of this folder (names come in order, so a repeated
    /// name is next to its twin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last: Option<String>,
}

/// A cursor longer than this (bytes of JSON) travels deflated, as `z:` and base64: a folder
/// of thousands of subfolders holds them all as pending, and the cursor travels in an SQS
/// message and is kept in the page's DynamoDB item (400 KB at most). Plain JSON below it.
const PACK_OVER: usize = 4096;

/// The most bytes a packed cursor may unpack to.
const UNPACKED_MAX: u64 = 64 << 20;

fn pack(c: &Cursor) -> std::io::Result<String> {
    use base64::Engine as _;
    use std::io::Write as _;
    let json = serde_json::to_string(c)?;
    if json.len() <= PACK_OVER {
        return Ok(json);
    }
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(json.as_bytes())?;
    let packed = z.finish()?;
    Ok(format!(
        "z:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(packed)
    ))
}

fn unpack(text: &str) -> Result<Cursor, String> {
    use base64::Engine as _;
    use std::io::Read as _;
    let Some(b64) = text.strip_prefix("z:") else {
        return serde_json::from_str(text).map_err(|e| e.to_string());
    };
    let raw = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(b64)
        .map_err(|e| e.to_string())?;
    let mut json = vec![];
    flate2::read::DeflateDecoder::new(raw.as_slice())
        .take(UNPACKED_MAX)
        .read_to_end(&mut json)
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&json).map_err(|e| e.to_string())
}

pub struct DriveSource {
    pub client: DriveClient,
}

impl DriveSource {
    pub fn new(client: DriveClient) -> DriveSource {
        DriveSource { client }
    }

    /// The error a user sees for the scanned item itself.
    fn root_error(&self, location: &str, id: &str, e: DriveError) -> SourceError {
        let share = match &self.client.account {
            Some(a) => format!(
                "Drive item {id} was not found or is not shared with {a}: share the folder \
                 with that address (Viewer is enough), then start again"
            ),
            None => format!(
                "Drive item {id} was not found or is not shared with the account isoscan uses"
            ),
        };
        match e {
            DriveError::NotFound(_) => SourceError::NotFound(share),
            DriveError::Forbidden(_) => SourceError::Forbidden(share),
            DriveError::Unauthorized(m) | DriveError::Credentials(m) => SourceError::Forbidden(
                format!("{location}: Drive refused isoscan's credentials ({m})"),
            ),
            DriveError::Unavailable(m) => SourceError::Transient(m),
            other => SourceError::Invalid(format!("{location}: {other}")),
        }
    }

    fn walk_error(e: DriveError) -> SourceError {
        match e {
            DriveError::Unavailable(m) => SourceError::Transient(m),
            DriveError::NotFound(m) => SourceError::NotFound(m),
            DriveError::Forbidden(m) | DriveError::Unauthorized(m) | DriveError::Credentials(m) => {
                SourceError::Forbidden(m)
            }
            other => SourceError::Transient(other.to_string()),
        }
    }

    async fn root(&self, location: &str) -> Result<(String, File), SourceError> {
        let r = link::parse(location).map_err(SourceError::Invalid)?;
        let f = self
            .client
            .get(&r.id)
            .await
            .map_err(|e| self.root_error(location, &r.id, e))?;
        Ok((r.id, f))
    }

    /// A drawing's reference, or why it is skipped.
    fn file_ref(f: &File, path: String) -> Result<FileRef, String> {
        let mime = f.mime_type.as_deref().unwrap_or("");
        let (id, mime, link) = if mime == SHORTCUT {
            let d = f.shortcut_details.as_ref();
            let target = d.and_then(|d| d.target_id.clone()).unwrap_or_default();
            let tmime = d
                .and_then(|d| d.target_mime_type.clone())
                .unwrap_or_default();
            let link = f
                .web_view_link
                .clone()
                .unwrap_or_else(|| format!("https://drive.google.com/file/d/{target}/view"));
            (target, tmime, link)
        } else {
            (
                f.id.clone().unwrap_or_default(),
                mime.to_string(),
                f.web_view_link.clone().unwrap_or_default(),
            )
        };
        // Google Docs, Sheets, Slides and the like have no binary content to read.
        let is_drawing = matches!(
            mime.as_str(),
            "application/pdf" | "image/png" | "image/jpeg" | "image/tiff"
        ) || (!mime.starts_with("application/vnd.google-apps.")
            && isoscan_core::result::is_drawing_name(&path));
        if !is_drawing || id.is_empty() {
            return Err(path);
        }
        Ok(FileRef {
            path,
            // A shortcut's own size is not its target's.
            size: if f.mime_type.as_deref() == Some(SHORTCUT) {
                None
            } else {
                f.size.map(|s| s.max(0) as u64)
            },
            link,
            id: Some(id),
        })
    }

    /// A name for a path: `/` would split it; a name repeated in one folder gets its ID.
    fn path_name(f: &File, repeated: bool) -> String {
        let name = f.name.clone().unwrap_or_default().replace('/', "_");
        if !repeated {
            return name;
        }
        let id = f.id.clone().unwrap_or_default();
        match name.rfind('.') {
            Some(dot) if dot > 0 => format!("{} ({id}){}", &name[..dot], &name[dot..]),
            _ => format!("{name} ({id})"),
        }
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

#[async_trait]
impl Source for DriveSource {
    async fn check(&self, location: &str) -> Result<(), SourceError> {
        self.root(location).await.map(|_| ())
    }

    async fn list(&self, location: &str, cursor: Option<&str>) -> Result<ListPage, SourceError> {
        let mut c: Cursor = match cursor {
            Some(text) => unpack(text)
                .map_err(|e| SourceError::Invalid(format!("{location}: bad cursor: {e}")))?,
            None => {
                let (id, root) = self.root(location).await?;
                let mime = root.mime_type.as_deref().unwrap_or("");
                let folder = if mime == FOLDER {
                    Some(id.clone())
                } else if mime == SHORTCUT
                    && root
                        .shortcut_details
                        .as_ref()
                        .and_then(|d| d.target_mime_type.as_deref())
                        == Some(FOLDER)
                {
                    root.shortcut_details
                        .as_ref()
                        .and_then(|d| d.target_id.clone())
                } else {
                    None
                };
                match folder {
                    Some(f) => Cursor {
                        pending: vec![Pending {
                            id: f.clone(),
                            path: String::new(),
                            up: vec![],
                        }],
                        followed: vec![f],
                        ..Cursor::default()
                    },
                    // A link to one file scans that file.
                    None => {
                        let name = Self::path_name(&root, false);
                        let mut page = ListPage::default();
                        match Self::file_ref(&root, name) {
                            Ok(f) => page.files.push(f),
                            Err(p) => page.skipped.push(p),
                        }
                        return Ok(page);
                    }
                }
            }
        };
        let Some(here) = c.pending.first().cloned() else {
            return Ok(ListPage::default());
        };
        let list = self
            .client
            .list(&here.id, c.token.as_deref())
            .await
            .map_err(Self::walk_error)?;
        let mut page = ListPage::default();
        let mut seen: HashSet<String> = c.followed.iter().cloned().collect();
        let files = list.files.unwrap_or_default();
        for (i, f) in files.iter().enumerate() {
            if f.trashed == Some(true) {
                continue;
            }
            let name = f.name.as_deref();
            let prev = if i == 0 {
                c.last.as_deref()
            } else {
                files[i - 1].name.as_deref()
            };
            // The first of a run of twins keeps its plain name.
            let repeated = name.is_some() && prev == name;
            let path = join(&here.path, &Self::path_name(f, repeated));
            let mime = f.mime_type.as_deref().unwrap_or("");
            let target_folder = f
                .shortcut_details
                .as_ref()
                .filter(|d| d.target_mime_type.as_deref() == Some(FOLDER))
                .and_then(|d| d.target_id.clone());
            let mut up = here.up.clone();
            up.push(here.id.clone());
            if mime == FOLDER {
                if let Some(id) = &f.id {
                    c.pending.push(Pending {
                        id: id.clone(),
                        path,
                        up,
                    });
                }
            } else if let Some(target) = target_folder {
                // Followed once; a shortcut to a folder above it (a cycle) is not.
                if seen.contains(&target) || up.contains(&target) {
                    page.skipped.push(path);
                } else {
                    seen.insert(target.clone());
                    c.followed.push(target.clone());
                    c.pending.push(Pending {
                        id: target,
                        path,
                        up,
                    });
                }
            } else {
                match Self::file_ref(f, path) {
                    Ok(r) => page.files.push(r),
                    Err(p) => page.skipped.push(p),
                }
            }
        }
        match list.next_page_token.filter(|t| !t.is_empty()) {
            Some(t) => {
                c.token = Some(t);
                c.last = files.last().and_then(|f| f.name.clone()).or(c.last);
            }
            None => {
                c.pending.remove(0);
                c.token = None;
                c.last = None;
            }
        }
        if !c.pending.is_empty() {
            page.next = Some(pack(&c).map_err(|e| SourceError::Transient(e.to_string()))?);
        }
        Ok(page)
    }

    async fn fetch(
        &self,
        _location: &str,
        file: &FileRef,
        max_bytes: u64,
    ) -> Result<Vec<u8>, SourceError> {
        if file.size.is_some_and(|s| s > max_bytes) {
            return Err(SourceError::File(
                DriveError::TooLarge(max_bytes).to_string(),
            ));
        }
        let id = file
            .id
            .as_deref()
            .ok_or_else(|| SourceError::File("no Drive file ID".into()))?;
        self.client
            .download(id, max_bytes)
            .await
            .map_err(|e| match e {
                DriveError::Unavailable(m) => SourceError::Transient(m),
                DriveError::NotFound(_) => SourceError::File("the file is gone from Drive".into()),
                other => SourceError::File(other.to_string()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_of_thousands_of_folders_packs_small_and_unpacks_the_same() {
        let c = Cursor {
            pending: (0..5_000)
                .map(|i| Pending {
                    id: format!("area{i:022}"),
                    path: format!("Wide/area-{i:04}"),
                    up: vec![
                        "root00000000000000000000000".into(),
                        "wide0000000000000000000000".into(),
                    ],
                })
                .collect(),
            token: Some("t".into()),
            ..Cursor::default()
        };
        let plain = serde_json::to_string(&c).unwrap();
        let packed = pack(&c).unwrap();
        assert!(
            packed.starts_with("z:") && packed.len() * 8 < plain.len(),
            "{} of {}",
            packed.len(),
            plain.len()
        );
        assert_eq!(
            serde_json::to_string(&unpack(&packed).unwrap()).unwrap(),
            plain
        );
        // A short one stays plain; damaged ones are refused.
        let short = Cursor::default();
        assert_eq!(
            pack(&short).unwrap(),
            serde_json::to_string(&short).unwrap()
        );
        assert!(unpack("z:!!").is_err());
        assert!(unpack(&packed[..packed.len() / 2]).is_err());
    }
}
