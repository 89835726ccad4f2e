//! Scores the extractor on a corpus made by `../shared/tools/pdfcorpus/gen_corpus.py`:
//! `cargo run --release -p isoscan-extract --example refscore -- CORPUS_DIR`
use std::collections::BTreeMap;
use std::time::Instant;

use isoscan_core::matcher::Matcher;
use isoscan_extract::{extract, Limits};

fn main() {
    let dir = std::env::args().nth(1).expect("corpus dir");
    let gt: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!("{dir}/ground_truth.json")).expect("ground truth"),
    )
    .expect("json");
    let limits = Limits::default();
    let mut per_mode: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    let (mut found, mut total) = (0u32, 0u32);
    let start = Instant::now();
    let mut n = 0;
    let mut misses = vec![];
    for (name, v) in gt.as_object().expect("object") {
        let bytes = std::fs::read(format!("{dir}/good/{name}")).expect("file");
        let codes: Vec<String> = v["codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        let m = Matcher::new(&codes).unwrap();
        n += 1;
        let doc = match extract(&bytes, &limits) {
            Ok(d) => d,
            Err(e) => {
                println!("{name}: ERROR {e}");
                total += codes.len() as u32;
                continue;
            }
        };
        let hits = m.find_in_doc(&doc);
        for (i, c) in codes.iter().enumerate() {
            let mode = v["modes"][c].as_str().unwrap_or("?").to_string();
            let e = per_mode.entry(mode.clone()).or_default();
            e.1 += 1;
            total += 1;
            if hits.contains_key(&i) {
                e.0 += 1;
                found += 1;
            } else if misses.len() < 40 {
                misses.push(format!("{name} {c} {mode} ({})", v["kind"]));
            }
        }
    }
    let el = start.elapsed().as_secs_f64();
    for (m, (f, t)) in &per_mode {
        println!("{m:28} {f:5}/{t:5} {:.1}%", 100.0 * *f as f64 / *t as f64);
    }
    for m in misses {
        println!("miss: {m}");
    }
    println!(
        "recall {found}/{total} = {:.2}%  files {n} in {el:.2}s = {:.0} files/s",
        100.0 * found as f64 / total as f64,
        n as f64 / el
    );
    if let Ok(b) = std::fs::read(format!("{dir}/broken.json")) {
        let br: serde_json::Value = serde_json::from_slice(&b).unwrap();
        for (name, v) in br.as_object().unwrap() {
            let bytes = std::fs::read(format!("{dir}/broken/{name}")).unwrap();
            let t = Instant::now();
            let r = extract(&bytes, &limits);
            let s = match r {
                Ok(d) => format!(
                    "ok {} pages, text {:?}",
                    d.pages.len(),
                    d.pages
                        .first()
                        .map(|p| p.text.chars().take(40).collect::<String>())
                ),
                Err(e) => format!("ERR {e}"),
            };
            println!(
                "{name:34} {:6.2}s expect {:40} -> {s}",
                t.elapsed().as_secs_f32(),
                v["expect"].as_str().unwrap_or("")
            );
        }
    }
}
