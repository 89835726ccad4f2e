//! In-memory adapters of every port. They are as strict as the cloud ones: conditional
//! inserts, one winner for finalize, redelivery after the visibility timeout.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use isoscan_core::protocol::{Envelope, ServerMessage};
use isoscan_core::result::FileResult;
use tokio::sync::Notify;

use crate::ports::*;

mod clock;
mod notifier;
mod queue;
mod read;
mod reports;
mod source;
mod store;
mod uploads;

pub use clock::*;
pub use notifier::*;
pub use queue::*;
pub use read::*;
pub use reports::*;
pub use source::*;
pub use store::*;
pub use uploads::*;
