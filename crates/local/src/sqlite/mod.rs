//! SQLite adapters of the session store, the event log and the job queue: one database file
//! under the server's data folder. Every write is one transaction on one connection, so the
//! conditional writes (a result once per path, one finalize winner, a listing page counted
//! once) hold as they do on DynamoDB. The queue keeps leases: a job received and not
//! acknowledged in time is delivered again, also after a restart.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use isoscan_core::protocol::{Envelope, ServerMessage};
use isoscan_core::result::FileResult;
use isoscan_engine::ports::*;
use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::Notify;

mod events;
mod queue;
mod schema;
mod sessions;

pub use schema::SqliteState;

use schema::*;
