//! Surviving a relay restored from an older backup (ADR 0012).
//!
//! A change the relay acknowledged leaves the outbox, but its record stays in the
//! acknowledged journal (outbox tree `a seq` → [`AckedRecord`]) with the relay's log head
//! at the acknowledgement, and meta `relay_generation` names the generation of the relay's
//! log the cursor and the journal belong to. At every `Welcome` the relay's
//! [`Lineage`] is compared with it ([`Replica::rejoin`]):
//! - same generation: journal entries at or below the relay's newest backup are dropped
//!   (any restore brings them back);
//! - an earlier generation the relay was restored from: the relay holds its log only up to
//!   the fork's head, so entries acknowledged after it go back into the outbox and the
//!   cursor moves back to the fork, in one durable write;
//! - a generation the relay does not descend from: everything in the journal goes back and
//!   the handset bootstraps again.

use serde::{Deserialize, Serialize};

use super::Replica;
use super::outbox::{OutboxRecord, PendingSummary, d_key, q_key, seq_key, seq_of, stage_pending};
use super::sync_state::stage_cursor;
use crate::error::Result;
use crate::index::{decode, encode};
use crate::store::{Batch, Scan, trees};
use crate::sync::backend::{Bootstrap, Rejoin};
use crate::sync::wire::{Cursor, Lineage};

/// Where the acknowledged journal's entries start in the outbox tree.
pub(super) const ACKED_PREFIX: &[u8] = b"a";

/// Meta key of the relay generation the cursor and journal belong to (u64 big-endian).
const GENERATION_KEY: &[u8] = b"relay_generation";

/// A change the relay acknowledged, kept until a relay backup covers it.
#[derive(Serialize, Deserialize)]
pub(super) struct AckedRecord {
    record: OutboxRecord,
    /// The relay's log head with the acknowledgement: the change is at or below it.
    head: u64,
}

/// Stages an acknowledged change into the journal.
pub(super) fn stage_acked(
    batch: &mut Batch,
    seq: u64,
    record: OutboxRecord,
    head: u64,
) -> Result<()> {
    let acked = AckedRecord { record, head };
    batch.put(trees::OUTBOX, seq_key(ACKED_PREFIX, seq), encode(&acked)?);
    Ok(())
}

/// Where a cursor of a generation goes on a relay that holds that generation's log only
/// up to `fork`: unchanged at or below it, back to it past it (a bootstrap snapshot taken
/// past it starts over).
fn rewound(cursor: &Cursor, fork: u64) -> Cursor {
    match cursor {
        _ if fork == 0 => Cursor::Fresh,
        Cursor::Log { after } if *after > fork => Cursor::Log { after: fork },
        Cursor::Snapshot { high_water, .. } if *high_water > fork => Cursor::Fresh,
        other => other.clone(),
    }
}

impl Replica {
    /// The relay generation this replica last synced with, if it has synced since the
    /// journal was kept.
    pub fn relay_generation(&self) -> Result<Option<u64>> {
        Ok(self
            .store
            .get(trees::META, GENERATION_KEY)?
            .and_then(|v| v.as_slice().try_into().ok().map(u64::from_be_bytes)))
    }

    /// Changes in the acknowledged journal (acknowledged, not yet covered by a backup).
    pub fn acknowledged_kept(&self) -> Result<u64> {
        Ok(self
            .store
            .scan(trees::OUTBOX, Scan::prefix(ACKED_PREFIX))?
            .len() as u64)
    }

    /// Compares the relay's lineage with the generation last synced with (see the module
    /// docs); returns whether anything was put back.
    pub fn rejoin(&self, lineage: &Lineage) -> Result<Rejoin> {
        if lineage.generation == 0 {
            return Ok(Rejoin::Same);
        }
        let fork = match self.relay_generation()? {
            Some(g) => match lineage.holds_through(g) {
                Some(u64::MAX) => return self.forget_backed_up(lineage.backed_up),
                Some(head) => head,
                None => 0,
            },
            None => u64::MAX,
        };
        let mut batch = Batch::new();
        batch.put(
            trees::META,
            GENERATION_KEY.to_vec(),
            lineage.generation.to_be_bytes().to_vec(),
        );
        if fork == u64::MAX {
            // First contact since the journal was kept: nothing to compare.
            self.store.commit(batch)?;
            return Ok(Rejoin::Same);
        }
        self.rewind(batch, fork)
    }

    /// Puts journal entries past `fork` back into the outbox and moves the cursors back,
    /// in the batch that records the new generation.
    fn rewind(&self, mut batch: Batch, fork: u64) -> Result<Rejoin> {
        let _span = tracing::info_span!("rejoin_rewind", fork).entered();
        let mut inner = self.lock()?;
        let mut back = PendingSummary::default();
        for (k, v) in self.store.scan(trees::OUTBOX, Scan::prefix(ACKED_PREFIX))? {
            let acked: AckedRecord = decode(&v)?;
            if acked.head <= fork && fork != 0 {
                continue;
            }
            batch.delete(trees::OUTBOX, k.clone());
            let doc = acked.record.doc.as_str().as_bytes();
            if self.store.get(trees::DOCS, doc)?.is_none() {
                continue; // retired or discarded here since: nothing left to push
            }
            let seq = seq_of(&k)?;
            back.changes += 1;
            back.bytes += acked.record.size;
            batch.put(trees::OUTBOX, d_key(&acked.record.doc, seq), Vec::new());
            batch.put(trees::OUTBOX, q_key(seq), encode(&acked.record)?);
        }
        let cursor = rewound(&self.cursor()?, fork);
        stage_cursor(&mut batch, &cursor)?;
        if let Some(boot) = self.bootstrap()? {
            let boot = Bootstrap {
                cursor: rewound(&boot.cursor, fork),
                ..boot
            };
            super::rescope::stage_bootstrap(&mut batch, Some(&boot))?;
        }
        let after = PendingSummary {
            changes: inner.pending.changes + back.changes,
            bytes: inner.pending.bytes + back.bytes,
            ..inner.pending
        };
        stage_pending(&mut batch, &after)?;
        self.store.commit(batch)?;
        inner.pending = after;
        tracing::warn!(
            requeued = back.changes,
            ?cursor,
            "relay restored: work put back"
        );
        Ok(Rejoin::Rewound {
            requeued: back.changes,
        })
    }

    /// Drops journal entries a relay backup covers (acknowledged at or below its head).
    fn forget_backed_up(&self, backed_up: u64) -> Result<Rejoin> {
        if backed_up == 0 {
            return Ok(Rejoin::Same);
        }
        let mut batch = Batch::new();
        for (k, v) in self.store.scan(trees::OUTBOX, Scan::prefix(ACKED_PREFIX))? {
            let acked: AckedRecord = decode(&v)?;
            if acked.head <= backed_up {
                batch.delete(trees::OUTBOX, k);
            }
        }
        if !batch.is_empty() {
            self.store.commit(batch)?;
        }
        Ok(Rejoin::Same)
    }
}
