//! Reading the relay's store as of one log head `H` while pushes go on.
//!
//! Log entries, their hash and grid indexes are filtered by sequence (entries are never
//! rewritten). Documents are copied as they are, then every document the log shows changed
//! after `H` is written again as of `H` (`fork_at` the heads of its changes up to `H`), or
//! deleted when it did not exist at `H`: a later record overrides an earlier one at restore.
//! Devices and tokens are copied together under the writer lock.

use std::collections::{BTreeSet, HashSet};

use automerge::{Automerge, ChangeHash};
use gridsync_core::error::Error;
use gridsync_core::ids::DocId;
use gridsync_core::store::{Scan, Store, for_each_page};

use super::BackupError;
use super::format::{Record, Writer};
use crate::hub::{
    ACTIVITY, DEVICES, GDOCS, GRID_DAYS, GRID_LOG, GRIDS, HASHES, Hub, LOG, LogRecord, RDOCS,
    RMETA, RelayDoc, decode, encode, grid_key,
};

const PAGE: usize = 512;

/// Counts of what a snapshot wrote.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counts {
    pub changes: u64,
    pub documents: u64,
    pub devices: u64,
}

/// The head and the small trees read under the writer lock.
pub(crate) struct Snapshot {
    head: u64,
    devices: Vec<(Vec<u8>, Vec<u8>)>,
    tokens: Vec<(Vec<u8>, Vec<u8>)>,
}

fn seq_value(v: &[u8]) -> Option<u64> {
    v.try_into().ok().map(u64::from_be_bytes)
}

fn put(tree: &str, key: &[u8], value: &[u8]) -> Record {
    Record::Put {
        tree: tree.to_string(),
        key: key.to_vec(),
        value: value.to_vec(),
    }
}

impl Snapshot {
    /// Fixes `H` (the durable head) and copies devices and tokens, under the writer lock.
    pub(crate) fn begin(hub: &Hub) -> Result<Self, BackupError> {
        let store = hub.store().as_ref();
        let guard = hub.writer_lock()?;
        let snapshot = Snapshot {
            head: hub.durable_head(),
            devices: store.scan(DEVICES, Scan::prefix(b""))?,
            tokens: store.scan(crate::hub::TOKENS, Scan::prefix(b""))?,
        };
        drop(guard);
        Ok(snapshot)
    }

    pub(crate) fn head(&self) -> u64 {
        self.head
    }

    /// Writes every tree as of `H`.
    pub(crate) fn write<W: std::io::Write>(
        &self,
        hub: &Hub,
        w: &mut Writer<W>,
        progress: &dyn Fn(u64),
    ) -> Result<Counts, BackupError> {
        let store = hub.store().as_ref();
        let mut counts = Counts {
            devices: self.devices.len() as u64,
            ..Counts::default()
        };
        for (k, v) in &self.devices {
            w.record(&put(DEVICES, k, v))?;
        }
        for (k, v) in &self.tokens {
            w.record(&put(crate::hub::TOKENS, k, v))?;
        }
        w.record(&put(RMETA, crate::hub::HEAD_KEY, &self.head.to_be_bytes()))?;
        for tree in [ACTIVITY, GRID_DAYS, GRIDS, GDOCS] {
            copy_tree(store, tree, w, |_, _| true)?;
        }
        let head = self.head;
        copy_tree(store, HASHES, w, |_, v| {
            seq_value(v).is_some_and(|s| s <= head)
        })?;
        copy_tree(store, GRID_LOG, w, |k, _| {
            let at = k.len().saturating_sub(8);
            seq_value(&k[at..]).is_some_and(|s| s <= head)
        })?;
        let mut changes = 0;
        copy_tree(store, LOG, w, |k, _| {
            let keep = seq_value(k).is_some_and(|s| s <= head);
            changes += u64::from(keep);
            keep
        })?;
        counts.changes = changes;
        let mut documents = 0u64;
        for_each_page(store, RDOCS, PAGE, |page| {
            for (k, v) in page {
                w.record(&put(RDOCS, k, v)).map_err(to_core)?;
                documents += 1;
                progress(documents);
            }
            Ok(())
        })?;
        counts.documents = documents - self.cut_back(hub, w)?;
        Ok(counts)
    }

    /// Writes again, as of `H`, the documents changed after it; returns how many did not
    /// exist at `H` (deleted).
    fn cut_back<W: std::io::Write>(
        &self,
        hub: &Hub,
        w: &mut Writer<W>,
    ) -> Result<u64, BackupError> {
        let store = hub.store().as_ref();
        let mut later: BTreeSet<DocId> = BTreeSet::new();
        let after = self.head.to_be_bytes();
        for (_, v) in store.scan(
            LOG,
            Scan {
                prefix: b"",
                after: Some(&after),
                limit: usize::MAX,
                reverse: false,
            },
        )? {
            let r: LogRecord = decode("log record", &v)?;
            later.insert(r.doc);
        }
        let mut created_later = 0;
        for id in later {
            let key = id.as_str().as_bytes();
            let Some(v) = store.get(RDOCS, key)? else {
                continue;
            };
            let rd: RelayDoc = decode("relay document", &v)?;
            let doc = Automerge::load(&rd.saved)
                .map_err(|e| Error::corrupt(format!("relay document {id}"), e))?;
            match at_head(store, &doc, self.head)? {
                Some(then) => {
                    let then = RelayDoc {
                        grid: rd.grid,
                        saved: then.save_nocompress(),
                    };
                    w.record(&put(RDOCS, key, &encode(&then)?))?;
                }
                None => {
                    created_later += 1;
                    for (tree, k) in [(RDOCS, key.to_vec()), (GDOCS, grid_key(&rd.grid, key))] {
                        w.record(&Record::Delete {
                            tree: tree.to_string(),
                            key: k,
                        })?;
                    }
                }
            }
        }
        Ok(created_later)
    }
}

/// The document as it was at log head `head`: the changes logged up to it, or `None` when
/// it had none.
fn at_head(
    store: &dyn Store,
    doc: &Automerge,
    head: u64,
) -> Result<Option<Automerge>, BackupError> {
    let mut kept: Vec<automerge::Change> = Vec::new();
    for c in doc.get_changes(&[]) {
        let seq = store.get(HASHES, &c.hash().0)?.and_then(|v| seq_value(&v));
        if seq.is_some_and(|s| s <= head) {
            kept.push(c);
        }
    }
    if kept.is_empty() {
        return Ok(None);
    }
    let deps: HashSet<ChangeHash> = kept.iter().flat_map(|c| c.deps().iter().copied()).collect();
    let heads: Vec<ChangeHash> = kept
        .iter()
        .map(|c| c.hash())
        .filter(|h| !deps.contains(h))
        .collect();
    let then = doc
        .fork_at(&heads)
        .map_err(|e| Error::corrupt("relay document", e))?;
    Ok(Some(then))
}

fn to_core(e: BackupError) -> Error {
    match e {
        BackupError::Store(e) => e,
        other => Error::Storage(other.to_string()),
    }
}

/// Copies the entries of `tree` that `keep` selects.
fn copy_tree<W: std::io::Write>(
    store: &dyn Store,
    tree: &'static str,
    w: &mut Writer<W>,
    mut keep: impl FnMut(&[u8], &[u8]) -> bool,
) -> Result<(), BackupError> {
    for_each_page(store, tree, PAGE, |page| {
        for (k, v) in page.iter().filter(|(k, v)| keep(k, v)) {
            w.record(&put(tree, k, v)).map_err(to_core)?;
        }
        Ok(())
    })?;
    Ok(())
}
