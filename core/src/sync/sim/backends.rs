//! In-memory backends over real automerge documents: a handset ([`SimHandset`]) here and
//! a relay ([`SimRelay`], `sim_relay.rs`). Deliberately simple: they exist to exercise
//! the sessions.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, AutomergeError, Change, ROOT};

use crate::error::{Error, Result};
use crate::ids::{DocId, DocKind, GridPath};
use crate::sync::backend::{HandsetBackend, OutboxItem};
use crate::sync::wire::{ChangeHash, Cursor, Entry, Payload, PushedChange};

pub(crate) fn grid(s: &str) -> GridPath {
    GridPath::parse(s).unwrap()
}

pub(super) fn corrupt(e: impl std::fmt::Display) -> Error {
    Error::corrupt("change", e)
}

/// Puts `key = value` into `doc` and returns the change it made.
pub(super) fn put(doc: &mut Automerge, key: &str, value: &str) -> Change {
    doc.transact::<_, _, AutomergeError>(|tx| tx.put(ROOT, key, value))
        .unwrap();
    doc.get_last_local_change().unwrap()
}

pub(super) fn sorted_heads(doc: &Automerge) -> Vec<ChangeHash> {
    let mut heads: Vec<ChangeHash> = doc.get_heads().iter().map(|h| h.0).collect();
    heads.sort_unstable();
    heads
}

/// A handset's storage: documents, an outbox and a cursor, all in memory.
#[derive(Debug, Default)]
pub(crate) struct SimHandset {
    actor: Option<ActorId>,
    pub docs: BTreeMap<DocId, (GridPath, Automerge)>,
    outbox: BTreeMap<u64, PushedChange>,
    /// Changes the relay refused, by outbox seq, with its reason.
    pub refused: BTreeMap<u64, (PushedChange, String)>,
    next_seq: u64,
    cursor: Option<Cursor>,
    /// The grants the relay sent last.
    pub grants: Option<crate::model::Grants>,
    /// Snapshot entries applied, per document (across connections).
    pub snapshots_received: HashMap<DocId, usize>,
    /// Change entries applied (across connections).
    pub changes_received: usize,
}

impl SimHandset {
    pub fn new() -> Self {
        SimHandset {
            actor: Some(ActorId::random()),
            ..Default::default()
        }
    }

    /// A local edit, recorded in the outbox like the replica does.
    pub fn write(&mut self, doc: &DocId, grid: &GridPath, key: &str, value: &str) -> ChangeHash {
        let actor = self.actor.clone().unwrap();
        let (_, d) = self
            .docs
            .entry(doc.clone())
            .or_insert_with(|| (grid.clone(), Automerge::new().with_actor(actor)));
        let change = put(d, key, value);
        self.next_seq += 1;
        let pushed = PushedChange {
            doc: doc.clone(),
            grid: grid.clone(),
            hash: change.hash().0,
            bytes: change.raw_bytes().to_vec(),
        };
        self.outbox.insert(self.next_seq, pushed);
        change.hash().0
    }

    pub fn heads(&self, doc: &DocId) -> Vec<ChangeHash> {
        self.docs
            .get(doc)
            .map(|(_, d)| sorted_heads(d))
            .unwrap_or_default()
    }

    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }
}

impl HandsetBackend for SimHandset {
    fn outbox_after(&self, after: Option<u64>, max_bytes: usize) -> Result<Vec<OutboxItem>> {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut items = Vec::new();
        let mut bytes = 0;
        for (seq, change) in self.outbox.range((start, Bound::Unbounded)) {
            if bytes >= max_bytes && !items.is_empty() {
                break;
            }
            bytes += change.bytes.len();
            items.push(OutboxItem {
                seq: *seq,
                change: change.clone(),
            });
        }
        Ok(items)
    }

    fn apply_batch(&mut self, entries: &[Entry], cursor: &Cursor) -> Result<Vec<DocId>> {
        let actor = self.actor.clone().unwrap_or_else(ActorId::random);
        let mut staged: BTreeMap<DocId, (GridPath, Automerge)> = BTreeMap::new();
        let (mut snapshots, mut changes) = (Vec::new(), 0);
        for entry in entries {
            let slot = staged.entry(entry.doc.clone()).or_insert_with(|| {
                self.docs.get(&entry.doc).cloned().unwrap_or_else(|| {
                    (
                        entry.grid.clone(),
                        Automerge::new().with_actor(actor.clone()),
                    )
                })
            });
            match &entry.payload {
                Payload::Snapshot(bytes) => {
                    slot.1.load_incremental(bytes).map_err(corrupt)?;
                    snapshots.push(entry.doc.clone());
                }
                Payload::Change(bytes) => {
                    let change = Change::from_bytes(bytes.clone()).map_err(corrupt)?;
                    slot.1.apply_changes([change]).map_err(corrupt)?;
                    changes += 1;
                }
            }
        }
        let changed: Vec<DocId> = staged
            .iter()
            .filter(|(id, (_, d))| self.heads(id) != sorted_heads(d))
            .map(|(id, _)| id.clone())
            .collect();
        self.docs.extend(staged);
        self.cursor = Some(cursor.clone());
        for doc in snapshots {
            *self.snapshots_received.entry(doc).or_default() += 1;
        }
        self.changes_received += changes;
        Ok(changed)
    }

    fn acknowledge(&mut self, seqs: &[u64], _head: u64) -> Result<()> {
        for seq in seqs {
            self.outbox.remove(seq);
        }
        Ok(())
    }

    fn refuse(&mut self, refused: &[crate::sync::RefusedChange]) -> Result<()> {
        for r in refused {
            if let Some(change) = self.outbox.remove(&r.seq) {
                self.refused.insert(r.seq, (change, r.reason.clone()));
            }
        }
        Ok(())
    }

    fn cursor(&self) -> Result<Cursor> {
        Ok(self.cursor.clone().unwrap_or(Cursor::Fresh))
    }

    fn set_grants(&mut self, grants: &crate::model::Grants) -> Result<()> {
        self.grants = Some(grants.clone());
        Ok(())
    }
}

/// A new random document id of kind household.
pub(crate) fn new_doc() -> DocId {
    DocId::new(DocKind::Household)
}
