//! Changes the relay refused: recorded against their outbox entries, never pushed again,
//! listed for the user, and removed from their records only when the user discards them.
//!
//! Outbox tree layout: a refused change leaves `q seq` / `d doc \0 seq` (so it is neither
//! pushed nor pending) for `r seq` → [`RefusedEntry`] and `x doc \0 seq` → (). Meta
//! `outbox_refused` counts them (see [`super::outbox`]).

use std::collections::{HashMap, HashSet};

use automerge::{Automerge, Change};
use serde::{Deserialize, Serialize};

use super::outbox::{
    OutboxRecord, PendingSummary, d_key, doc_prefix, doc_prefix_of, q_key, seq_at_end, seq_key,
    stage_pending,
};
use super::{ChangeOrigin, Replica, kind_name};
use crate::error::{Error, Result};
use crate::ids::{DocId, DocKind, GridPath, Timestamp};
use crate::index::{self, decode, encode};
use crate::store::{Batch, Scan, Store, trees};
use crate::sync::RefusedChange;
use crate::sync::wire::ChangeHash;
use crate::untrusted::contain;

/// Where the `r` (refused, by sequence) entries start.
pub(super) const REFUSED_PREFIX: &[u8] = b"r";

/// The letter of the per-document entries of refused changes.
const REFUSED_DOC: u8 = b'x';

/// A refused outbox entry as stored: the entry, the relay's reason and when it refused.
#[derive(Serialize, Deserialize)]
pub(super) struct RefusedEntry {
    change: OutboxRecord,
    reason: String,
    at: Timestamp,
}

/// A record holding changes the relay refused, for the user to look at and discard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedRecord {
    /// The record.
    pub doc: DocId,
    /// Household, visit or case.
    pub kind: DocKind,
    /// The grid the record is in.
    pub grid: GridPath,
    /// What the relay has against the record's first refused change.
    pub reason: String,
    /// When the relay refused it (ms).
    pub at: Timestamp,
    /// How many of the record's changes were refused.
    pub changes: u64,
    /// Discarding removes the whole record from this device (a refused change created it).
    pub whole_record: bool,
}

/// What [`Replica::discard_refused`] removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discarded {
    /// The record.
    pub doc: DocId,
    /// Household, visit or case.
    pub kind: DocKind,
    /// Changes taken out of the record: the refused ones and every change built on them.
    pub removed_changes: u64,
    /// Of those, changes that were still waiting to be pushed.
    pub dropped_pending: u64,
    /// The record is gone from this device (a refused change created it); otherwise it
    /// holds what the relay had accepted, and its other pending changes stay pending.
    pub deleted: bool,
}

/// A record's refused entries, in outbox order.
fn refused_of(store: &dyn Store, doc: &DocId) -> Result<Vec<(u64, RefusedEntry)>> {
    let mut out = Vec::new();
    for (k, _) in store.scan(
        trees::OUTBOX,
        Scan::prefix(&doc_prefix_of(REFUSED_DOC, doc)),
    )? {
        let seq = seq_at_end(&k)?;
        let v = store
            .get(trees::OUTBOX, &seq_key(REFUSED_PREFIX, seq))?
            .ok_or_else(|| Error::corrupt("outbox", "a refused entry lost its record"))?;
        out.push((seq, decode(&v)?));
    }
    Ok(out)
}

/// Of `deferred` (in outbox order), the changes that build on a refused change of their
/// record, directly or through an earlier one of them, with that as their reason.
pub(super) fn built_on_refused(
    replica: &Replica,
    deferred: &[RefusedChange],
) -> Result<Vec<RefusedChange>> {
    let store = replica.store.as_ref();
    let mut refused: HashMap<DocId, HashSet<ChangeHash>> = HashMap::new();
    let mut out = Vec::new();
    for d in deferred {
        if !refused.contains_key(&d.doc) {
            let known = refused_of(store, &d.doc)?
                .into_iter()
                .map(|(_, e)| e.change.hash);
            refused.insert(d.doc.clone(), known.collect());
        }
        let hash = automerge::ChangeHash(d.hash);
        let deps: Vec<ChangeHash> = replica.read_doc(&d.doc, |doc| {
            use automerge::ReadDoc;
            Ok(doc
                .get_change_by_hash(&hash)
                .map(|c| c.deps().iter().map(|h| h.0).collect())
                .unwrap_or_default())
        })?;
        let of_doc = refused.entry(d.doc.clone()).or_default();
        if deps.iter().any(|h| of_doc.contains(h)) {
            of_doc.insert(d.hash);
            out.push(RefusedChange {
                reason: "builds on a change the relay refused".into(),
                ..d.clone()
            });
        }
    }
    Ok(out)
}

