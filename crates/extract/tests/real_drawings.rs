//! The real drawings of `../shared/corpus/real/` (skipped, saying so, where that folder is absent).

use isoscan_core::matcher::Matcher;
use isoscan_extract::{extract, Limits};

use isoscan_testkit::{expected, real_corpus as real_dir};

#[test]
fn pid_sample_has_every_present_code_and_no_absent_one() {
    let Some(dir) = real_dir() else { return };
    let (present, absent) = expected(&dir, "pid-sample.pdf");
    let doc = extract(
        &std::fs::read(dir.join("pid-sample.pdf")).unwrap(),
        &Limits::default(),
    )
    .unwrap();
    let hits = Matcher::new(&present).unwrap().find_in_doc(&doc);
    let missing: Vec<_> = present
        .iter()
        .enumerate()
        .filter(|(i, _)| !hits.contains_key(i))
        .map(|(_, c)| c)
        .collect();
    assert!(missing.is_empty(), "missing {missing:?}");
    let wrong = Matcher::new(&absent).unwrap().find_in_doc(&doc);
    assert!(wrong.is_empty(), "absent codes found: {wrong:?}");
    assert_eq!(present.len(), 10);
    assert_eq!(absent.len(), 4);
}

#[test]
fn scanned_iso_needs_ocr_and_is_not_an_error() {
    let Some(dir) = real_dir() else { return };
    let name = "KZ02-PI-ISO-53-GP3-DK-8243001-001_C01-0-0.pdf";
    let doc = extract(&std::fs::read(dir.join(name)).unwrap(), &Limits::default()).unwrap();
    assert!(!doc.pages.is_empty());
    assert_eq!(doc.pages_needing_ocr().len(), doc.pages.len());
}
