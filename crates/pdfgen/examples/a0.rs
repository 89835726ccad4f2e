//! Writes an A0 sheet scanned at 400 ppi and the codes on it, for the OCR benchmark:
//! `cargo run --release -p isoscan-pdfgen --example a0 -- DIR` (DIR/a0_scan.pdf, DIR/a0.json).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).ok_or("usage: a0 DIR")?);
    std::fs::create_dir_all(&dir)?;
    let (pdf, codes) = isoscan_pdfgen::scan::a0_scan(40)?;
    std::fs::write(dir.join("a0_scan.pdf"), pdf)?;
    std::fs::write(dir.join("a0.json"), serde_json::to_vec(&codes)?)?;
    Ok(())
}
