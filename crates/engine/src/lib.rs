//! The scan engine: ports (small object-safe async traits over domain types), the use cases that
//! run over them (start, list, process batch, finalize, cancel), in-memory adapters of every
//! port, and the shared suites every adapter must pass.
//!
//! It must not depend on any adapter's technology: no SQLite, no AWS SDK, no axum, no process
//! spawning, no file system. tokio is used only for its timers and synchronisation.

pub mod memory;
pub mod ports;
pub mod routing;
#[cfg(feature = "testing")]
pub mod suite;
pub mod usecases;

pub use usecases::{
    Engine, EngineConfig, EngineError, JobOutcome, Ports, ScanRequest, Step, Swept, UploadQuota,
    FILES_PER_JOB, MAX_RECEIVES, REPLAY_PAGE,
};
