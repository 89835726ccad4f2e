//! `Source`: a location is checked before a scan; listing it page by page (following the
//! cursor) gives every drawing once and counts what is not a drawing as skipped; a fetch gives
//! the file's bytes, and refuses one over the size limit as that file's error, not a retry.

use std::collections::BTreeMap;
use std::sync::Arc;

use isoscan_core::result::FileRef;

use crate::ports::*;

/// A location made the way the adapter reads it.
pub struct SourceCase {
    pub location: String,
    /// Each drawing under the location, by the path the source lists it with.
    pub drawings: BTreeMap<String, Vec<u8>>,
    /// How many files under it are not drawings.
    pub others: usize,
    /// A location of the same kind that does not exist.
    pub missing: String,
}

pub async fn source(src: Arc<dyn Source>, case: SourceCase) {
    src.check(&case.location).await.expect("check");
    match src.check(&case.missing).await {
        Err(SourceError::Transient(e)) => panic!("a missing location is not a retry: {e}"),
        Err(_) => {}
        Ok(()) => panic!("{} does not exist", case.missing),
    }

    let mut listed: BTreeMap<String, FileRef> = BTreeMap::new();
    let mut skipped = 0;
    let mut cursor: Option<String> = None;
    for page in 0.. {
        assert!(page < 10_000, "the listing never ends");
        let p = src
            .list(&case.location, cursor.as_deref())
            .await
            .expect("list");
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        for f in p.files {
            let path = f.path.clone();
            assert!(
                listed.insert(path.clone(), f).is_none(),
                "{path} listed twice"
            );
        }
        skipped += p.skipped.len();
        match p.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        listed.keys().collect::<Vec<_>>(),
        case.drawings.keys().collect::<Vec<_>>(),
        "every drawing once"
    );
    assert_eq!(skipped, case.others, "what is not a drawing is skipped");

    for (path, want) in &case.drawings {
        let file = &listed[path];
        let got = src
            .fetch(&case.location, file, 1 << 30)
            .await
            .expect("fetch");
        assert!(got == *want, "{path}: the file's bytes");
        if !want.is_empty() {
            match src.fetch(&case.location, file, want.len() as u64 - 1).await {
                Err(SourceError::File(_)) => {}
                other => panic!("{path} over the limit: {other:?}"),
            }
        }
    }
}
