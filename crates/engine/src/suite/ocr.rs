//! `Ocr`: the pages asked for and no others are read; nothing asked, nothing read; bytes that
//! are no document are the file's fault, not a retry.

use std::sync::Arc;

use isoscan_core::result::FileRef;

use crate::ports::*;

/// A document for the suite, made the way the adapter's OCR can read it.
pub struct OcrCase {
    pub bytes: Vec<u8>,
    pub page_count: usize,
    /// A page without a text layer, and a word OCR reads on it.
    pub scanned_page: u32,
    pub reads: String,
}

pub async fn ocr(ocr: Arc<dyn Ocr>, case: OcrCase) {
    let file = FileRef {
        id: None,
        path: "scan.pdf".into(),
        size: Some(case.bytes.len() as u64),
        link: "file:///scan.pdf".into(),
    };
    let bytes = Arc::new(case.bytes);
    let none = ocr
        .read(&file, bytes.clone(), case.page_count, &[])
        .await
        .expect("no pages");
    assert!(none.is_empty(), "nothing asked, nothing read: {none:?}");

    let read = ocr
        .read(&file, bytes.clone(), case.page_count, &[case.scanned_page])
        .await
        .expect("read");
    assert_eq!(
        read.keys().copied().collect::<Vec<_>>(),
        [case.scanned_page],
        "only the page asked for"
    );
    let text = &read[&case.scanned_page];
    assert!(
        text.contains(&case.reads),
        "page {} reads {:?}: {text:?}",
        case.scanned_page,
        case.reads
    );

    let junk = Arc::new(b"\xff\xfe\x00 not a document at all".to_vec());
    match ocr.read(&file, junk, 1, &[1]).await {
        Err(ExtractFailure::File(_)) => {}
        other => panic!("bytes that are no document: {other:?}"),
    }
}
