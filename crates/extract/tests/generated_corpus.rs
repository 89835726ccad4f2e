//! Recall and precision on drawings from the repository's generator, per text form, per font
//! kind, and the hostile files.

use std::collections::BTreeMap;

use isoscan_core::matcher::Matcher;
use isoscan_extract::{extract, ExtractError, Limits};
use isoscan_pdfgen::hostile::{hostile, recoverable, RECOVERABLE_CODES};
use isoscan_pdfgen::{drawing, DrawingOptions};

#[derive(Default)]
struct Tally {
    found: u32,
    total: u32,
}

fn pct(t: &Tally) -> f64 {
    100.0 * f64::from(t.found) / f64::from(t.total.max(1))
}

#[test]
fn recall_and_precision_on_generated_drawings() {
    let files: u64 = std::env::var("ISOSCAN_CORPUS_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    let limits = Limits::default();
    let mut by_form: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_font: BTreeMap<String, Tally> = BTreeMap::new();
    let (mut tp, mut fp) = (0u32, 0u32);
    let mut misses = vec![];
    for seed in 0..files {
        let (bytes, truth) = drawing(seed, DrawingOptions::default());
        let doc = extract(&bytes, &limits).unwrap_or_else(|e| panic!("drawing {seed}: {e}"));
        // The file's codes and its look-alikes in one list: look-alikes found are false positives.
        let mut list = truth.codes.clone();
        list.extend(truth.absent.iter().cloned());
        let hits = Matcher::new(&list).unwrap().find_in_doc(&doc);
        for (i, code) in truth.codes.iter().enumerate() {
            let form = truth.modes[code].clone();
            let hit = hits.get(&i);
            let ok = hit.is_some();
            for t in [
                by_form.entry(form.clone()).or_default(),
                by_font.entry(truth.font.clone()).or_default(),
            ] {
                t.total += 1;
                t.found += u32::from(ok);
            }
            if ok {
                tp += 1;
                assert_eq!(
                    hit,
                    truth.pages.get(code),
                    "pages of {code} in drawing {seed}"
                );
            } else if misses.len() < 20 {
                misses.push(format!("drawing {seed}: {code} ({form}, {})", truth.font));
            }
        }
        for (i, code) in truth.absent.iter().enumerate() {
            if hits.contains_key(&(truth.codes.len() + i)) {
                fp += 1;
                misses.push(format!("drawing {seed}: look-alike {code} matched"));
            }
        }
    }
    let total: u32 = by_form.values().map(|t| t.total).sum();
    for (k, t) in by_form.iter().chain(by_font.iter()) {
        eprintln!("{k:28} {:5}/{:5} {:6.2}%", t.found, t.total, pct(t));
    }
    let recall = 100.0 * f64::from(tp) / f64::from(total);
    let precision = 100.0 * f64::from(tp) / f64::from(tp + fp);
    eprintln!("recall {recall:.3}% precision {precision:.3}% over {files} drawings, {total} codes");
    for m in &misses {
        eprintln!("{m}");
    }
    assert!(recall >= 99.5, "recall {recall:.3}%");
    assert!(precision >= 99.9, "precision {precision:.3}%");
    for (k, t) in by_form.iter().chain(by_font.iter()) {
        assert!(pct(t) >= 98.0, "{k}: {:.2}%", pct(t));
    }
    // Every form at every angle of the issue was drawn.
    for mode in isoscan_pdfgen::drawing::MODES {
        for angle in isoscan_pdfgen::drawing::ANGLES {
            let key = format!("{mode}@{angle}");
            assert!(
                by_form.contains_key(&key) || files < 100,
                "no {key} in the corpus"
            );
        }
    }
}

#[test]
fn hostile_files_are_errors_with_reasons() {
    let limits = Limits::default();
    for s in hostile() {
        let r = extract(&s.bytes, &limits);
        let err = r
            .err()
            .unwrap_or_else(|| panic!("{} ({}) was read", s.name, s.what));
        eprintln!("{:24} {err}", s.name);
        assert!(!err.to_string().is_empty());
        if s.name == "password.pdf" {
            assert_eq!(err, ExtractError::Encrypted);
        }
    }
}

#[test]
fn damaged_but_recoverable_files_are_read() {
    let limits = Limits::default();
    let m = Matcher::new(
        &RECOVERABLE_CODES
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    )
    .unwrap();
    for s in recoverable() {
        let doc = extract(&s.bytes, &limits).unwrap_or_else(|e| panic!("{}: {e}", s.name));
        assert_eq!(m.find_in_doc(&doc).len(), 2, "{}: {:?}", s.name, doc);
    }
}
