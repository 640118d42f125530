//! gridsync for Kotlin, Swift and Python apps: uniffi proc-macro exports over the core.
//!
//! - [`GridsyncReplica`] wraps `gridsync_core::Replica` (the store of one device's
//!   households, visits and cases) method for method;
//! - [`SyncSession`] wraps the core's QUIC `SyncClient` and owns the tokio runtime it runs on;
//! - [`ChangeListener`] is the callback interface for changed records and sync status;
//! - [`GridsyncError`] is the one error every fallible call throws.
//!
//! Records and enums mirror the core's types with ids and grid paths as strings and times
//! as `i64` milliseconds since the Unix epoch; [`convert`] holds every conversion. The
//! app developer's guide is `docs/ffi.md`; `ffi/build-bindings.sh` generates the bindings
//! and `ffi/test-bindings.sh` tests them on the JVM and in Python against a real relay.

mod cases;
mod convert;
mod error;
mod identity;
mod listener;
mod records;
mod refused;
mod replica;
mod sync;

pub use cases::*;
pub use error::GridsyncError;
pub use identity::Grants;
pub use listener::ChangeListener;
pub use records::*;
pub use refused::{Discarded, RecordKind, RefusedRecord};
pub use replica::GridsyncReplica;
pub use sync::{
    LinkState, PendingSummary, RecordSyncState, Refusal, RelayConfig, RelayTrust, SyncReport,
    SyncSession, SyncStatus,
};

uniffi::setup_scaffolding!();

#[cfg(test)]
mod tests;
