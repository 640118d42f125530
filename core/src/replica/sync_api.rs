//! What the sync layer needs from a replica: the outbox of local changes not yet
//! acknowledged, applying batches from the relay together with the cursor, and per-record
//! sync state for the app.
//!
//! Outbox tree layout: `q seq` → which change of which document, `d doc \0 seq` → ()
//! (stores from before the outbox lost its hash index also hold `h hash` → `seq`, deleted
//! with the change). Meta `outbox_pending` holds the outbox's count and bytes.

use automerge::{Automerge, Change};
use serde::{Deserialize, Serialize};

use super::{ChangeOrigin, Replica};
use crate::error::{Error, Result};
use crate::ids::DocId;
use crate::index::{decode, encode};
use crate::store::{Batch, Scan, Store, trees};
use crate::sync::backend::{HandsetBackend, OutboxItem};
use crate::sync::wire::{ChangeHash, Cursor, Entry, Payload, PushedChange};
use crate::untrusted::contain;

const CURSOR_KEY: &[u8] = b"cursor";

/// An outbox entry as stored: which change of which document. The change's bytes are not
/// copied: they are read from the document when the change is pushed, so the outbox costs a
/// few dozen bytes a change instead of doubling what a worker's records take on disk.
#[derive(Serialize, Deserialize)]
struct OutboxRecord {
    doc: DocId,
    grid: crate::ids::GridPath,
    hash: ChangeHash,
    size: u64,
}

const LAST_SYNC_KEY: &[u8] = b"last_sync";

/// Where one record stands with the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordSyncState {
    /// Has local changes the relay has not acknowledged.
    Pending,
    /// Everything written here is durable on the relay.
    Acknowledged,
}

/// The outbox at a glance, for the app's sync bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PendingSummary {
    /// Changes waiting.
    pub changes: u64,
    /// Their bytes.
    pub bytes: u64,
}

