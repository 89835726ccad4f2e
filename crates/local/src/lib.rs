//! isoscan on one machine: the local adapters (folder and zip sources, extraction in worker
//! processes, SQLite store and queue, the command line's events writer and report file, the
//! axum server) and the `isoscan` binary.
//!
//! Adapters here implement the engine's ports; they hold no business logic. Nothing here may
//! depend on AWS except the S3 source, behind the `s3` feature; Drive comes from `isoscan-drive`.

pub mod cli;
pub mod ocr;
pub mod remote;
pub mod sandbox;
pub mod scan;
pub mod serve;
pub mod source;
pub mod sqlite;
