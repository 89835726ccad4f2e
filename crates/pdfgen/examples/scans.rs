//! Writes generated scans and their truth: `cargo run -p isoscan-pdfgen --example scans -- DIR N`.

use isoscan_pdfgen::scan::{scan_of, ScanOptions};
use isoscan_pdfgen::{drawing, DrawingOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).ok_or("usage: scans DIR N")?);
    let n: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(9);
    std::fs::create_dir_all(&dir)?;
    let mut truth = std::collections::BTreeMap::new();
    for i in 0..n {
        let (pdf, t) = drawing(
            9_000 + i as u64,
            DrawingOptions {
                small: true,
                upright: true,
            },
        );
        let opts = ScanOptions {
            dpi: [150, 200, 300][i % 3],
            stored_turned: [0, 90, 0, 270][i % 4],
            noise: 24,
            bilevel: i % 5 == 4,
        };
        let name = format!("scan_{i:03}.pdf");
        std::fs::write(dir.join(&name), scan_of(&pdf, opts, i as u64)?)?;
        std::fs::write(dir.join(format!("vector_{i:03}.pdf")), &pdf)?;
        truth.insert(name, t);
    }
    std::fs::write(dir.join("truth.json"), serde_json::to_vec_pretty(&truth)?)?;
    Ok(())
}
