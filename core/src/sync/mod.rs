//! The sync protocol, sans-IO: message types, framing and the two session state machines.
//! Drivers (`net` on the handset, the relay's connection task) feed bytes and time in and
//! carry messages out; every protocol path is testable without a socket.
//!
//! # Pieces
//! - [`wire`]: the messages ([`ClientMsg`], [`RelayMsg`]) and what they carry.
//! - [`frame`]: the codec. A frame is `[u32 BE length][u8 flags][postcard body]`, bodies
//!   over 256 bytes zstd-compressed; [`FrameDecoder`] reassembles frames from a stream.
//! - [`backend`]: the two traits the sessions use to reach storage
//!   ([`HandsetBackend`], implemented by the replica; [`RelayBackend`], by the relay's hub).
//! - [`client`]: [`ClientSession`], the handset side of one connection.
//! - [`relay`]: [`RelaySession`], the relay side of one connection.
//! - `relay_conformance` (feature `testing`): the suite every [`RelayBackend`] passes.
//!
//! # Driving a session
//! Like quinn-proto: the driver calls `handle` with every decoded message and the current
//! time, then drains `poll_transmit` (and, on the handset, `poll_event`) until they return
//! `None`. Each [`Transmit`] names a [`Lane`]: [`Lane::Control`] messages go in order on
//! one bidirectional stream; [`Lane::Bulk`] messages go on a unidirectional stream of
//! their own (one per run of bulk messages, compressed with one shared zstd context:
//! [`zstream`]), so a big bootstrap batch never holds up acknowledgements or live changes.
//! The wire format and both state machines are specified in `docs/PROTOCOL.md`.

pub mod backend;
pub mod checked;
pub mod client;
pub mod frame;
pub mod relay;
#[cfg(any(test, feature = "testing"))]
pub mod relay_conformance;
#[cfg(test)]
mod sim;
pub mod wire;
pub mod zstream;

pub use backend::{
    DeviceGrant, HandsetBackend, NotIngested, OutboxItem, PullBatch, RefusedChange, Rejoin,
    RelayBackend,
};
pub use checked::{CheckedChange, MAX_CHANGE_BYTES, Unchecked};
pub use client::{ClientConfig, ClientEvent, ClientSession};
pub use frame::{FrameDecoder, FrameEncoder, MAX_BODY, MAX_FRAME, encode_client, encode_relay};
pub use relay::RelaySession;
pub use wire::{
    ChangeHash, ClientMsg, Cursor, Entry, ErrorCode, Fork, Lineage, PROTOCOL_VERSION, Payload,
    PushedChange, Refusal, RelayMsg,
};

/// Messages carrying more than this many bytes of entries or changes go on [`Lane::Bulk`].
pub const BULK_THRESHOLD: usize = 16 * 1024;

/// Which QUIC stream a message travels on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// The connection's one ordered control stream (handshake, acks, pulls, small batches).
    Control,
    /// A unidirectional stream apart from the control stream (large batches and pushes):
    /// the driver keeps one open per run of bulk messages, in order, with one zstd
    /// context. Bulk messages may overtake control messages.
    Bulk,
}

/// A message a session wants sent, and the lane to send it on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit<M> {
    /// The message; the driver encodes it with [`frame`].
    pub msg: M,
    /// Where to send it.
    pub lane: Lane,
}

/// Counters a session keeps for logs and benchmarks. Bytes on the wire are counted by the
/// driver, which sees the frames.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Messages handed out by `poll_transmit`.
    pub messages_sent: u64,
    /// Messages passed to `handle`.
    pub messages_received: u64,
    /// Log entries applied (handset) or sent (relay).
    pub entries: u64,
    /// Payload bytes of those entries.
    pub entry_bytes: u64,
    /// Changes pushed (handset) or received in pushes (relay).
    pub changes: u64,
    /// Changes acknowledged (handset) or accepted (relay).
    pub changes_accepted: u64,
    /// Pushes received (relay).
    pub pushes: u64,
    /// Pushed changes refused because they do not parse (relay).
    pub refused_malformed: u64,
    /// Pushed changes refused as over [`MAX_CHANGE_BYTES`] (relay; a change the backend
    /// refuses for growing a document too large counts in `refused_admission`).
    pub refused_too_large: u64,
    /// Pushed changes refused as not the device's to write there: an invalid id or grid,
    /// a grid outside its scopes (relay).
    pub refused_scope: u64,
    /// Pushed changes the backend refused: admission rules, a document grown too large
    /// (relay).
    pub refused_admission: u64,
    /// Pushed changes deferred because a change they depend on is missing (relay; the
    /// handset keeps them and pushes them again).
    pub deferred: u64,
    /// Batches sent unasked because the log advanced (relay).
    pub live_batches: u64,
    /// Payload bytes of those live batches' entries (part of `entry_bytes`).
    pub live_entry_bytes: u64,
}

/// Payload bytes of a list of entries (what the batch-size limits count).
pub(crate) fn entries_bytes(entries: &[Entry]) -> usize {
    entries
        .iter()
        .map(|e| match &e.payload {
            Payload::Change(b) | Payload::Snapshot(b) => b.len(),
        })
        .sum()
}

/// A short name for a client message, for logs and error messages.
pub(crate) fn client_msg_kind(msg: &ClientMsg) -> &'static str {
    match msg {
        ClientMsg::Hello { .. } => "Hello",
        ClientMsg::Push { .. } => "Push",
        ClientMsg::Pull { .. } => "Pull",
        ClientMsg::Pending { .. } => "Pending",
        ClientMsg::Wiped => "Wiped",
    }
}

/// A short name for a relay message, for logs and error messages.
pub(crate) fn relay_msg_kind(msg: &RelayMsg) -> &'static str {
    match msg {
        RelayMsg::Welcome { .. } => "Welcome",
        RelayMsg::PushAck { .. } => "PushAck",
        RelayMsg::Batch { .. } => "Batch",
        RelayMsg::Error { .. } => "Error",
        RelayMsg::Wipe { .. } => "Wipe",
    }
}
