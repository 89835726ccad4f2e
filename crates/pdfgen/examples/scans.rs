//! Writes generated scans and their truth: `cargo run -p isoscan-pdfgen --example scans -- DIR N`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).ok_or("usage: scans DIR N")?);
    let n: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(9);
    let scans = isoscan_pdfgen::scan::write_scans(&dir, n)?;
    let truth: std::collections::BTreeMap<_, _> =
        scans.into_iter().map(|(name, (t, _))| (name, t)).collect();
    std::fs::write(dir.join("truth.json"), serde_json::to_vec_pretty(&truth)?)?;
    Ok(())
}
