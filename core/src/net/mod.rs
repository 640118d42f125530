//! The QUIC side of sync: the one connection driver both ends run, the handset's client,
//! the bulk lane, TLS trust, and the status the handset reports.
//!
//! ```text
//!  SyncClient (client) ── connect (0-RTT, watchdog) ──┐
//!     HandsetPeer (handset) ── ClientSession          │  driver::drive(conn, streams, peer)
//!  relay: server::conn::RelayPeer ── RelaySession ────┘    control stream + lanes (bulk)
//! ```

pub mod client;
mod connect;
pub mod driver;
mod failover;
mod handset;
pub mod lanes;
pub mod status;
pub mod tls;

pub use client::{Backoff, RelayTarget, SyncClient};
pub use driver::{Peer, drive};
pub use status::{LinkState, SyncReport, SyncStatus};
pub use tls::Trust;
