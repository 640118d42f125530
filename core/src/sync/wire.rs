//! The messages handsets and the relay exchange. Encoded with postcard inside frames
//! (see `frame`); every field is described in `docs/PROTOCOL.md`.

use serde::{Deserialize, Serialize};

use crate::ids::{DocId, GridPath};
use crate::model::Grants;

/// Version of this protocol, sent in the first message of every connection.
/// Version 2: pushes and acknowledgements carry no change hashes (version 1 was
/// pre-release). Version 3: a bulk stream carries a run of frames sharing one zstd context
/// (frame flag bit 1) instead of one frame per stream. Version 4: `Welcome` carries the
/// device's [`Grants`] (worker, display name, roles, scopes) and a `Pull` may narrow
/// itself to some of the granted scopes (a bootstrap of newly granted grids). Version 5:
/// `Welcome` carries the relay's [`Lineage`] (a restored relay's history), `PushAck` the
/// relay's head and the changes deferred for a missing dependency, and the handset reports
/// its outbox in [`ClientMsg::Pending`] (ADR 0012).
pub const PROTOCOL_VERSION: u16 = 5;

/// An automerge change hash (SHA-256 of the change), the content address of a change.
pub type ChangeHash = [u8; 32];

/// Where a handset stands in the relay's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cursor {
    /// A handset that has nothing yet: the relay starts a snapshot bootstrap.
    Fresh,
    /// Mid-bootstrap: compacted snapshots of every document in scope as of log sequence
    /// `high_water`, in document-id order, the last one received being `after_doc`.
    Snapshot {
        /// Log sequence the snapshot is taken at; the log is pulled after it next.
        high_water: u64,
        /// Last document received, `None` before the first.
        after_doc: Option<DocId>,
    },
    /// Caught up to log sequence `after`: pull every later change in scope.
    Log {
        /// Last log sequence received.
        after: u64,
    },
}

/// Where a relay's log comes from. A relay's store is created with a random `generation`;
/// `gridsync-relay restore` gives the restored store a new one and records the fork: the
/// generation the backup was taken from and the head it was taken at. A handset whose
/// cursor and acknowledgements belong to a generation in `forks` knows the relay holds that
/// generation's log only up to the fork's head, and pushes again what it had acknowledged
/// after it (ADR 0012).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lineage {
    /// The generation of the relay's log now (0 from a relay that has none).
    pub generation: u64,
    /// Earlier generations this log continues, oldest first, each with the head up to
    /// which this log holds it.
    pub forks: Vec<Fork>,
    /// The head of the relay's newest backup (0 for none): a handset may forget what it
    /// had acknowledged at or below it, since any restore brings that back.
    pub backed_up: u64,
}

/// One restore in a relay's [`Lineage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fork {
    /// The generation the backup was taken from.
    pub generation: u64,
    /// The log head of the backup: sequences up to it are the same in both generations.
    pub head: u64,
}

impl Lineage {
    /// Up to which log head this relay holds `generation`'s log: `Some(u64::MAX)` for the
    /// current generation, the fork's head for an earlier one, `None` for a generation
    /// this relay does not descend from.
    pub fn holds_through(&self, generation: u64) -> Option<u64> {
        if generation == self.generation {
            return Some(u64::MAX);
        }
        // A generation restored more than once counts up to its earliest fork.
        self.forks
            .iter()
            .filter(|f| f.generation == generation)
            .map(|f| f.head)
            .min()
    }
}

/// The bytes of one log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Payload {
    /// One automerge change, uncompressed (batches are compressed as a whole).
    Change(Vec<u8>),
    /// A whole document saved without compression (`save_nocompress`), for bootstraps.
    Snapshot(Vec<u8>),
}

/// One document's data in a pulled batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The document.
    pub doc: DocId,
    /// The document's grid (the relay only sends documents inside the device's scopes).
    pub grid: GridPath,
    /// A change or a snapshot.
    pub payload: Payload,
}

/// A local change a handset pushes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedChange {
    /// The document the change belongs to.
    pub doc: DocId,
    /// The document's grid; must lie inside the device's scopes.
    pub grid: GridPath,
    /// Hash of the change. Not sent: the relay computes it from `bytes` (which is the
    /// integrity check: a change is named by its content), and the handset knows its own.
    #[serde(skip)]
    pub hash: ChangeHash,
    /// The automerge change, uncompressed.
    pub bytes: Vec<u8>,
}

