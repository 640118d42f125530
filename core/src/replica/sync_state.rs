//! Where the replica stands with the relay: each record's sync state for the app, when the
//! relay was last heard from, the persisted pull cursor, and the replica as the handset
//! side's [`HandsetBackend`] of a sync session.

use serde::{Deserialize, Serialize};

use super::{Replica, outbox, refused};
use crate::error::Result;
use crate::ids::DocId;
use crate::index::{decode, encode};
use crate::store::{Batch, trees};
use crate::sync::backend::{Bootstrap, HandsetBackend, OutboxItem, RefusedChange, Rejoin};
use crate::sync::wire::{Cursor, Entry, Lineage};

/// Meta key of the pull cursor.
pub(super) const CURSOR_KEY: &[u8] = b"cursor";

/// Meta key of when the relay last acknowledged or delivered anything.
const LAST_SYNC_KEY: &[u8] = b"last_sync";

/// Where one record stands with the relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordSyncState {
    /// Has local changes the relay has not acknowledged.
    Pending,
    /// Everything written here is durable on the relay.
    Acknowledged,
    /// The relay refused a change of the record: it is kept here, not sent again, until
    /// the user discards it ([`Replica::discard_refused`]). Wins over `Pending`.
    Refused {
        /// What the relay has against the record's first refused change.
        reason: String,
    },
}

impl Replica {
    /// Whether a record's local changes have all reached the relay, wait for it, or were
    /// refused by it.
    pub fn record_sync_state(&self, doc: &DocId) -> Result<RecordSyncState> {
        let store = self.store.as_ref();
        Ok(if let Some(reason) = refused::first_refusal(store, doc)? {
            RecordSyncState::Refused { reason }
        } else if outbox::has_pending(store, doc)? {
            RecordSyncState::Pending
        } else {
            RecordSyncState::Acknowledged
        })
    }

    /// When the relay last acknowledged or delivered anything, if ever.
    pub fn last_sync(&self) -> Result<Option<i64>> {
        Ok(self
            .store
            .get(trees::META, LAST_SYNC_KEY)?
            .and_then(|v| v.as_slice().try_into().ok().map(i64::from_be_bytes)))
    }

    /// Stages "the relay was heard from now".
    pub(super) fn stage_last_sync(&self, batch: &mut Batch) {
        batch.put(
            trees::META,
            LAST_SYNC_KEY.to_vec(),
            self.now().to_be_bytes().to_vec(),
        );
    }

    /// The persisted pull cursor ([`Cursor::Fresh`] before the first sync).
    pub fn cursor(&self) -> Result<Cursor> {
        match self.store.get(trees::META, CURSOR_KEY)? {
            Some(v) => decode(&v),
            None => Ok(Cursor::Fresh),
        }
    }
}

/// Stages the pull cursor.
pub(super) fn stage_cursor(batch: &mut Batch, cursor: &Cursor) -> Result<()> {
    batch.put(trees::META, CURSOR_KEY.to_vec(), encode(cursor)?);
    Ok(())
}

/// The replica is the handset side's storage for the sync session.
impl HandsetBackend for &Replica {
    fn outbox_after(&self, after: Option<u64>, max_bytes: usize) -> Result<Vec<OutboxItem>> {
        Replica::outbox_after(self, after, max_bytes)
    }

    fn apply_batch(&mut self, entries: &[Entry], cursor: &Cursor) -> Result<Vec<DocId>> {
        Replica::apply_batch(self, entries, cursor)
    }

    fn acknowledge(&mut self, seqs: &[u64], head: u64) -> Result<()> {
        Replica::acknowledge(self, seqs, head)?;
        Replica::retire_lost(self).map(|_| ())
    }

    fn built_on_refused(&self, deferred: &[RefusedChange]) -> Result<Vec<RefusedChange>> {
        Replica::built_on_refused(self, deferred)
    }

    fn rejoin(&mut self, lineage: &Lineage) -> Result<Rejoin> {
        Replica::rejoin(self, lineage)
    }

    fn pending_outbox(&self) -> Result<(u64, u64)> {
        let p = Replica::pending(self)?;
        Ok((p.changes, p.bytes))
    }

    fn refuse(&mut self, refused: &[RefusedChange]) -> Result<()> {
        Replica::refuse(self, refused)
    }

    fn erase(&mut self) -> Result<()> {
        Replica::erase(self)
    }

    fn cursor(&self) -> Result<Cursor> {
        Replica::cursor(self)
    }

    fn set_grants(&mut self, grants: &crate::model::Grants) -> Result<()> {
        Replica::take_grants(self, grants)
    }

    fn bootstrap(&self) -> Result<Option<Bootstrap>> {
        Replica::bootstrap(self)
    }

    fn apply_bootstrap_batch(
        &mut self,
        entries: &[Entry],
        next: &Bootstrap,
        done: bool,
    ) -> Result<Vec<DocId>> {
        Replica::apply_bootstrap_batch(self, entries, next, done)
    }
}
