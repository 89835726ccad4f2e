//! Writes an A0 sheet scanned at 400 ppi and the codes on it, for the OCR benchmark:
//! `cargo run --release -p isoscan-pdfgen --example a0 -- DIR [--angled]` (DIR/a0_scan.pdf and
//! DIR/a0.json, a list of codes; with `--angled`, text at every angle, and DIR/a0.json maps each
//! code to how it was drawn, `mode@angle`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().ok_or("usage: a0 DIR [--angled]")?);
    let angled = args.any(|a| a == "--angled");
    std::fs::create_dir_all(&dir)?;
    let (pdf, modes) = isoscan_pdfgen::scan::a0_scan(40, angled)?;
    std::fs::write(dir.join("a0_scan.pdf"), pdf)?;
    let json = match angled {
        true => serde_json::to_vec(&modes)?,
        false => serde_json::to_vec(&modes.keys().collect::<Vec<_>>())?,
    };
    std::fs::write(dir.join("a0.json"), json)?;
    Ok(())
}