fn q_key(seq: u64) -> Vec<u8> {
    let mut k = vec![b'q'];
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Key of the hash → seq entry that stores made before version 0.1's outbox change kept
/// for every change; deleted with the change.
fn legacy_h_key(hash: &ChangeHash) -> Vec<u8> {
    let mut k = vec![b'h'];
    k.extend_from_slice(hash);
    k
}

fn d_key(doc: &DocId, seq: u64) -> Vec<u8> {
    let mut k = vec![b'd'];
    k.extend_from_slice(doc.as_str().as_bytes());
    k.push(0);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// The next free outbox sequence in a store.
pub(super) fn next_outbox_seq(store: &dyn Store) -> Result<u64> {
    let last = store.scan(
        trees::OUTBOX,
        Scan {
            prefix: b"q",
            after: None,
            limit: 1,
            reverse: true,
        },
    )?;
    Ok(match last.first() {
        Some((k, _)) => {
            u64::from_be_bytes(
                k[1..9]
                    .try_into()
                    .map_err(|_| Error::corrupt("outbox", "bad key"))?,
            ) + 1
        }
        None => 1,
    })
}

/// Meta key of the outbox's count and bytes, written in every batch that changes the
/// outbox, so an open need not read the whole outbox.
const PENDING_KEY: &[u8] = b"outbox_pending";

/// Count and bytes of the outbox, read once at open and kept up to date after. A store
/// written before the summary was kept is counted once, and the summary saved.
pub(super) fn read_pending(store: &dyn Store) -> Result<PendingSummary> {
    if let Some(v) = store.get(trees::META, PENDING_KEY)? {
        return decode(&v);
    }
    let mut s = PendingSummary::default();
    for (_, v) in store.scan(trees::OUTBOX, Scan::prefix(b"q"))? {
        let c: OutboxRecord = decode(&v)?;
        s.changes += 1;
        s.bytes += c.size;
    }
    let mut b = Batch::new();
    stage_pending(&mut b, &s)?;
    store.commit(b)?;
    Ok(s)
}

/// Stages the outbox summary as it will be after the batch.
pub(super) fn stage_pending(batch: &mut Batch, pending: &PendingSummary) -> Result<()> {
    batch.put(trees::META, PENDING_KEY.to_vec(), encode(pending)?);
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

impl Replica {
    /// Unacknowledged changes with outbox seq after `after`, oldest first, stopping once
    /// `max_bytes` of change bytes is reached (always at least one if any are left).
    pub fn outbox_after(&self, after: Option<u64>, max_bytes: usize) -> Result<Vec<OutboxItem>> {
        let after_key = after.map(q_key);
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut from = after_key;
        loop {
            let page = self.store.scan(
                trees::OUTBOX,
                Scan {
                    prefix: b"q",
                    after: from.as_deref(),
                    limit: 64,
                    reverse: false,
                },
            )?;
            if page.is_empty() {
                return Ok(out);
            }
            for (k, v) in &page {
                let seq = u64::from_be_bytes(
                    k[1..9]
                        .try_into()
                        .map_err(|_| Error::corrupt("outbox", "bad key"))?,
                );
                let r: OutboxRecord = decode(v)?;
                if !out.is_empty() && bytes + r.size as usize > max_bytes {
                    return Ok(out);
                }
                let hash = automerge::ChangeHash(r.hash);
                let change = self.read_doc(&r.doc, |d| {
                    use automerge::ReadDoc;
                    d.get_change_by_hash(&hash)
                        .map(|c| c.raw_bytes().to_vec())
                        .ok_or_else(|| {
                            Error::corrupt(
                                format!("document {}", r.doc),
                                "a change in the outbox is missing from its document",
                            )
                        })
                })?;
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

    /// Drops acknowledged changes (by outbox seq) from the outbox. Seqs no longer there are
    /// ignored (a repeated acknowledgement is harmless).
    pub fn acknowledge(&self, seqs: &[u64]) -> Result<()> {
        let mut inner = self.lock()?;
        let mut batch = Batch::new();
        let mut gone = PendingSummary::default();
        for seq in seqs {
            let Some(v) = self.store.get(trees::OUTBOX, &q_key(*seq))? else {
                continue;
            };
            let change: OutboxRecord = decode(&v)?;
            batch.delete(trees::OUTBOX, d_key(&change.doc, *seq));
            // Stores written before the outbox lost its hash index still hold the entry.
            batch.delete(trees::OUTBOX, legacy_h_key(&change.hash));
            batch.delete(trees::OUTBOX, q_key(*seq));
            gone.changes += 1;
            gone.bytes += change.size;
        }
        batch.put(
            trees::META,
            LAST_SYNC_KEY.to_vec(),
            self.now().to_be_bytes().to_vec(),
        );
        let after = PendingSummary {
            changes: inner.pending.changes.saturating_sub(gone.changes),
            bytes: inner.pending.bytes.saturating_sub(gone.bytes),
        };
        stage_pending(&mut batch, &after)?;
        self.store.commit(batch)?;
        inner.pending = after;
        Ok(())
    }

    /// Count and bytes of changes waiting for the relay (kept in memory: cheap to poll).
    pub fn pending(&self) -> Result<PendingSummary> {
        Ok(self.lock()?.pending)
    }

    /// Whether a record's local changes have all reached the relay.
    pub fn record_sync_state(&self, doc: &DocId) -> Result<RecordSyncState> {
        let mut prefix = vec![b'd'];
        prefix.extend_from_slice(doc.as_str().as_bytes());
        prefix.push(0);
        let pending = !self
            .store
            .scan(
                trees::OUTBOX,
                Scan {
                    prefix: &prefix,
                    after: None,
                    limit: 1,
                    reverse: false,
                },
            )?
            .is_empty();
        Ok(if pending {
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

    /// The persisted pull cursor ([`Cursor::Fresh`] before the first sync).
    pub fn cursor(&self) -> Result<Cursor> {
        match self.store.get(trees::META, CURSOR_KEY)? {
            Some(v) => decode(&v),
            None => Ok(Cursor::Fresh),
        }
    }

    /// Applies a batch from the relay and stores `cursor`, in one atomic durable write.
    /// Entries that fail to decode reject the whole batch: nothing is written. Returns the
    /// documents that changed.
    pub fn apply_batch(&self, entries: &[Entry], cursor: &Cursor) -> Result<Vec<DocId>> {
        let _span = tracing::debug_span!("apply_batch", entries = entries.len()).entered();
        let mut inner = self.lock()?;
        let mut touched: Vec<(DocId, Automerge)> = Vec::new();
        let mut failed = None;
        for e in entries {
            let pos = touched.iter().position(|(id, _)| *id == e.doc);
            let mut doc = match pos {
                Some(i) => touched.swap_remove(i).1,
                None => match self.load(&mut inner, &e.doc) {
                    Ok(d) => d,
                    Err(Error::NotFound { .. }) => Automerge::new().with_actor(self.actor.clone()),
                    Err(err) => {
                        failed = Some(err);
                        break;
                    }
                },
            };
            let bytes = match &e.payload {
                Payload::Change(b) | Payload::Snapshot(b) => b,
            };
            let what = format!("change for {}", e.doc);
            let applied = contain(what.clone(), || {
                doc.load_incremental(bytes)
                    .map_err(|err| Error::corrupt(what.clone(), err))?;
                check_identity(&doc, e)
            });
            if let Err(err) = applied {
                failed = Some(err);
                touched.push((e.doc.clone(), doc));
                break;
            }
            touched.push((e.doc.clone(), doc));
        }
        if let Some(err) = failed {
            for (id, _) in &touched {
                inner.cache.forget(id);
            }
            return Err(err);
        }
        let mut batch = Batch::new();
        let mut changed = Vec::new();
        for (id, doc) in &touched {
            let saved = contain(format!("document {id}"), || Ok(doc.save_nocompress()));
            let saved = match saved {
                Ok(s) => s,
                Err(err) => {
                    for (id, _) in &touched {
                        inner.cache.forget(id);
                    }
                    return Err(err);
                }
            };
            batch.put(trees::DOCS, id.as_str().as_bytes().to_vec(), saved);
            match contain(format!("document {id}"), || self.index_entries(id, doc)) {
                Ok((_, entries)) => {
                    crate::index::replace(self.store.as_ref(), &mut batch, id, entries)?
                }
                Err(err) => {
                    // Not readable yet (its first change has not arrived): keep it, index nothing.
                    tracing::debug!(doc = %id, %err, "received document not indexed yet");
                    crate::index::remove(self.store.as_ref(), &mut batch, id)?;
                }
            }
            changed.push(id.clone());
        }
        batch.put(trees::META, CURSOR_KEY.to_vec(), encode(cursor)?);
        batch.put(
            trees::META,
            LAST_SYNC_KEY.to_vec(),
            self.now().to_be_bytes().to_vec(),
        );
        match self.store.commit(batch) {
            Ok(()) => {
                for (id, doc) in touched {
                    inner.cache.put(id, doc);
                }
                drop(inner);
                self.notify(&changed, ChangeOrigin::Remote);
                Ok(changed)
            }
            Err(err) => {
                for (id, _) in &touched {
                    inner.cache.forget(id);
                }
                Err(err)
            }
        }
    }

    /// Every change of a document that is not a dependency of `heads` (raw, uncompressed),
    /// for peers that sync document by document.
    pub fn changes_since(&self, doc: &DocId, heads: &[ChangeHash]) -> Result<Vec<Vec<u8>>> {
        let heads: Vec<automerge::ChangeHash> =
            heads.iter().map(|h| automerge::ChangeHash(*h)).collect();
        self.read_doc(doc, |d| {
            Ok(d.get_changes(&heads)
                .iter()
                .map(|c| c.raw_bytes().to_vec())
                .collect())
        })
    }

    /// The current heads of a document.
    pub fn heads(&self, doc: &DocId) -> Result<Vec<ChangeHash>> {
        self.read_doc(doc, |d| Ok(d.get_heads().iter().map(|h| h.0).collect()))
    }

    /// Applies raw changes to a document received from a peer (no cursor involved).
    pub fn apply_changes(
        &self,
        doc: &DocId,
        grid: &crate::ids::GridPath,
        changes: &[Vec<u8>],
    ) -> Result<Vec<DocId>> {
        for c in changes {
            contain(format!("change for {doc}"), || {
                Ok(Change::from_bytes(c.clone()))
            })?
            .map_err(|e| Error::corrupt(format!("change for {doc}"), e))?;
        }
        let entries: Vec<Entry> = changes
            .iter()
            .map(|c| Entry {
                doc: doc.clone(),
                grid: grid.clone(),
                payload: Payload::Change(c.clone()),
            })
            .collect();
        let cursor = self.cursor()?;
        self.apply_batch(&entries, &cursor)
    }
}

/// A received document must say it is the document it was sent as, in the grid it was
/// sent for.
fn check_identity(doc: &Automerge, e: &Entry) -> Result<()> {
    use automerge::ReadDoc;
    let id = doc
        .get(automerge::ROOT, "id")
        .ok()
        .flatten()
        .and_then(|(v, _)| v.as_str().map(str::to_string));
    if let Some(id) = id
        && id != e.doc.as_str()
    {
        return Err(Error::corrupt(
            format!("document {}", e.doc),
            format!("it calls itself {id}"),
        ));
    }
    if let Some(g) = crate::model::grid_of(doc)?
        && g != e.grid
    {
        return Err(Error::corrupt(
            format!("document {}", e.doc),
            format!("it is in grid {g}, not {}", e.grid),
        ));
    }
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

    fn acknowledge(&mut self, seqs: &[u64]) -> Result<()> {
        Replica::acknowledge(self, seqs)
    }

    fn cursor(&self) -> Result<Cursor> {
        Replica::cursor(self)
    }
}
