//! The Drive links users paste, reduced to an item ID.

/// What a link names: an item (folder or file; which one is known only after asking Drive,
/// except for `/file/d/` links) and its resource key, if the link carried one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveRef {
    pub id: String,
    pub resource_key: Option<String>,
}

pub const LINK_HELP: &str = "a Google Drive folder link looks like \
    https://drive.google.com/drive/folders/FOLDER_ID (the address of the folder in the browser, \
    or its \"Copy link\")";

// The shape of a Drive location is core's vocabulary (`Location::Drive`, `Location::BareId`).
pub use isoscan_core::location::{is_bare_id, is_drive_link};

/// The item a link names. Accepts `…/drive/folders/ID`, `…/drive/u/N/folders/ID`,
/// `…/folderview?id=ID`, `…/open?id=ID`, `…/file/d/ID/…`, `…/document/d/ID/…` (and other
/// editors), with any `resourcekey`, `usp` or other parameters, `gdrive:ID`, or a bare ID.
pub fn parse(location: &str) -> Result<DriveRef, String> {
    let s = location.trim();
    let invalid = || format!("{s}: not a Google Drive link; {LINK_HELP}");
    if let Some(id) = s.strip_prefix("gdrive:") {
        return if is_bare_id(id) {
            Ok(DriveRef {
                id: id.to_string(),
                resource_key: None,
            })
        } else {
            Err(invalid())
        };
    }
    if is_bare_id(s) {
        return Ok(DriveRef {
            id: s.to_string(),
            resource_key: None,
        });
    }
    if !is_drive_link(s) {
        return Err(invalid());
    }
    let with_scheme = if s.contains("://") {
        s.to_string()
    } else {
        format!("https://{s}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|_| invalid())?;
    let query = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.into_owned())
    };
    let resource_key = query("resourcekey");
    let segments: Vec<&str> = url
        .path_segments()
        .map(|p| p.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    // `folders/ID` or `d/ID` anywhere in the path (`/drive/u/0/folders/ID`,
    // `/drive/mobile/folders/ID`, `/file/d/ID/view`, `/spreadsheets/d/ID/edit`).
    let from_path = segments
        .windows(2)
        .find(|w| w[0] == "folders" || w[0] == "d")
        .map(|w| w[1].to_string());
    let id = from_path.or_else(|| query("id")).ok_or_else(invalid)?;
    if !is_bare_id(&id) {
        return Err(invalid());
    }
    Ok(DriveRef { id, resource_key })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "1AbCdEfGhIjKlMnOpQrStUvWxYz012345";

    #[test]
    fn every_link_form_a_user_pastes_gives_the_id() {
        for link in [
            format!("https://drive.google.com/drive/folders/{ID}"),
            format!("https://drive.google.com/drive/folders/{ID}?usp=sharing"),
            format!("https://drive.google.com/drive/folders/{ID}?resourcekey=0-abc&usp=sharing"),
            format!("https://drive.google.com/drive/u/0/folders/{ID}"),
            format!("https://drive.google.com/drive/u/2/folders/{ID}/"),
            format!("https://drive.google.com/drive/mobile/folders/{ID}"),
            format!("https://drive.google.com/folderview?id={ID}"),
            format!("https://drive.google.com/open?id={ID}"),
            format!("https://drive.google.com/open?usp=sharing&id={ID}"),
            format!("https://drive.google.com/file/d/{ID}/view?usp=sharing"),
            format!("https://docs.google.com/document/d/{ID}/edit"),
            format!("drive.google.com/drive/folders/{ID}"),
            format!("  {ID}  "),
            format!("gdrive:{ID}"),
        ] {
            assert_eq!(parse(&link).map(|r| r.id), Ok(ID.to_string()), "{link}");
        }
        let r = parse(&format!(
            "https://drive.google.com/drive/folders/{ID}?resourcekey=0-abc_DEF"
        ))
        .unwrap();
        assert_eq!(r.resource_key.as_deref(), Some("0-abc_DEF"));
    }

    #[test]
    fn anything_else_says_what_a_folder_link_looks_like() {
        for bad in [
            "https://drive.google.com/drive/my-drive",
            "https://drive.google.com/",
            "https://example.com/drive/folders/abc",
            "drawings",
            "",
            "https://drive.google.com/open?id=../../etc",
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.contains("drive.google.com/drive/folders/"), "{e}");
        }
        assert!(!is_bare_id("drawings"));
        assert!(!is_drive_link("./drive.google.com-export"));
        assert!(is_drive_link("HTTPS://Drive.Google.com/drive/folders/x"));
    }
}
