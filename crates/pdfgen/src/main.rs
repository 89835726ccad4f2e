//! `isoscan-gen`: writes generated corpora for tests, benchmarks and the shipped samples.
//!
//! isoscan-gen corpus DIR [--files N] [--seed S] [--small] [--codes N]
//! isoscan-gen hostile DIR
//! isoscan-gen samples DIR

use std::path::PathBuf;
use std::process::ExitCode;

use isoscan_pdfgen::{code_list, hostile, write_corpus, write_xlsx, DrawingOptions};

fn usage() -> ExitCode {
    eprintln!("usage: isoscan-gen corpus DIR [--files N] [--seed S] [--small] [--codes N]\n       isoscan-gen hostile DIR\n       isoscan-gen samples DIR");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(cmd), Some(dir)) = (args.first(), args.get(1)) else {
        return usage();
    };
    let dir = PathBuf::from(dir);
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let result = match cmd.as_str() {
        "corpus" => (|| -> std::io::Result<()> {
            let n = flag("--files").unwrap_or(100) as usize;
            let seed = flag("--seed").unwrap_or(1);
            let small = args.iter().any(|a| a == "--small");
            let truth = write_corpus(
                &dir.join("drawings"),
                n,
                seed,
                DrawingOptions {
                    small,
                    ..Default::default()
                },
            )?;
            std::fs::write(dir.join("truth.json"), serde_json::to_vec_pretty(&truth)?)?;
            let codes = code_list(&truth, flag("--codes").unwrap_or(500) as usize);
            write_xlsx(&dir.join("codes.xlsx"), &codes)?;
            println!(
                "{} drawings, {} codes in the list, in {}",
                truth.len(),
                codes.len(),
                dir.display()
            );
            Ok(())
        })(),
        "samples" => (|| -> std::io::Result<()> {
            // A few drawings of every kind, one damaged file, and a list with codes that are
            // on them and codes that are not.
            let mut truth = write_corpus(
                &dir.join("drawings"),
                8,
                7,
                DrawingOptions {
                    small: false,
                    ..Default::default()
                },
            )?;
            let small = write_corpus(
                &dir.join("drawings/small"),
                4,
                8,
                DrawingOptions {
                    small: true,
                    ..Default::default()
                },
            )?;
            truth.extend(small.into_iter().map(|(k, v)| (format!("small/{k}"), v)));
            let damaged = hostile::hostile()
                .into_iter()
                .find(|s| s.name == "truncated.pdf");
            if let Some(d) = damaged {
                std::fs::write(dir.join("drawings").join("damaged-export.pdf"), d.bytes)?;
            }
            let codes = code_list(&truth, 40);
            write_xlsx(&dir.join("codes.xlsx"), &codes)?;
            println!(
                "{} drawings, {} codes in the list, in {}",
                truth.len(),
                codes.len(),
                dir.display()
            );
            Ok(())
        })(),
        "hostile" => (|| -> std::io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            for s in hostile::hostile() {
                std::fs::write(dir.join(s.name), &s.bytes)?;
                println!("{:24} {}", s.name, s.what);
            }
            Ok(())
        })(),
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("isoscan-gen: {e}");
            ExitCode::FAILURE
        }
    }
}
