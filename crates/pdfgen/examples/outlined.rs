//! Writes a sheet whose text is only vector outlines, and its codes:
//! `cargo run -p isoscan-pdfgen --example outlined -- DIR` (`DIR/outlined.pdf`, `DIR/outlined.json`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).ok_or("usage: outlined DIR")?);
    std::fs::create_dir_all(&dir)?;
    let codes: Vec<String> = (0..18)
        .map(|i| {
            format!(
                "{}-{:04}",
                ["HC", "SUP", "FW", "VLV-12"][i % 4],
                1000 + i * 377
            )
        })
        .collect();
    std::fs::write(
        dir.join("outlined.pdf"),
        isoscan_pdfgen::scan::outlined(&codes)?,
    )?;
    std::fs::write(dir.join("outlined.json"), serde_json::to_vec(&codes)?)?;
    Ok(())
}
