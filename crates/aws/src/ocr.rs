//! The [`Ocr`] port on AWS: Textract, with its limits on what it takes. Textract reads PDF pages
//! up to 40 inches a side, pictures up to 10,000 pixels a side, and PNG or JPEG files of 10 MB
//! at most (even from S3): a larger page goes alone as its picture (made smaller to fit) on a
//! page of at most 40 inches, a larger picture file as a one-page PDF showing it. A page
//! without a picture cannot go (the Lambda has no renderer): it stays unread.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use isoscan_core::result::FileRef;
use isoscan_engine::ports::{ExtractFailure, Ocr};
use isoscan_extract::raster::{
    gray_as_pdf, page_images, page_inches, picture_as_pdf, raster_kind, raster_page_sizes,
    RasterKind,
};

use crate::textract::{
    DocumentKind, TextractError, TextractOcr, MAX_PAGE_INCHES, MAX_PICTURE_SIDE, SYNC_LIMIT,
};

pub struct TextractPages {
    pub textract: Arc<TextractOcr>,
    /// The reader's limits, for decoding pictures of pages that must go one by one.
    pub limits: isoscan_extract::Limits,
}

#[async_trait]
impl Ocr for TextractPages {
    async fn read(
        &self,
        _file: &FileRef,
        bytes: Arc<Vec<u8>>,
        page_count: usize,
        wanted: &[u32],
    ) -> Result<BTreeMap<u32, String>, ExtractFailure> {
        if wanted.is_empty() {
            return Ok(BTreeMap::new());
        }
        // The engine holds no other reference: nothing is copied.
        let bytes = Arc::unwrap_or_clone(bytes);
        let kind = match raster_kind(&bytes) {
            Some(RasterKind::Png | RasterKind::Jpeg) => DocumentKind::Picture,
            Some(RasterKind::Tiff) | None => DocumentKind::Paged,
        };
        let unreadable = |e: TextractError| match e {
            TextractError::Unavailable(_) => ExtractFailure::Transient(e.to_string()),
            TextractError::Unreadable(_) | TextractError::Timeout(_) => {
                ExtractFailure::File(e.to_string())
            }
        };
        let blocking_failed = |e: tokio::task::JoinError| ExtractFailure::Transient(e.to_string());
        // A wanted page over Textract's limits (see the module's paragraph) goes alone.
        let limits = self.limits.clone();
        let want = wanted.to_vec();
        let (bytes, pictures) = tokio::task::spawn_blocking(move || {
            let wanted_over = |sizes: Vec<(f32, f32)>, max: f32| {
                want.iter().any(|p| {
                    sizes
                        .get(*p as usize - 1)
                        .is_some_and(|(w, h)| w.max(*h) > max)
                })
            };
            let over = kind == DocumentKind::Paged
                && match raster_kind(&bytes) {
                    None => page_inches(&bytes, &limits)
                        .is_ok_and(|sizes| wanted_over(sizes, MAX_PAGE_INCHES)),
                    Some(_) => raster_page_sizes(&bytes).is_ok_and(|sizes| {
                        let sizes = sizes.iter().map(|&(w, h)| (w as f32, h as f32));
                        wanted_over(sizes.collect(), MAX_PICTURE_SIDE as f32)
                    }),
                };
            if !over {
                return Ok((bytes, None));
            }
            let mut pdfs = vec![];
            for (page, picture) in page_images(&bytes, &limits, &want)? {
                if let Some(g) = picture {
                    pdfs.push((page, gray_as_pdf(g, MAX_PAGE_INCHES, MAX_PICTURE_SIDE)?));
                }
            }
            Ok((bytes, Some(pdfs)))
        })
        .await
        .map_err(blocking_failed)?
        .map_err(|e: isoscan_extract::ExtractError| ExtractFailure::File(e.to_string()))?;
        let texts = match pictures {
            Some(pdfs) => {
                let mut texts = std::collections::BTreeMap::new();
                for (page, pdf) in pdfs {
                    let mut read = self
                        .textract
                        .read(&pdf, DocumentKind::Paged, 1, &[1])
                        .await
                        .map_err(unreadable)?;
                    texts.insert(page, read.remove(&1).unwrap_or_default());
                }
                texts
            }
            None => {
                // Textract takes a PNG or JPEG of 10 MB and 10,000 pixels a side at most, even
                // from S3; a PDF showing it (made smaller to fit), of any size up to 500 MB, it
                // reads.
                let too_large = |b: &[u8]| {
                    b.len() > SYNC_LIMIT
                        || raster_page_sizes(b).is_ok_and(|sizes| {
                            sizes.iter().any(|(w, h)| *w.max(h) > MAX_PICTURE_SIDE)
                        })
                };
                let (bytes, kind) = if kind == DocumentKind::Picture && too_large(&bytes) {
                    let pdf = tokio::task::spawn_blocking(move || {
                        picture_as_pdf(&bytes, MAX_PAGE_INCHES, MAX_PICTURE_SIDE)
                    })
                    .await
                    .map_err(blocking_failed)?
                    .map_err(|e| ExtractFailure::File(e.to_string()))?;
                    (pdf, DocumentKind::Paged)
                } else {
                    (bytes, kind)
                };
                self.textract
                    .read(&bytes, kind, page_count, wanted)
                    .await
                    .map_err(unreadable)?
            }
        };
        Ok(texts)
    }
}
