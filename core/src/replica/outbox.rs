//! The outbox: local changes the relay has not acknowledged yet, staged in the same commit
//! as the change itself, read page by page for a push and dropped on acknowledgement.
//!
//! Outbox tree layout: `q seq` → which change of which document, `d doc \0 seq` → ().
//! Changes the relay refused move out of `q`/`d` into `r`/`x` (see [`super::refused`]);
//! acknowledged ones into `a` until a relay backup covers them (see [`super::rejoin`]).
//! Meta `outbox_pending` holds the pending changes' count and bytes, `outbox_refused` the
//! count of refused ones. Stores from before the outbox lost its hash index also held
//! `h hash` → `seq`; schema step 3 ([`drop_legacy_hash_index`]) deletes those once.

use serde::{Deserialize, Serialize};

use super::Replica;
use crate::error::{Error, Result};
use crate::ids::{DocId, GridPath};
use crate::index::{decode, encode};
use crate::store::{Batch, Scan, Store, trees};
use crate::sync::backend::OutboxItem;
use crate::sync::wire::{ChangeHash, PushedChange};

/// An outbox entry as stored: which change of which document. The change's bytes are not
/// copied: they are read from the document when the change is pushed, so the outbox costs a
/// few dozen bytes a change instead of doubling what a worker's records take on disk.
#[derive(Serialize, Deserialize)]
pub(super) struct OutboxRecord {
    pub(super) doc: DocId,
    pub(super) grid: GridPath,
    pub(super) hash: ChangeHash,
    pub(super) size: u64,
}

/// The outbox at a glance, for the app's sync bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PendingSummary {
    /// Changes waiting to be pushed (refused ones not included).
    pub changes: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Changes the relay refused: never pushed again, kept until the user discards their
    /// records ([`Replica::refused`], [`Replica::discard_refused`]).
    pub refused: u64,
}

/// The pending part of [`PendingSummary`] as stored (the layout stores have always had).
#[derive(Serialize, Deserialize)]
struct StoredPending {
    changes: u64,
    bytes: u64,
}

/// Meta key of the pending changes' count and bytes, written in every batch that changes
/// the outbox, so an open need not read the whole outbox.
pub(super) const PENDING_KEY: &[u8] = b"outbox_pending";

/// Meta key of the refused changes' count, written with [`PENDING_KEY`].
pub(super) const REFUSED_KEY: &[u8] = b"outbox_refused";

/// Where the `q` (by sequence) entries start.
const SEQ_PREFIX: &[u8] = b"q";

/// Where the entries of the hash index old stores kept start.
const LEGACY_HASH_PREFIX: &[u8] = b"h";

/// `prefix seq`: a key of the by-sequence entries under `prefix` (`q`, or `r` for refused).
pub(super) fn seq_key(prefix: &[u8], seq: u64) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub(super) fn q_key(seq: u64) -> Vec<u8> {
    seq_key(SEQ_PREFIX, seq)
}

/// The seq of a `q seq` or `r seq` key.
pub(super) fn seq_of(k: &[u8]) -> Result<u64> {
    k.get(1..9)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| Error::corrupt("outbox", "bad key"))
}

/// `letter doc \0`: where the per-document entries under `letter` (`d`, or `x` for
/// refused) of `doc` start.
pub(super) fn doc_prefix_of(letter: u8, doc: &DocId) -> Vec<u8> {
    let mut k = vec![letter];
    k.extend_from_slice(doc.as_str().as_bytes());
    k.push(0);
    k
}

/// Where the `d` entries of `doc` start.
pub(super) fn doc_prefix(doc: &DocId) -> Vec<u8> {
    doc_prefix_of(b'd', doc)
}

