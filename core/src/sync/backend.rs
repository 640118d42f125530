//! The storage the sync sessions need, as two traits. They are the only way a session
//! touches storage: [`HandsetBackend`] is implemented by the core's replica, and
//! [`RelayBackend`] by the relay's hub over its store. Tests use small in-memory
//! implementations (`sim`).

use serde::{Deserialize, Serialize};

use crate::error::{Denial, Error, Result};
use crate::ids::{DocId, GridPath};
use crate::model::Grants;

use super::checked::CheckedChange;
use super::wire::{ChangeHash, Cursor, Entry, Lineage, PushedChange};

/// One local change waiting in the handset's outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Outbox sequence number: increases with every local change, never reused.
    pub seq: u64,
    /// The change as it is pushed.
    pub change: PushedChange,
}

/// A local change the relay refused, matched to the outbox entry that carried it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedChange {
    /// The outbox seq of the change ([`OutboxItem::seq`]).
    pub seq: u64,
    /// The record the change belongs to.
    pub doc: DocId,
    /// The change's hash.
    pub hash: ChangeHash,
    /// What the relay has against it.
    pub reason: String,
}

/// The handset's storage, as the sync session sees it.
pub trait HandsetBackend {
    /// Unacknowledged local changes with outbox seq > `after`, oldest first, stopping once
    /// `max_bytes` of change bytes is reached (always at least one if any exist).
    fn outbox_after(&self, after: Option<u64>, max_bytes: usize) -> Result<Vec<OutboxItem>>;

    /// Applies the entries and stores `cursor` in the same atomic durable write; returns
    /// the ids of documents that changed. On error nothing was written (cursor included).
    fn apply_batch(&mut self, entries: &[Entry], cursor: &Cursor) -> Result<Vec<DocId>>;

    /// Drops acknowledged changes (by outbox seq, as [`OutboxItem::seq`]) from the outbox;
    /// seqs no longer there are ignored. `head` is the relay's log head the
    /// acknowledgement came with: a backend that keeps acknowledged changes against a
    /// relay restored from a backup (see [`HandsetBackend::rejoin`]) keeps it with them.
    fn acknowledge(&mut self, seqs: &[u64], head: u64) -> Result<()>;

    /// Compares the relay's [`Lineage`] (from `Welcome`) with the generation the handset
    /// last synced with, before anything else on the connection is handled. When the
    /// relay was restored from a backup older than what the handset holds, the backend
    /// moves its cursor back to the backup's head and puts the changes acknowledged after
    /// it back into the outbox, in one durable write. The default keeps nothing and
    /// reports [`Rejoin::Same`].
    fn rejoin(&mut self, lineage: &Lineage) -> Result<Rejoin> {
        let _ = lineage;
        Ok(Rejoin::Same)
    }

    /// Changes waiting in the outbox and their bytes, reported to the relay after Hello.
    fn pending_outbox(&self) -> Result<(u64, u64)> {
        Ok((0, 0))
    }

    /// Records durably that the relay refused these changes, with its reasons: they leave
    /// the pending outbox, are never pushed again, and are kept (with the record) until the
    /// user discards them. Seqs no longer pending are ignored.
    fn refuse(&mut self, refused: &[RefusedChange]) -> Result<()>;

    /// Of changes the relay deferred for a missing dependency, those that build (directly
    /// or through another of them) on a change it refused: they are refused in turn, with
    /// the reason given here; the others stay in the outbox (the relay went back in time
    /// and gets what they build on again). The default refuses them all.
    fn built_on_refused(&self, deferred: &[RefusedChange]) -> Result<Vec<RefusedChange>> {
        Ok(deferred.to_vec())
    }

    /// Erases the store at the relay's word (a remote wipe): everything unreadable at
    /// once, then removed (`Replica::erase`).
    fn erase(&mut self) -> Result<()> {
        Err(Error::Protocol("this handset cannot erase itself".into()))
    }

    /// The persisted cursor ([`Cursor::Fresh`] on a new handset).
    fn cursor(&self) -> Result<Cursor>;

    /// Stores the grants the relay sent in `Welcome` (they replace any earlier ones). A
    /// backend that follows rescopes also notes here the grids newly granted (to pull from
    /// the start: see [`HandsetBackend::bootstrap`]) and the ones lost (to retire once their
    /// local work is acknowledged).
    fn set_grants(&mut self, grants: &Grants) -> Result<()>;

    /// The pull of newly granted grids still to make, if any: the persisted cursor began
    /// before they were granted, so it skips their earlier records.
    fn bootstrap(&self) -> Result<Option<Bootstrap>> {
        Ok(None)
    }