/// The relay's reason against a record's first refused change, if it has one.
pub(super) fn first_refusal(store: &dyn Store, doc: &DocId) -> Result<Option<String>> {
    let prefix = doc_prefix_of(REFUSED_DOC, doc);
    let first = store.scan(
        trees::OUTBOX,
        Scan {
            prefix: &prefix,
            after: None,
            limit: 1,
            reverse: false,
        },
    )?;
    let Some((k, _)) = first.first() else {
        return Ok(None);
    };
    let seq = seq_at_end(k)?;
    let entry: Option<RefusedEntry> = store
        .get(trees::OUTBOX, &seq_key(REFUSED_PREFIX, seq))?
        .map(|v| decode(&v))
        .transpose()?;
    Ok(Some(entry.map_or_else(String::new, |e| e.reason)))
}

/// The changes of a document that stay when `refused` and every change built on them
/// (directly or not) are taken out, in the document's order, and how many are taken out.
fn without(doc: &Automerge, refused: &HashSet<ChangeHash>) -> (Vec<Change>, u64) {
    let all = doc.get_changes(&[]);
    let mut removed = refused.clone();
    loop {
        let before = removed.len();
        for c in &all {
            if c.deps().iter().any(|d| removed.contains(&d.0)) {
                removed.insert(c.hash().0);
            }
        }
        if removed.len() == before {
            break;
        }
    }
    let total = all.len() as u64;
    let kept: Vec<Change> = all
        .into_iter()
        .filter(|c| !removed.contains(&c.hash().0))
        .collect();
    let gone = total - kept.len() as u64;
    (kept, gone)
}

impl Replica {
    /// Records that the relay refused these changes (by outbox seq), with its reasons, in
    /// one durable commit: they leave the pending outbox, are never pushed again, and stay
    /// in their records until [`Replica::discard_refused`]. Seqs not pending are ignored.
    pub fn refuse(&self, refused: &[RefusedChange]) -> Result<()> {
        let mut inner = self.lock()?;
        let mut batch = Batch::new();
        let mut after = inner.pending;
        let at = self.now();
        let mut seen = HashSet::new();
        for r in refused {
            let Some(v) = self.store.get(trees::OUTBOX, &q_key(r.seq))? else {
                continue;
            };
            if !seen.insert(r.seq) {
                continue;
            }
            let change: OutboxRecord = decode(&v)?;
            tracing::info!(doc = %change.doc, seq = r.seq, reason = %r.reason, "change refused by the relay");
            batch.delete(trees::OUTBOX, q_key(r.seq));
            batch.delete(trees::OUTBOX, d_key(&change.doc, r.seq));
            let mut x = doc_prefix_of(REFUSED_DOC, &change.doc);
            x.extend_from_slice(&r.seq.to_be_bytes());
            batch.put(trees::OUTBOX, x, Vec::new());
            after.changes = after.changes.saturating_sub(1);
            after.bytes = after.bytes.saturating_sub(change.size);
            after.refused += 1;
            let entry = RefusedEntry {
                change,
                reason: r.reason.clone(),
                at,
            };
            batch.put(
                trees::OUTBOX,
                seq_key(REFUSED_PREFIX, r.seq),
                encode(&entry)?,
            );
        }
        if seen.is_empty() {
            return Ok(());
        }
        stage_pending(&mut batch, &after)?;
        self.store.commit(batch)?;
        inner.pending = after;
        Ok(())
    }

    /// Of changes the relay deferred for a missing dependency, those built on a change it
    /// refused (see [`crate::sync::HandsetBackend::built_on_refused`]).
    pub fn built_on_refused(&self, deferred: &[RefusedChange]) -> Result<Vec<RefusedChange>> {
        built_on_refused(self, deferred)
    }

    /// The records holding changes the relay refused, in the order they were refused.
    pub fn refused(&self) -> Result<Vec<RefusedRecord>> {
        let mut out: Vec<RefusedRecord> = Vec::new();
        for (_, v) in self
            .store
            .scan(trees::OUTBOX, Scan::prefix(REFUSED_PREFIX))?
        {
            let e: RefusedEntry = decode(&v)?;
            if let Some(known) = out.iter_mut().find(|r| r.doc == e.change.doc) {
                known.changes += 1;
                continue;
            }
            out.push(RefusedRecord {
                kind: e.change.doc.kind(),
                doc: e.change.doc,
                grid: e.change.grid,
                reason: e.reason,
                at: e.at,
                changes: 1,
                whole_record: false,
            });
        }
        for r in &mut out {
            let hashes: HashSet<ChangeHash> = refused_of(self.store.as_ref(), &r.doc)?
                .into_iter()
                .map(|(_, e)| e.change.hash)
                .collect();
            r.whole_record = self.read_doc(&r.doc, |d| Ok(without(d, &hashes).0.is_empty()))?;
        }
        Ok(out)
    }

