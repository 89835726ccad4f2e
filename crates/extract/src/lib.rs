//! Text out of a drawing PDF, built for what drawings are made of: text drawn one glyph at a
//! time, words split over operators, text at any angle, title blocks in form XObjects, Type0
//! fonts without ToUnicode maps.
//!
//! lopdf parses objects and decodes streams; the glyph layer (fonts, text state, content
//! interpretation) and the word grouping are ours. For OCR, [`raster`] hands over the picture
//! of a page without text: its scanned image decoded, or the page rendered by hayro. Every file is read under [`Limits`], and a
//! file over one is an [`ExtractError`], never a hang or unbounded memory. This crate works on
//! bytes: it does no I/O of its own, spawns nothing, and knows nothing of the engine.

mod cmap;
mod doc;
mod font;
mod interp;
mod lexer;
pub mod raster;
#[rustfmt::skip]
mod tables;
mod words;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use isoscan_core::text::{DocText, PageText};
use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId};

/// Per-file limits. None is reachable by a well-formed drawing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub wall_time: Duration,
    pub max_decompressed_bytes: u64,
    pub max_ops_per_page: usize,
    pub max_glyphs_per_page: usize,
    pub max_xobject_depth: usize,
    pub max_ref_depth: usize,
    pub max_pages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wall_time: Duration::from_secs(30),
            max_decompressed_bytes: 256 * 1024 * 1024,
            max_ops_per_page: 10_000_000,
            max_glyphs_per_page: 2_000_000,
            max_xobject_depth: 16,
            max_ref_depth: 32,
            max_pages: 10_000,
        }
    }
}

/// Why a file could not be read. Each is a FILE_ERROR for the scan, never a retry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExtractError {
    #[error("not a PDF: {0}")]
    NotPdf(String),
    #[error("encrypted: a password is required to open this file")]
    Encrypted,
    #[error("damaged PDF: {0}")]
    Malformed(String),
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    #[error("timed out after {0} s")]
    Timeout(f32),
}

impl ExtractError {
    /// A short machine-readable reason.
    pub fn code(&self) -> &'static str {
        match self {
            ExtractError::NotPdf(_) => "not_pdf",
            ExtractError::Encrypted => "encrypted",
            ExtractError::Malformed(_) => "damaged",
            ExtractError::LimitExceeded(_) => "limit",
            ExtractError::Timeout(_) => "timeout",
        }
    }
}

fn describe_start(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "the file is empty".into();
    }
    let head: String = bytes
        .iter()
        .take(16)
        .map(|b| {
            if b.is_ascii_graphic() || *b == b' ' {
                *b as char
            } else {
                '.'
            }
        })
        .collect();
    let lower = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    if lower.contains("<html") || lower.contains("<!doctype") {
        return "it is an HTML page".into();
    }
    format!("it starts with \"{head}\"")
}

fn load(bytes: &[u8], limits: &Limits) -> Result<Document, ExtractError> {
    let head = &bytes[..bytes.len().min(1024)];
    if !head.windows(5).any(|w| w == b"%PDF-") {
        return Err(ExtractError::NotPdf(describe_start(bytes)));
    }
    let options = LoadOptions {
        password: Some(String::new()),
        max_decompressed_size: Some(
            usize::try_from(limits.max_decompressed_bytes).unwrap_or(usize::MAX),
        ),
        ..LoadOptions::default()
    };
    match Document::load_mem_with_options(bytes, options) {
        Ok(doc) => Ok(doc),
        Err(lopdf::Error::InvalidPassword) | Err(lopdf::Error::Decryption(_)) => {
            Err(ExtractError::Encrypted)
        }
        Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. })) => {
            Err(ExtractError::LimitExceeded(format!(
                "decompressed data over {} MiB",
                limits.max_decompressed_bytes >> 20
            )))
        }
        Err(e) => Err(ExtractError::Malformed(e.to_string())),
    }
}