    /// Applies a batch of the [`HandsetBackend::bootstrap`] pull and stores `next` as
    /// where it stands, or, when `done`, that it is complete, in the same atomic durable
    /// write; returns the ids of documents that changed. The main cursor is not touched.
    fn apply_bootstrap_batch(
        &mut self,
        _entries: &[Entry],
        _next: &Bootstrap,
        _done: bool,
    ) -> Result<Vec<DocId>> {
        Err(Error::Protocol(
            "this handset backend does not pull newly granted grids".into(),
        ))
    }
}

/// What [`HandsetBackend::rejoin`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejoin {
    /// The relay's log continues the one the handset synced with (or this is the first
    /// contact): nothing to do again.
    Same,
    /// The relay went back in time (restored from a backup): the persisted cursor moved
    /// back and `requeued` acknowledged changes are in the outbox again.
    Rewound {
        /// Changes put back into the outbox.
        requeued: u64,
    },
}

/// Why [`RelayBackend::ingest`] did not store a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotIngested {
    /// Refused for good (admission rules, a document grown too large, a change that does
    /// not apply): the handset keeps it as refused and never pushes it again.
    Refused(String),
    /// The relay lacks a change this one depends on (a relay restored from an older
    /// backup): the handset keeps it in its outbox and pushes it again after what it
    /// depends on.
    MissingDependency(String),
}

impl NotIngested {
    /// The reason, for logs.
    pub fn reason(&self) -> &str {
        match self {
            NotIngested::Refused(r) | NotIngested::MissingDependency(r) => r,
        }
    }
}

/// A pull narrowed to grids newly granted to the handset, from their start, running beside
/// the main cursor until it has caught up (then the main cursor covers them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bootstrap {
    /// The newly granted grids.
    pub scopes: Vec<GridPath>,
    /// Where the narrowed pull stands.
    pub cursor: Cursor,
}

/// What an enrollment token grants: which device it is, who it writes as, in which roles
/// and grid subtrees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceGrant {
    /// Stable id of the device (the relay's key for it; logged, never shown as a secret).
    pub device_id: String,
    /// Human name given at enrollment (`Wang Fang's phone`).
    pub name: String,
    /// The worker, roles and scopes of the enrollment.
    pub grants: Grants,
    /// Grids the device lost in a rescope not long ago: it may still push the work it did
    /// there before it learned (never read them). See `docs/adr/0007-rescope.md`.
    pub retired: Vec<GridPath>,
}

impl DeviceGrant {
    /// True when `grid` lies within one of the granted scopes.
    pub fn covers(&self, grid: &GridPath) -> bool {
        self.grants.covers(grid)
    }

    /// The granted grid subtrees.
    pub fn scopes(&self) -> &[GridPath] {
        &self.grants.scopes
    }

    /// The grants a pushed change is checked against: the enrollment's, with the grids
    /// lost in a recent rescope still writable (the work done there before the handset
    /// learned), so its references to their records hold too.
    pub fn writing_grants(&self) -> Grants {
        let mut grants = self.grants.clone();
        for grid in &self.retired {
            if !grants.covers(grid) {
                grants.scopes.push(grid.clone());
            }
        }
        grants
    }

    /// Whether the device may write `change`: its document id and grid path must be valid
    /// and the grid inside a scope. `Err` holds the reason for the handset.
    pub fn check_write(&self, change: &PushedChange) -> std::result::Result<(), String> {
        if DocId::parse(change.doc.as_str()).is_err() {
            return Err(format!(
                "{:?} is not a valid document id",
                change.doc.as_str()
            ));
        }
        match GridPath::parse(change.grid.as_str()) {
            Ok(parsed) if parsed == change.grid => {}
            _ => {
                return Err(format!(
                    "{:?} is not a valid grid path",
                    change.grid.as_str()
                ));
            }
        }
        if self.covers(&change.grid) || self.retired.iter().any(|r| change.grid.is_within(r)) {
            return Ok(());
        }
        Err(format!(
            "grid {} is outside this device's scopes ({}); the change was stored nowhere",
            change.grid,
            self.grants.scope_names()
        ))
    }
}

#[cfg(any(test, feature = "testing"))]
impl DeviceGrant {
    /// A grant for tests: worker `w-<id>` in every role, in `scopes`.
    pub fn for_tests(device_id: &str, scopes: Vec<GridPath>) -> Self {
        DeviceGrant {
            device_id: device_id.into(),
            name: format!("{device_id}'s phone"),
            grants: Grants {
                worker: format!("w-{device_id}"),
                display_name: format!("worker {device_id}"),
                roles: crate::model::Role::ALL.to_vec(),
                scopes,
            },
            retired: Vec::new(),
        }
    }
}

