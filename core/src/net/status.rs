//! What the app shows about sync: the link, what is waiting, when it last worked, and
//! the last error; and what one sync run did, for logs and benchmarks.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ids::Timestamp;
use crate::sync::RefusedChange;

/// The state of the link to the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum LinkState {
    /// Not connected.
    #[default]
    Offline,
    /// Connecting.
    Connecting,
    /// Connected, exchanging the backlog.
    Syncing,
    /// Connected and caught up; changes flow as they happen.
    Live,
}

/// The sync bar.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    /// Link state.
    pub state: LinkState,
    /// Local changes the relay has not acknowledged.
    pub pending_changes: u64,
    /// Their bytes.
    pub pending_bytes: u64,
    /// Local changes the relay refused, kept apart and never re-sent
    /// ([`crate::Replica::refused`] lists their records).
    pub refused_changes: u64,
    /// When the relay last acknowledged or delivered something.
    pub last_sync: Option<Timestamp>,
    /// The last error, if the last attempt failed.
    pub last_error: Option<String>,
    /// Frame bytes sent over every connection of this client (data used, upload).
    pub bytes_sent: u64,
    /// Frame bytes received over every connection of this client (data used, download).
    pub bytes_received: u64,
    /// Messages sent over every connection of this client.
    pub messages_sent: u64,
    /// Messages received over every connection of this client.
    pub messages_received: u64,
}

/// What one session did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SyncReport {
    /// The connection used 0-RTT resumption.
    pub zero_rtt: bool,
    /// Local changes sent to the relay (each at most once per session).
    pub pushed: u64,
    /// Local changes now durable on the relay.
    pub acknowledged: u64,
    /// Local changes the relay refused in this session, each with its record and reason;
    /// they are recorded as refused and not sent again.
    pub refused: Vec<RefusedChange>,
    /// Changes the relay had acknowledged before it was restored from an older backup,
    /// put back into the outbox to be pushed again (0 unless the relay went back in time).
    pub resent_after_restore: u64,
    /// Documents changed by pulled entries.
    pub documents_changed: u64,
    /// Entries applied.
    pub entries: u64,
    /// Time spent handling pulled batches: merging the entries into their documents,
    /// indexing them and committing them with the cursor (the handset's apply cost).
    pub apply_time: Duration,
    /// Bytes sent (frames).
    pub bytes_sent: u64,
    /// Bytes received (frames).
    pub bytes_received: u64,
    /// Messages sent.
    pub messages_sent: u64,
    /// Messages received.
    pub messages_received: u64,
    /// Flights of messages sent (the first one plus one per reply that needed an answer).
    pub round_trips: u64,
    /// Reached the point where nothing was outstanding.
    pub caught_up: bool,
    /// Wall time of the session, connection included.
    pub elapsed: Duration,
}
