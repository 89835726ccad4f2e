//! The pure domain of isoscan: protocol messages, the matcher, the target-list reader, the
//! report writer and the scan-session state. It does no I/O of its own (no files, sockets,
//! clocks or threads) and must not depend on tokio, AWS, axum or SQLite.

pub mod location;
pub mod matcher;
pub mod protocol;
pub mod report;
pub mod result;
pub mod targets;
pub mod text;