/// One answer to a pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullBatch {
    /// The entries, in the order the handset must apply them.
    pub entries: Vec<Entry>,
    /// The cursor after these entries.
    pub next: Cursor,
    /// More is waiting after `next`.
    pub more: bool,
}

/// The relay's storage and access control, as a sync session sees it.
pub trait RelayBackend {
    /// Looks up an enrollment token; [`Error::Denied`] for unknown or revoked tokens, made
    /// with [`denied_unknown_token`] or [`denied_revoked`] so the session can tell the
    /// handset which.
    fn authenticate(&self, token: &str) -> Result<DeviceGrant>;

    /// Whether the device is still enrolled, not revoked and not to be wiped (checked on
    /// every message).
    fn still_active(&self, device_id: &str) -> Result<bool>;

    /// Whether the operator asked for the device to be wiped: the session then tells the
    /// handset to erase itself instead of serving it (ADR 0008).
    fn wipe_requested(&self, device_id: &str) -> Result<bool> {
        let _ = device_id;
        Ok(false)
    }

    /// Records durably that the device erased its store, as the operator asked.
    fn wiped(&self, device_id: &str) -> Result<()> {
        let _ = device_id;
        Err(Error::Protocol("this relay does not wipe devices".into()))
    }

    /// Validates against what the relay holds and durably stores changes that passed
    /// [`CheckedChange::check`] (parsed, inside `grant.scopes`: not checked again here);
    /// returns, per change and in order, accepted or why not. Idempotent: a change already
    /// held is accepted again. Must return exactly one outcome per change.
    fn ingest(
        &self,
        grant: &DeviceGrant,
        changes: &[CheckedChange],
    ) -> Result<Vec<std::result::Result<(), NotIngested>>>;

    /// The next batch after `cursor` restricted to `scopes` (the device's granted scopes,
    /// or some of them; [`Cursor::Fresh`] starts a
    /// snapshot at the current head), of about `max_bytes` of payload (always at least one
    /// entry if any is due). A cursor past the head (a relay restored from an older
    /// backup) gets an empty batch whose `next` is [`Cursor::Fresh`], with `more` set.
    /// Every entry in the scopes is included, the device's own as well: echoes are left
    /// out by the session, which knows what its connection pushed.
    fn pull(&self, scopes: &[GridPath], cursor: &Cursor, max_bytes: usize) -> Result<PullBatch>;

    /// Current log head sequence.
    fn head(&self) -> Result<u64>;

    /// Where the relay's log comes from (sent in `Welcome`). The default is a relay with
    /// no generation, which handsets never treat as restored.
    fn lineage(&self) -> Result<Lineage> {
        Ok(Lineage::default())
    }

    /// Records what a handset reported waiting in its outbox at connection start.
    fn pending_reported(&self, device_id: &str, changes: u64, bytes: u64) -> Result<()> {
        let _ = (device_id, changes, bytes);
        Ok(())
    }
}

/// The error [`RelayBackend::authenticate`] returns for a token it does not know.
pub fn denied_unknown_token() -> Error {
    Error::denied(
        Denial::UnknownToken,
        "unknown enrollment token: enroll this handset again",
    )
}

/// The error [`RelayBackend::authenticate`] returns for a revoked device's token.
pub fn denied_revoked(device_name: &str) -> Error {
    Error::denied(
        Denial::Revoked,
        format!(
            "device {device_name:?} has been revoked: ask the relay operator to enroll it again"
        ),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn grants_cover_subtrees_only() {
        let grant = DeviceGrant::for_tests(
            "d1",
            vec![
                GridPath::parse("a/b").unwrap(),
                GridPath::parse("x").unwrap(),
            ],
        );
        assert!(grant.covers(&GridPath::parse("a/b/c").unwrap()));
        assert!(grant.covers(&GridPath::parse("x/y").unwrap()));
        assert!(!grant.covers(&GridPath::parse("a/bc").unwrap()));
        assert!(!grant.covers(&GridPath::parse("a").unwrap()));
    }

    #[test]
    fn denials_say_which() {
        assert!(matches!(
            denied_revoked("phone"),
            Error::Denied {
                denial: Denial::Revoked,
                ..
            }
        ));
        assert!(matches!(
            denied_unknown_token(),
            Error::Denied {
                denial: Denial::UnknownToken,
                ..
            }
        ));
    }
}