    /// Removes a record's refused changes, and every change built on them, from this
    /// device, in one durable commit. A record a refused change created is deleted with
    /// its index and outbox entries; any other is saved and indexed again from the changes
    /// that remain (what the relay accepted, and later pending changes not built on a
    /// refused one, which stay pending). [`Error::Invalid`] when the record holds no
    /// refused change; nothing else changes.
    pub fn discard_refused(&self, id: &DocId) -> Result<Discarded> {
        let _span = tracing::info_span!("discard_refused", doc = %id).entered();
        let mut inner = self.lock()?;
        let refused = refused_of(self.store.as_ref(), id)?;
        if refused.is_empty() {
            return Err(Error::invalid(
                "id",
                format!(
                    "{} {id} holds no change the relay refused",
                    kind_name(id.kind())
                ),
            ));
        }
        let doc = self.load(&mut inner, id)?;
        inner.cache.forget(id);
        let hashes: HashSet<ChangeHash> = refused.iter().map(|(_, e)| e.change.hash).collect();
        let (kept, removed_changes) = without(&doc, &hashes);
        let mut batch = Batch::new();
        let mut after = inner.pending;
        for (seq, _) in &refused {
            let mut x = doc_prefix_of(REFUSED_DOC, id);
            x.extend_from_slice(&seq.to_be_bytes());
            batch.delete(trees::OUTBOX, x);
            batch.delete(trees::OUTBOX, seq_key(REFUSED_PREFIX, *seq));
            after.refused = after.refused.saturating_sub(1);
        }
        let kept_hashes: HashSet<ChangeHash> = kept.iter().map(|c| c.hash().0).collect();
        let dropped_pending = self.drop_pending_of(&mut batch, id, &kept_hashes, &mut after)?;
        let rebuilt = self.stage_remaining(&mut batch, id, kept)?;
        stage_pending(&mut batch, &after)?;
        self.store.commit(batch)?;
        inner.pending = after;
        let deleted = rebuilt.is_none();
        if let Some(doc) = rebuilt {
            inner.cache.put(id.clone(), doc);
        }
        drop(inner);
        self.notify(std::slice::from_ref(id), ChangeOrigin::Local);
        // A record of a grid the handset lost waited only for this.
        self.retire_lost()?;
        Ok(Discarded {
            doc: id.clone(),
            kind: id.kind(),
            removed_changes,
            dropped_pending,
            deleted,
        })
    }

    /// Stages the removal of a record's pending outbox entries whose change is not in
    /// `kept`; returns how many.
    fn drop_pending_of(
        &self,
        batch: &mut Batch,
        id: &DocId,
        kept: &HashSet<ChangeHash>,
        after: &mut PendingSummary,
    ) -> Result<u64> {
        let mut dropped = 0;
        for (k, _) in self
            .store
            .scan(trees::OUTBOX, Scan::prefix(&doc_prefix(id)))?
        {
            let seq = seq_at_end(&k)?;
            let Some(v) = self.store.get(trees::OUTBOX, &q_key(seq))? else {
                continue;
            };
            let r: OutboxRecord = decode(&v)?;
            if kept.contains(&r.hash) {
                continue;
            }
            batch.delete(trees::OUTBOX, k);
            batch.delete(trees::OUTBOX, q_key(seq));
            after.changes = after.changes.saturating_sub(1);
            after.bytes = after.bytes.saturating_sub(r.size);
            dropped += 1;
        }
        Ok(dropped)
    }

    /// Stages a record rebuilt from the changes that remain, or its deletion (document and
    /// index entries) when none do; returns the rebuilt document.
    fn stage_remaining(
        &self,
        batch: &mut Batch,
        id: &DocId,
        kept: Vec<Change>,
    ) -> Result<Option<Automerge>> {
        if kept.is_empty() {
            batch.delete(trees::DOCS, id.as_str().as_bytes().to_vec());
            index::remove(self.store.as_ref(), batch, id)?;
            return Ok(None);
        }
        let doc = contain(format!("document {id}"), || {
            let mut doc = Automerge::new().with_actor(self.actor.clone());
            doc.apply_changes(kept)
                .map_err(|e| Error::corrupt(format!("document {id}"), e))?;
            Ok(doc)
        })?;
        self.stage_doc(batch, id, &doc)?;
        Ok(Some(doc))
    }
}