impl From<PushedChange> for Entry {
    /// The entry a relay hands out for a change it stored.
    fn from(c: PushedChange) -> Self {
        Entry {
            doc: c.doc,
            grid: c.grid,
            payload: Payload::Change(c.bytes),
        }
    }
}

/// Why the relay refused one pushed change (the rest of the push is unaffected).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The refused change.
    pub hash: ChangeHash,
    /// What the relay has against it, for the app to show and for logs.
    pub reason: String,
}

/// Why the relay ends a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    /// The handset speaks a protocol version the relay does not.
    UnsupportedVersion,
    /// Unknown token.
    Unauthorized,
    /// The device was revoked.
    Revoked,
    /// A frame or message could not be decoded or came out of order.
    Malformed,
    /// The relay failed internally; the handset should retry later.
    Internal,
}

/// Handset → relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientMsg {
    /// First message on every connection.
    Hello {
        /// [`PROTOCOL_VERSION`] of the handset.
        version: u16,
        /// The device's enrollment token.
        token: String,
        /// Free text for logs (`gridsync-cli 0.1`, app version).
        agent: String,
    },
    /// Local changes for the relay to make durable and acknowledge.
    Push {
        /// Echoed in [`RelayMsg::PushAck`].
        id: u64,
        /// The changes, in outbox order.
        changes: Vec<PushedChange>,
    },
    /// Ask for the next batch after `cursor`.
    Pull {
        /// Where the handset stands.
        cursor: Cursor,
        /// Upper bound on the batch's encoded size.
        max_bytes: u32,
        /// The scopes this cursor covers: empty for every granted scope, else each inside
        /// a granted scope (a handset bootstrapping grids it was newly granted).
        scopes: Vec<GridPath>,
    },
    /// Answer to [`RelayMsg::Wipe`]: the handset erased its store. The last message a
    /// wiped handset sends.
    Wiped,
    /// What waits in the handset's outbox, sent right after Hello (for the operator's view
    /// of devices that cannot get their work out).
    Pending {
        /// Changes waiting to be pushed.
        changes: u64,
        /// Their bytes.
        bytes: u64,
    },
}

/// Relay → handset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RelayMsg {
    /// The token was accepted.
    Welcome {
        /// The device's name as enrolled.
        device: String,
        /// Who the device writes as and where: the handset stores these and writes only
        /// within them; the relay checks every pushed change against them.
        grants: Grants,
        /// The relay's current log head.
        head: u64,
        /// Where the relay's log comes from: a handset that synced with an earlier
        /// generation learns what the relay lost.
        lineage: Lineage,
    },
    /// Outcome of a [`ClientMsg::Push`]: every change of the push not named in `refused`
    /// or `deferred` is now durable on the relay (including ones it already had).
    PushAck {
        /// The push's id.
        id: u64,
        /// The relay's durable log head once the push was stored: every accepted change
        /// is at or below it.
        head: u64,
        /// Changes refused, with reasons; they were stored nowhere.
        refused: Vec<Refusal>,
        /// Changes not stored because the relay lacks a change they depend on: they stay
        /// in the outbox and go again after what they depend on.
        deferred: Vec<ChangeHash>,
    },
    /// Entries after `from`; the handset applies them and stores `next` atomically.
    Batch {
        /// The cursor this batch continues from; a handset elsewhere ignores the batch.
        from: Cursor,
        /// The cursor after this batch.
        next: Cursor,
        /// The documents' data.
        entries: Vec<Entry>,
        /// More is waiting: pull again from `next`.
        more: bool,
        /// Sent unasked because the log advanced while the handset was caught up.
        live: bool,
    },
    /// The relay closes the connection.
    Error {
        /// What kind of failure.
        code: ErrorCode,
        /// A sentence for logs and the app.
        message: String,
    },
    /// Sent instead of [`RelayMsg::Welcome`] to a device the operator asked to wipe (or on
    /// its live connection): erase the store, answer [`ClientMsg::Wiped`]. The relay
    /// accepts nothing else from it (ADR 0008).
    Wipe {
        /// The device's enrolled name.
        device: String,
    },
}
