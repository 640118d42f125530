//! The handset's QUIC client: TLS trust, the driver that runs the sync session over a
//! quinn connection, and the status it reports.

pub mod client;
pub mod lanes;
pub mod status;
pub mod tls;

pub use client::{Backoff, RelayTarget, SyncClient, Traffic};
pub use status::{LinkState, SyncReport, SyncStatus};
pub use tls::Trust;
