//! Writes a report of N matching rows (for the constant-memory measurement in scripts/bench.py):
//! `cargo run --release -p isoscan-core --example report_rows -- 100000 OUT.xlsx`

use std::collections::BTreeMap;

use isoscan_core::report::{ReportBuilder, ReportSummary};
use isoscan_core::result::{FileRef, FileResult, Outcome};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let out = args.next().unwrap_or_else(|| "report_rows.xlsx".into());
    let targets: Vec<String> = (0..500).map(|i| format!("HC-{i:04}")).collect();
    let mut b = ReportBuilder::new(&targets, None)?;
    for i in 0..n {
        let codes = vec![targets[i % 500].clone(), targets[(i * 7 + 3) % 500].clone()];
        let pages: BTreeMap<String, Vec<u32>> =
            codes.iter().map(|c| (c.clone(), vec![1, 2])).collect();
        let r = FileResult {
            file: FileRef {
                id: None,
                path: format!("area-{:03}/iso_{i:06}.pdf", i / 500),
                size: None,
                link: format!("file:///drawings/area-{:03}/iso_{i:06}.pdf", i / 500),
            },
            outcome: Outcome::Read {
                codes,
                pages,
                ocr: false,
                needs_ocr: vec![],
            },
        };
        b.add(&r, false)?;
    }
    let f = std::fs::File::create(&out)?;
    b.finish(
        &ReportSummary {
            matches: n as u64,
            ..Default::default()
        },
        f,
    )?;
    // The peak resident memory of this process (Linux), for scripts/bench.py.
    let hwm = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string())
        })
        .unwrap_or_else(|| "0".into());
    println!("{n} rows written to {out}; peak RSS {hwm} kB");
    Ok(())
}