pub(super) fn d_key(doc: &DocId, seq: u64) -> Vec<u8> {
    let mut k = doc_prefix(doc);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// The seq at the end of a per-document (`d` or `x`) key.
pub(super) fn seq_at_end(k: &[u8]) -> Result<u64> {
    k.len()
        .checked_sub(8)
        .and_then(|at| k[at..].try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| Error::corrupt("outbox", "bad key"))
}

/// The highest seq among the by-sequence entries under `prefix`.
fn last_seq(store: &dyn Store, prefix: &[u8]) -> Result<Option<u64>> {
    let last = store.scan(
        trees::OUTBOX,
        Scan {
            prefix,
            after: None,
            limit: 1,
            reverse: true,
        },
    )?;
    last.first().map(|(k, _)| seq_of(k)).transpose()
}

/// The next free outbox sequence in a store (refused and acknowledged entries keep their
/// seqs too, so a seq is never reused).
pub(super) fn next_outbox_seq(store: &dyn Store) -> Result<u64> {
    let pending = last_seq(store, SEQ_PREFIX)?;
    let refused = last_seq(store, super::refused::REFUSED_PREFIX)?;
    let acked = last_seq(store, super::rejoin::ACKED_PREFIX)?;
    Ok(pending.max(refused).max(acked).map_or(1, |s| s + 1))
}

/// Counts of the outbox, read once at open and kept up to date after. A store written
/// before a count was kept is counted once, and the counts saved.
pub(super) fn read_pending(store: &dyn Store) -> Result<PendingSummary> {
    let pending = store.get(trees::META, PENDING_KEY)?;
    let refused = store.get(trees::META, REFUSED_KEY)?;
    if let (Some(p), Some(r)) = (&pending, &refused) {
        let p: StoredPending = decode(p)?;
        return Ok(PendingSummary {
            changes: p.changes,
            bytes: p.bytes,
            refused: decode(r)?,
        });
    }
    let mut s = PendingSummary::default();
    if let Some(p) = pending {
        let p: StoredPending = decode(&p)?;
        (s.changes, s.bytes) = (p.changes, p.bytes);
    } else {
        for (_, v) in store.scan(trees::OUTBOX, Scan::prefix(SEQ_PREFIX))? {
            let c: OutboxRecord = decode(&v)?;
            s.changes += 1;
            s.bytes += c.size;
        }
    }
    s.refused = match refused {
        Some(r) => decode(&r)?,
        None => store
            .scan(trees::OUTBOX, Scan::prefix(super::refused::REFUSED_PREFIX))?
            .len() as u64,
    };
    let mut b = Batch::new();
    stage_pending(&mut b, &s)?;
    store.commit(b)?;
    Ok(s)
}

/// Stages the outbox counts as they will be after the batch.
pub(super) fn stage_pending(batch: &mut Batch, pending: &PendingSummary) -> Result<()> {
    let stored = StoredPending {
        changes: pending.changes,
        bytes: pending.bytes,
    };
    batch.put(trees::META, PENDING_KEY.to_vec(), encode(&stored)?);
    batch.put(trees::META, REFUSED_KEY.to_vec(), encode(&pending.refused)?);
    Ok(())
}

/// Stages a local change into the outbox.
pub(super) fn stage_outbox(batch: &mut Batch, seq: u64, change: &PushedChange) -> Result<()> {
    let record = OutboxRecord {
        doc: change.doc.clone(),
        grid: change.grid.clone(),
        hash: change.hash,
        size: change.bytes.len() as u64,
    };
    batch.put(trees::OUTBOX, q_key(seq), encode(&record)?);
    batch.put(trees::OUTBOX, d_key(&change.doc, seq), Vec::new());
    Ok(())
}

/// Whether `doc` has changes in the outbox.
pub(super) fn has_pending(store: &dyn Store, doc: &DocId) -> Result<bool> {
    let prefix = doc_prefix(doc);
    let first = store.scan(
        trees::OUTBOX,
        Scan {
            prefix: &prefix,
            after: None,
            limit: 1,
            reverse: false,
        },
    )?;
    Ok(!first.is_empty())
}

/// Schema step 3: deletes the `h hash` → `seq` entries that stores made before the outbox
/// lost its hash index kept for every change (acknowledgements used to delete them one by
/// one).
pub(super) fn drop_legacy_hash_index(store: &dyn Store) -> Result<()> {
    let mut b = Batch::new();
    for (k, _) in store.scan(trees::OUTBOX, Scan::prefix(LEGACY_HASH_PREFIX))? {
        b.delete(trees::OUTBOX, k);
    }
    store.commit(b)
}

impl Replica {
    /// Unacknowledged changes with outbox seq after `after`, oldest first, stopping once
    /// `max_bytes` of change bytes is reached (always at least one if any are left).
    pub fn outbox_after(&self, after: Option<u64>, max_bytes: usize) -> Result<Vec<OutboxItem>> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut from = after.map(q_key);
        loop {
            let page = self.store.scan(
                trees::OUTBOX,
                Scan {
                    prefix: SEQ_PREFIX,
                    after: from.as_deref(),
                    limit: 64,
                    reverse: false,
                },
            )?;
            if page.is_empty() {
                return Ok(out);
            }
            for (k, v) in &page {
                let seq = seq_of(k)?;
                let r: OutboxRecord = decode(v)?;
                if !out.is_empty() && bytes + r.size as usize > max_bytes {
                    return Ok(out);
                }
                let change = self.change_bytes(&r)?;
                bytes += change.len();
                out.push(OutboxItem {
                    seq,
                    change: PushedChange {
                        doc: r.doc,
                        grid: r.grid,
                        hash: r.hash,
                        bytes: change,
                    },
                });
            }
            from = page.last().map(|(k, _)| k.clone());
        }
    }

    /// The bytes of an outbox entry's change, read from its document.
    pub(super) fn change_bytes(&self, r: &OutboxRecord) -> Result<Vec<u8>> {
        let hash = automerge::ChangeHash(r.hash);
        self.read_doc(&r.doc, |d| {
            use automerge::ReadDoc;
            d.get_change_by_hash(&hash)
                .map(|c| c.raw_bytes().to_vec())
                .ok_or_else(|| {
                    Error::corrupt(
                        format!("document {}", r.doc),
                        "a change in the outbox is missing from its document",
                    )
                })
        })
    }

    /// Drops acknowledged changes (by outbox seq) from the outbox, keeping each with the
    /// relay's `head` in the acknowledged journal until a relay backup covers it (see
    /// [`Replica::rejoin`]). Seqs no longer there are ignored (a repeated acknowledgement is
    /// harmless).
    pub fn acknowledge(&self, seqs: &[u64], head: u64) -> Result<()> {
        let mut inner = self.lock()?;
        let mut batch = Batch::new();
        let mut gone = PendingSummary::default();
        for seq in seqs {
            let Some(v) = self.store.get(trees::OUTBOX, &q_key(*seq))? else {
                continue;
            };
            let change: OutboxRecord = decode(&v)?;
            batch.delete(trees::OUTBOX, d_key(&change.doc, *seq));
            batch.delete(trees::OUTBOX, q_key(*seq));
            gone.changes += 1;
            gone.bytes += change.size;
            super::rejoin::stage_acked(&mut batch, *seq, change, head)?;
        }
        self.stage_last_sync(&mut batch);
        let after = PendingSummary {
            changes: inner.pending.changes.saturating_sub(gone.changes),
            bytes: inner.pending.bytes.saturating_sub(gone.bytes),
            ..inner.pending
        };
        stage_pending(&mut batch, &after)?;
        self.store.commit(batch)?;
        inner.pending = after;
        Ok(())
    }

    /// Count and bytes of changes waiting for the relay, and the count of changes it refused
    /// (kept in memory: cheap to poll).
    pub fn pending(&self) -> Result<PendingSummary> {
        Ok(self.lock()?.pending)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{Address, NewHousehold, Tier};
    use crate::replica::{ReplicaConfig, SCHEMA_VERSION, schema};
    use crate::store::MemoryStore;

    fn open(store: &Arc<MemoryStore>) -> Replica {
        let store: Arc<dyn Store> = store.clone();
        Replica::open_with(store, "dev-1", ReplicaConfig::default()).expect("open")
    }

    fn legacy_keys(store: &MemoryStore) -> usize {
        store
            .scan(trees::OUTBOX, Scan::prefix(LEGACY_HASH_PREFIX))
            .expect("scan")
            .len()
    }

    #[test]
    fn a_store_with_the_legacy_hash_index_loses_it_at_migration_and_still_acknowledges() {
        let store = Arc::new(MemoryStore::new());
        let r = open(&store);
        let grid = GridPath::parse("c1/g1").expect("grid");
        for head in ["A", "B", "C"] {
            let h = NewHousehold {
                grid: grid.clone(),
                address: Address::Urban {
                    building: "3栋".into(),
                    unit: "2单元".into(),
                    room: "501".into(),
                },
                head: head.into(),
                members: vec![],
                phone: String::new(),
                tier: Tier::Green,
                tags: vec![],
                contacts: vec!["w-1".into()],
            };
            r.register_household(&h, "w-1").expect("register");
        }
        let items = r.outbox_after(None, usize::MAX).expect("outbox");
        assert_eq!(items.len(), 3);
        drop(r);
        // As a build from before schema 3 left it: an `h hash → seq` entry per change.
        let mut b = Batch::new();
        for item in &items {
            let mut k = LEGACY_HASH_PREFIX.to_vec();
            k.extend_from_slice(&item.change.hash);
            b.put(trees::OUTBOX, k, item.seq.to_be_bytes().to_vec());
        }
        store.commit(b).expect("commit");
        schema::set_version(store.as_ref(), 2).expect("downgrade");
        assert_eq!(legacy_keys(&store), 3);

        let r = open(&store);
        assert_eq!(legacy_keys(&store), 0);
        assert_eq!(
            schema::read_version(store.as_ref()).expect("version"),
            Some(SCHEMA_VERSION)
        );
        assert_eq!(r.pending().expect("pending").changes, 3);
        r.acknowledge(&[items[0].seq, items[1].seq], 1)
            .expect("ack");
        assert_eq!(r.pending().expect("pending").changes, 1);
        let left = r.outbox_after(None, usize::MAX).expect("outbox");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].seq, items[2].seq);
        r.acknowledge(&[items[2].seq], 1).expect("ack");
        assert_eq!(r.pending().expect("pending"), PendingSummary::default());
        // What is left are the three acknowledged changes, kept for a relay restore.
        let left = store.scan(trees::OUTBOX, Scan::prefix(b"")).expect("scan");
        assert_eq!(left.len(), 3);
        assert!(
            left.iter()
                .all(|(k, _)| k.starts_with(super::super::rejoin::ACKED_PREFIX))
        );
    }
}
