//! Extraction in worker processes: a file that kills its reader or hangs is a FILE_ERROR, and
//! the pool goes on reading the next file.

use std::path::PathBuf;
use std::time::Duration;

use isoscan_core::result::FileRef;
use isoscan_engine::ports::{ExtractFailure, Extractor};
use std::sync::Arc;

use isoscan_local::sandbox::{PoolConfig, ProcessPool};
use isoscan_pdfgen::hostile::hostile;
use isoscan_pdfgen::{drawing, DrawingOptions};

fn file(name: &str) -> FileRef {
    FileRef {
        id: None,
        path: name.into(),
        size: None,
        link: String::new(),
    }
}

fn sample(name: &str) -> Vec<u8> {
    hostile()
        .into_iter()
        .find(|s| s.name == name)
        .map(|s| s.bytes)
        .unwrap_or_default()
}

fn program() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_isoscan"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_over_its_memory_limit_is_a_file_error_and_the_next_file_is_read() {
    let mut cfg = PoolConfig::new(program(), 1);
    // No glyph or operator limit: only the address-space limit stops the glyph bomb.
    cfg.limits.max_glyphs_per_page = usize::MAX;
    cfg.limits.max_ops_per_page = usize::MAX;
    cfg.memory_mb = 200;
    let pool = ProcessPool::new(cfg);
    let r = pool
        .extract(
            &file("bomb_glyphs.pdf"),
            Arc::new(sample("bomb_glyphs.pdf")),
        )
        .await;
    match r {
        Err(ExtractFailure::File(reason)) => assert!(reason.contains("memory"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let (good, truth) = drawing(
        3,
        DrawingOptions {
            small: true,
            ..Default::default()
        },
    );
    let doc = pool
        .extract(&file("good.pdf"), Arc::new(good))
        .await
        .expect("next file");
    assert!(doc.pages[0].text.contains(&truth.codes[0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_past_its_time_is_killed_and_replaced() {
    let mut cfg = PoolConfig::new(program(), 1);
    // The whitespace bomb, allowed to inflate fully, takes far longer than this.
    cfg.limits.max_decompressed_bytes = 4 << 30;
    cfg.limits.wall_time = Duration::from_millis(50);
    cfg.grace = Duration::from_millis(100);
    cfg.memory_mb = 0;
    let pool = ProcessPool::new(cfg);
    let started = std::time::Instant::now();
    match pool
        .extract(&file("bomb.pdf"), Arc::new(sample("bomb_whitespace.pdf")))
        .await
    {
        Err(ExtractFailure::File(reason)) => assert!(reason.contains("timed out"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    let (good, _) = drawing(
        4,
        DrawingOptions {
            small: true,
            ..Default::default()
        },
    );
    assert!(pool
        .extract(&file("good.pdf"), Arc::new(good))
        .await
        .is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_of_the_reader_come_back_with_their_reason() {
    let pool = ProcessPool::new(PoolConfig::new(program(), 2));
    match pool
        .extract(&file("password.pdf"), Arc::new(sample("password.pdf")))
        .await
    {
        Err(ExtractFailure::File(reason)) => assert!(reason.starts_with("encrypted"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let missing = ProcessPool::new(PoolConfig::new(PathBuf::from("/nonexistent/isoscan"), 1));
    assert!(matches!(
        missing.extract(&file("x.pdf"), Arc::new(vec![])).await,
        Err(ExtractFailure::Transient(_))
    ));
}
