//! Where drawings are: a location as a user gives it (`upload:KEY`, `s3://bucket/prefix`, a
//! Google Drive link, `gdrive:ID` or a bare Drive ID, a path on the machine), parsed once here.
//! Sources, routes and Lambdas match on [`Location`] instead of string prefixes; its `Display`
//! is the text it was parsed from, in a canonical form.

use std::fmt;

/// What an upload's location starts with (the dashboard's generated protocol carries it too).
pub const UPLOAD_PREFIX: &str = "upload:";
const S3: &str = "s3://";
const GDRIVE: &str = "gdrive:";

/// A location drawings are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Files a client uploaded before the scan (`upload:KEY`).
    Upload { key: String },
    /// Everything under a prefix of a bucket (`s3://bucket/prefix`); `prefix` is empty or ends
    /// with `/`, so that `s3://b/proj` never takes in `s3://b/project2`.
    S3 { bucket: String, prefix: String },
    /// A Google Drive or Docs address, or `gdrive:ID`: the Drive source reduces it to an item.
    Drive(String),
    /// A word shaped like a Drive item ID (19–80 letters, digits, `-`, `_`): Drive's where no
    /// folder of that name can exist (a Lambda), a folder's name first on a machine.
    BareId(String),
    /// A folder or archive on this machine (a path, or a `file://` URL).
    Path(String),
}

/// A location that names nothing readable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    #[error("{0}: no bucket named (give s3://bucket/prefix)")]
    NoBucket(String),
    #[error("{0}: `..` and empty path segments are not read in S3 locations")]
    S3Path(String),
    #[error("{0}: not an upload key")]
    UploadKey(String),
    #[error("no location given")]
    Empty,
}

impl Location {
    /// Reads a location as a user gives it; surrounding white space is ignored.
    pub fn parse(text: &str) -> Result<Location, LocationError> {
        let s = text.trim();
        if s.is_empty() {
            return Err(LocationError::Empty);
        }
        if let Some(key) = s.strip_prefix(UPLOAD_PREFIX) {
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(LocationError::UploadKey(s.to_string()));
            }
            return Ok(Location::Upload {
                key: key.to_string(),
            });
        }
        if let Some(rest) = s.strip_prefix(S3) {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(LocationError::NoBucket(s.to_string()));
            }
            // `..` and empty segments mean nothing to S3, but would confuse a prefix check.
            let trimmed = prefix.trim_end_matches('/');
            if !trimmed.is_empty() && trimmed.split('/').any(|p| p.is_empty() || p == "..") {
                return Err(LocationError::S3Path(s.to_string()));
            }
            let prefix = if trimmed.is_empty() {
                String::new()
            } else {
                format!("{trimmed}/")
            };
            return Ok(Location::S3 {
                bucket: bucket.to_string(),
                prefix,
            });
        }
        if is_drive_link(s) {
            return Ok(Location::Drive(s.to_string()));
        }
        if is_bare_id(s) {
            return Ok(Location::BareId(s.to_string()));
        }
        Ok(Location::Path(s.to_string()))
    }

    /// The location of an upload.
    pub fn upload(key: &str) -> Location {
        Location::Upload {
            key: key.to_string(),
        }
    }

    /// Whether this S3 location is `allowed` or lies under it (a prefix is a folder).
    pub fn is_under(&self, allowed: &Location) -> bool {
        match (self, allowed) {
            (
                Location::S3 { bucket, prefix },
                Location::S3 {
                    bucket: b,
                    prefix: p,
                },
            ) => bucket == b && prefix.starts_with(p.as_str()),
            _ => false,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Upload { key } => write!(f, "{UPLOAD_PREFIX}{key}"),
            Location::S3 { bucket, prefix } => write!(f, "{S3}{bucket}/{prefix}"),
            Location::Drive(s) | Location::BareId(s) | Location::Path(s) => f.write_str(s),
        }
    }
}

