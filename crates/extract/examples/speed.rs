//! Extraction alone, one thread, over every PDF under a folder:
//! `cargo run --release -p isoscan-extract --example speed -- DIR`
use std::time::Instant;

fn pdfs(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            pdfs(&p, out);
        } else if p.extension().is_some_and(|x| x == "pdf") {
            out.push(p);
        }
    }
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let mut files = vec![];
    pdfs(std::path::Path::new(&dir), &mut files);
    let data: Vec<Vec<u8>> = files.iter().filter_map(|f| std::fs::read(f).ok()).collect();
    let limits = isoscan_extract::Limits::default();
    let t = Instant::now();
    let mut chars = 0usize;
    for d in &data {
        if let Ok(doc) = isoscan_extract::extract(d, &limits) {
            chars += doc.pages.iter().map(|p| p.text.len()).sum::<usize>();
        }
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "{} files in {s:.3} s: {:.0} files/s ({chars} chars)",
        data.len(),
        data.len() as f64 / s
    );
}
