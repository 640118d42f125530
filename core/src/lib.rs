//! gridsync core: field records as automerge documents in a durable on-device store,
//! the sans-IO sync protocol, and the QUIC client that drives it.
//!
//! # Layout
//! - [`ids`]: document ids, grid paths, timestamps.
//! - [`error`]: the detailed error every function returns.
//! - [`model`]: households, visits and cases, and the only code that knows document paths.
//! - [`store`]: the `Store` trait, sled and in-memory stores, the conformance suite.
//! - [`workflow`]: the case loop, roles, and the fold from timeline to status.
//! - [`schedule`]: visit intervals per tier and who is due.
//! - [`index`]: secondary indexes that answer lists and counts.
//! - [`replica`]: the façade ([`Replica`]) the app, CLI and sync driver use.
//! - [`sync`]: the sync protocol, sans-IO (wire messages, framing, sessions).
//! - [`net`]: the QUIC client that drives the sync session (TLS trust, reconnects, status).

mod cache;
pub mod error;
pub mod ids;
pub mod index;
pub mod model;
pub mod net;
pub mod replica;
pub mod schedule;
pub mod store;
pub mod sync;
pub mod untrusted;
pub mod workflow;

pub use error::{Denial, Error, Result};
pub use ids::{DAY_MS, DocId, DocKind, GridPath, Timestamp};
pub use replica::{Replica, ReplicaConfig};
