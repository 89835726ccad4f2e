//! A generator of drawing-like PDFs with known codes (every text form a CAD exporter uses, at
//! isometric and other angles, in every kind of font) and of hostile PDFs, for isoscan's tests
//! and benchmarks. Seeded: the same seed gives the same bytes. It depends on no other isoscan
//! crate, so the ground truth is independent of the reader it checks.

pub mod drawing;
pub mod fonts;
pub mod hostile;
pub mod scan;
pub mod writer;

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

pub use drawing::{drawing, DrawingOptions, FileTruth};

/// Writes `n` drawings as `DIR/iso_NNNNN.pdf` (in sub-folders of 500) and returns their truth,
/// keyed by path relative to `dir`.
pub fn write_corpus(
    dir: &Path,
    n: usize,
    seed: u64,
    opts: DrawingOptions,
) -> io::Result<BTreeMap<String, FileTruth>> {
    let mut truth = BTreeMap::new();
    for i in 0..n {
        let (bytes, t) = drawing(seed.wrapping_mul(1_000_003).wrapping_add(i as u64), opts);
        let rel = format!("area-{:02}/iso_{i:05}.pdf", i / 500);
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, bytes)?;
        truth.insert(rel, t);
    }
    Ok(truth)
}

/// A code list of `n` codes: the corpus's codes first (as many as fit), then codes no drawing has.
pub fn code_list(truth: &BTreeMap<String, FileTruth>, n: usize) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = vec![];
    // One code from each drawing in turn, so the listed codes are spread over the corpus.
    let mut round = 0;
    while out.len() < n / 2 {
        let mut any = false;
        for t in truth.values() {
            if let Some(c) = t.codes.get(round) {
                any = true;
                if out.len() < n / 2 && seen.insert(c.clone()) {
                    out.push(c.clone());
                }
            }
        }
        if !any {
            break;
        }
        round += 1;
    }
    for t in truth.values() {
        for c in &t.absent {
            if out.len() >= n * 3 / 4 {
                break;
            }
            if seen.insert(c.clone()) {
                out.push(c.clone());
            }
        }
    }
    let mut i = 0u64;
    while out.len() < n {
        let c = format!("ZZ-{:02}-{:04}", 10 + i / 10_000 % 90, i % 10_000);
        if seen.insert(c.clone()) {
            out.push(c);
        }
        i += 1;
    }
    out
}

/// Writes a code list as an .xlsx workbook with a "Hole Code" header.
pub fn write_xlsx(path: &Path, codes: &[String]) -> io::Result<()> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let err = |e: rust_xlsxwriter::XlsxError| io::Error::other(e.to_string());
    ws.write_string(0, 0, "Hole Code").map_err(err)?;
    for (i, c) in codes.iter().enumerate() {
        ws.write_string(i as u32 + 1, 0, c).map_err(err)?;
    }
    wb.save(path).map_err(err)
}
