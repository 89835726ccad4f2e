//! Memory drawings read as text, and their scanned pages read by a pretend OCR.

use super::*;

/// Reads a "drawing" as UTF-8 text, pages split by form feeds; invalid UTF-8 is unreadable. A
/// page that is empty, or starts with [`SCANNED`] (a picture of the text after it), has no
/// text layer.
#[derive(Default)]
pub struct TextExtractor;

/// Marks a page of a memory drawing as a scan of the text after it: only [`MemoryOcr`] reads
/// it. `[scan]!unreadable` cannot be read; `[scan]!busy` fails as OCR that may work later.
pub const SCANNED: &str = "[scan]";

pub(super) fn text_pages(bytes: &[u8]) -> Result<Vec<&str>, ExtractFailure> {
    std::str::from_utf8(bytes)
        .map(|t| t.split('\u{c}').collect())
        .map_err(|_| ExtractFailure::File("not text".into()))
}

#[async_trait]
impl Extractor for TextExtractor {
    async fn extract(
        &self,
        _file: &isoscan_core::result::FileRef,
        bytes: Arc<Vec<u8>>,
    ) -> Result<isoscan_core::text::DocText, ExtractFailure> {
        Ok(isoscan_core::text::DocText {
            pages: text_pages(&bytes)?
                .into_iter()
                .map(|p| {
                    let scanned = p.starts_with(SCANNED) || p.trim().is_empty();
                    isoscan_core::text::PageText {
                        ocr: false,
                        text: if scanned {
                            String::new()
                        } else {
                            p.to_string()
                        },
                        needs_ocr: scanned,
                    }
                })
                .collect(),
        })
    }
}

/// Reads the scanned pages of memory drawings (see [`SCANNED`]), counting the pages it read.
#[derive(Default)]
pub struct MemoryOcr {
    pub pages_read: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl Ocr for MemoryOcr {
    async fn read(
        &self,
        _file: &isoscan_core::result::FileRef,
        bytes: Arc<Vec<u8>>,
        _page_count: usize,
        pages: &[u32],
    ) -> Result<BTreeMap<u32, String>, ExtractFailure> {
        let all = text_pages(&bytes)?;
        let mut out = BTreeMap::new();
        for &n in pages {
            let Some(p) = n.checked_sub(1).and_then(|i| all.get(i as usize)) else {
                continue;
            };
            let Some(text) = p.strip_prefix(SCANNED) else {
                continue;
            };
            match text {
                "!unreadable" => {
                    return Err(ExtractFailure::File(format!("page {n}: unreadable scan")))
                }
                "!busy" => return Err(ExtractFailure::Transient("OCR is busy".into())),
                _ => {}
            }
            self.pages_read
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            out.insert(n, text.trim().to_string());
        }
        Ok(out)
    }
}
