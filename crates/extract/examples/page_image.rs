//! Writes the picture OCR reads of one page of a PDF as a PGM file:
//! `cargo run -p isoscan-extract --example page_image -- FILE.pdf PAGE OUT.pgm` (add
//! `--features render` for pages drawn in vectors).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, file, page, out] = args.as_slice() else {
        return Err("usage: page_image FILE.pdf PAGE OUT.pgm".into());
    };
    let bytes = std::fs::read(file)?;
    let page: u32 = page.parse()?;
    let limits = isoscan_extract::Limits::default();
    let images = isoscan_extract::raster::page_images(&bytes, &limits, &[page])?;
    match images.into_iter().next().and_then(|(_, g)| g) {
        Some(g) => {
            std::fs::write(out, g.to_pgm())?;
            println!("{} x {}", g.width, g.height);
            Ok(())
        }
        None => Err("no picture on that page".into()),
    }
}