/// Whether a location is meant for Drive: a Google Drive or Docs address, or `gdrive:ID`.
/// (A bare ID is Drive's too, but only where it cannot be a local folder: see [`is_bare_id`].)
pub fn is_drive_link(location: &str) -> bool {
    let l = location.trim().to_ascii_lowercase();
    let rest = l
        .strip_prefix("https://")
        .or_else(|| l.strip_prefix("http://"))
        .unwrap_or(&l);
    rest.starts_with("drive.google.com/")
        || rest.starts_with("docs.google.com/")
        || rest == "drive.google.com"
        || l.starts_with(GDRIVE)
}

/// Whether a string has the shape of a Drive item ID (letters, digits, `-`, `_`; 19 to 80
/// characters). Short words are not IDs, so a folder named `drawings` never is one.
pub fn is_bare_id(s: &str) -> bool {
    let s = s.trim();
    (19..=80).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_read_and_written_back() {
        let cases = [
            (
                "upload:0123abcd",
                Location::upload("0123abcd"),
                "upload:0123abcd",
            ),
            (
                "s3://plant-a/isos",
                Location::S3 {
                    bucket: "plant-a".into(),
                    prefix: "isos/".into(),
                },
                "s3://plant-a/isos/",
            ),
            (
                "s3://plant-a",
                Location::S3 {
                    bucket: "plant-a".into(),
                    prefix: "".into(),
                },
                "s3://plant-a/",
            ),
            (
                " https://drive.google.com/drive/folders/1AbC ",
                Location::Drive("https://drive.google.com/drive/folders/1AbC".into()),
                "https://drive.google.com/drive/folders/1AbC",
            ),
            (
                "gdrive:1AbCdEfGhIjKlMnOpQrSt",
                Location::Drive("gdrive:1AbCdEfGhIjKlMnOpQrSt".into()),
                "gdrive:1AbCdEfGhIjKlMnOpQrSt",
            ),
            (
                "1AbCdEfGhIjKlMnOpQrSt",
                Location::BareId("1AbCdEfGhIjKlMnOpQrSt".into()),
                "1AbCdEfGhIjKlMnOpQrSt",
            ),
            (
                "./drawings",
                Location::Path("./drawings".into()),
                "./drawings",
            ),
            (
                "./drive.google.com-export",
                Location::Path("./drive.google.com-export".into()),
                "./drive.google.com-export",
            ),
            (
                "file:///srv/isos",
                Location::Path("file:///srv/isos".into()),
                "file:///srv/isos",
            ),
        ];
        for (text, parsed, shown) in cases {
            let l = Location::parse(text).expect(text);
            assert_eq!(l, parsed, "{text}");
            assert_eq!(l.to_string(), shown, "{text}");
            assert_eq!(Location::parse(shown).as_ref(), Ok(&l), "{shown}");
        }
    }

    #[test]
    fn malformed_locations_are_refused_with_what_is_wrong() {
        assert_eq!(Location::parse("  "), Err(LocationError::Empty));
        assert!(matches!(
            Location::parse("s3:///isos"),
            Err(LocationError::NoBucket(_))
        ));
        for bad in ["s3://b/a/../c", "s3://b/a//c"] {
            assert!(
                matches!(Location::parse(bad), Err(LocationError::S3Path(_))),
                "{bad}"
            );
        }
        for bad in ["upload:", "upload:../x", "upload:a/b"] {
            assert!(
                matches!(Location::parse(bad), Err(LocationError::UploadKey(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_s3_prefix_is_a_folder() {
        let allowed = Location::parse("s3://b/proj").unwrap();
        let under = |s: &str| Location::parse(s).unwrap().is_under(&allowed);
        assert!(under("s3://b/proj"));
        assert!(under("s3://b/proj/"));
        assert!(under("s3://b/proj/x/y"));
        assert!(!under("s3://b/project2"));
        assert!(!under("s3://c/proj"));
        assert!(!under("s3://b"));
        let bucket = Location::parse("s3://b").unwrap();
        assert!(Location::parse("s3://b/anything")
            .unwrap()
            .is_under(&bucket));
        assert!(!Location::parse("./proj").unwrap().is_under(&allowed));
    }
}