/// Extracts the text of every page. A picture file (PNG, JPEG, TIFF) has no text: each of its
/// pages is marked as needing OCR.
pub fn extract(bytes: &[u8], limits: &Limits) -> Result<DocText, ExtractError> {
    if raster::raster_kind(bytes).is_some() {
        let n = raster::raster_pages(bytes)?;
        return Ok(DocText {
            pages: (0..n)
                .map(|_| PageText {
                    text: String::new(),
                    needs_ocr: true,
                    ocr: false,
                })
                .collect(),
        });
    }
    let start = Instant::now();
    let doc = load(bytes, limits)?;
    if doc.is_encrypted() && doc.encryption_state.is_none() {
        return Err(ExtractError::Encrypted);
    }
    let ctx = doc::Ctx::new(&doc, limits, start);
    ctx.check_time()?;
    let pages = page_list(&ctx)?;
    if pages.is_empty() {
        return Err(ExtractError::Malformed("no page could be read".into()));
    }
    let mut interp = interp::Interp::new(&ctx);
    let mut out = DocText::default();
    for (page, resources) in pages {
        let content = page_content(&ctx, &page)?;
        let r = interp.page(&page, &content, resources.as_ref())?;
        let text = words::layout(&r.glyphs);
        let needs_ocr = !text.chars().any(|c| c.is_alphanumeric());
        out.pages.push(PageText {
            text,
            needs_ocr,
            ocr: false,
        });
    }
    Ok(out)
}

/// Pages in order, each with its (inherited) resources. Walks the page tree with an explicit
/// stack, so neither a cycle nor a deep tree can hang or overflow.
fn page_list(ctx: &doc::Ctx) -> Result<Vec<(Dictionary, Option<Dictionary>)>, ExtractError> {
    let doc = ctx.doc;
    let root = doc
        .trailer
        .get(b"Root")
        .map_err(|_| ExtractError::Malformed("no document catalog (/Root)".into()))?;
    let Object::Dictionary(catalog) = ctx.resolve(root)? else {
        return Err(ExtractError::Malformed(
            "the document catalog is not a dictionary".into(),
        ));
    };
    let pages_ref = catalog
        .get(b"Pages")
        .map_err(|_| ExtractError::Malformed("no page tree (/Pages)".into()))?;
    let mut seen: HashSet<ObjectId> = HashSet::new();
    let mut out = vec![];
    // (node, inherited resources, depth)
    let mut stack: Vec<(Object, Option<Dictionary>, usize)> = vec![(pages_ref.clone(), None, 0)];
    while let Some((node, inherited, depth)) = stack.pop() {
        if depth > 256 {
            return Err(ExtractError::LimitExceeded(
                "page tree deeper than 256 levels".into(),
            ));
        }
        if let Object::Reference(id) = node {
            if !seen.insert(id) {
                return Err(ExtractError::Malformed(format!(
                    "page tree refers back to object {} {}",
                    id.0, id.1
                )));
            }
        }
        let Object::Dictionary(dict) = ctx.resolve(&node)? else {
            continue;
        };
        let resources = match dict
            .get(b"Resources")
            .ok()
            .map(|o| ctx.resolve(o))
            .transpose()?
        {
            Some(Object::Dictionary(d)) => Some(d.clone()),
            _ => inherited,
        };
        let kids = match dict.get(b"Kids").ok().map(|o| ctx.resolve(o)).transpose()? {
            Some(Object::Array(k)) => Some(k),
            _ => None,
        };
        let is_pages = dict.get(b"Type").ok().and_then(|t| t.as_name().ok()) == Some(b"Pages");
        match kids {
            Some(kids) if is_pages || !dict.has(b"Contents") => {
                for kid in kids.iter().rev() {
                    stack.push((kid.clone(), resources.clone(), depth + 1));
                }
            }
            _ => {
                if out.len() >= ctx.limits.max_pages {
                    return Err(ExtractError::LimitExceeded(format!(
                        "more than {} pages",
                        ctx.limits.max_pages
                    )));
                }
                out.push((dict.clone(), resources));
            }
        }
    }
    Ok(out)
}

pub(crate) fn page_content(ctx: &doc::Ctx, page: &Dictionary) -> Result<Vec<u8>, ExtractError> {
    let mut data = Vec::new();
    let Ok(contents) = page.get(b"Contents") else {
        return Ok(data);
    };
    let missing =
        |o: &Object| matches!(o, Object::Reference(id) if !ctx.doc.objects.contains_key(id));
    if missing(contents)
        || matches!(ctx.resolve(contents)?, Object::Array(parts) if parts.iter().any(missing))
    {
        return Err(ExtractError::Malformed(
            "a page's content is missing (is the file truncated?)".into(),
        ));
    }
    match ctx.resolve(contents)? {
        Object::Stream(s) => data = ctx.stream_data(s)?,
        Object::Array(parts) => {
            for part in parts {
                if let Object::Stream(s) = ctx.resolve(part)? {
                    data.extend_from_slice(&ctx.stream_data(s)?);
                    data.push(b'\n');
                }
            }
        }
        _ => {}
    }
    Ok(data)
}
