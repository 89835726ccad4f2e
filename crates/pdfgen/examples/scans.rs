//! Writes generated scans and their truth: `cargo run -p isoscan-pdfgen --example scans -- DIR N`
//! (add `--sources` to write each scan's drawing beside it as `source_NNN.pdf`, with its text
//! layer, to find where a code lies on the sheet).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).ok_or("usage: scans DIR N [--sources]")?);
    let n: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(9);
    let scans = isoscan_pdfgen::scan::write_scans(&dir, n)?;
    if args.iter().any(|a| a == "--sources") {
        for i in 0..n {
            let (pdf, _) = isoscan_pdfgen::scan::source_of(i);
            std::fs::write(dir.join(format!("source_{i:03}.pdf")), pdf)?;
        }
    }
    let truth: std::collections::BTreeMap<_, _> =
        scans.into_iter().map(|(name, (t, _))| (name, t)).collect();
    std::fs::write(dir.join("truth.json"), serde_json::to_vec_pretty(&truth)?)?;
    Ok(())
}
