//! Sessions, file results, the event log and connections in one DynamoDB table (`pk`, `sk`).
//!
//! | item | pk | sk |
//! |---|---|---|
//! | session (counters as numbers, so `ADD` moves them) | `S#id` | `META` |
//! | target list, in chunks | `S#id` | `T#00000` |
//! | a listed page (counted once), with its next cursor | `S#id` | `P#sha256(cursor)` |
//! | a file's result, once per path | `S#id` | `R#path` (a path over 600 bytes: cut, then its SHA-256) |
//! | the event log's counter | `S#id` | `SEQ` |
//! | an event, with when it was written (`at`, ms) | `S#id` | `E#000000000042` |
//! | the marker of an event logged once (COMPLETE) | `S#id` | `K#key` |
//! | a connection following the session | `S#id` | `C#connection` |
//! | a connection | `C#connection` | `META` |
//!
//! Every item has a `ttl`. Sessions not ended also have `open`, the key of the sparse,
//! keys-only index `open` the sweeper queries.
//!
//! A result and the session's counters are written in one transaction with a condition on the
//! result, so a redelivered file changes nothing. An event takes its seq by an atomic `ADD` on
//! the counter, then is written under a condition; a reader stops before a seq not yet
//! written, and fills it (a PROGRESS) once a later event has waited `HOLE_WAIT` for it, so a
//! client never skips a message and never waits for one whose writer died.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use isoscan_core::protocol::{Envelope, ServerMessage};
use isoscan_core::result::FileResult;
use isoscan_engine::ports::*;

mod events;
mod items;
mod sessions;
mod table;

pub use items::{DynamoStore, OPEN_INDEX, TTL_S};

use items::*;
use table::*;
