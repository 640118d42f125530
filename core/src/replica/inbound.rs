//! Applying what the relay delivers: a batch of changes and snapshots merged into their
//! documents and written, with their index entries and the new pull cursor, in one atomic
//! durable commit.

use std::collections::HashMap;

use automerge::Automerge;

use super::{ChangeOrigin, Inner, Replica, sync_state};
use crate::error::{Error, Result};
use crate::ids::DocId;
use crate::index;
use crate::store::{Batch, trees};
use crate::sync::wire::{Cursor, Entry, Payload};
use crate::untrusted::contain;

impl Replica {
    /// Applies a batch from the relay and stores `cursor`, in one atomic durable write.
    /// Entries that fail to decode reject the whole batch: nothing is written. Returns the
    /// documents that changed.
    pub fn apply_batch(&self, entries: &[Entry], cursor: &Cursor) -> Result<Vec<DocId>> {
        let _span = tracing::debug_span!("apply_batch", entries = entries.len()).entered();
        self.apply_entries(entries, |batch| sync_state::stage_cursor(batch, cursor))
    }

    /// Merges `entries` and commits them together with what `stage_position` stages (where
    /// the handset now stands), in one atomic durable write.
    pub(super) fn apply_entries(
        &self,
        entries: &[Entry],
        stage_position: impl FnOnce(&mut Batch) -> Result<()>,
    ) -> Result<Vec<DocId>> {
        let mut inner = self.lock()?;
        let mut touched = Touched::default();
        let written = self
            .merge_entries(&mut inner, entries, &mut touched)
            .and_then(|()| self.stage_received(entries, &touched))
            .and_then(|mut batch| {
                stage_position(&mut batch)?;
                self.store.commit(batch)
            });
        if let Err(err) = written {
            // The merged documents are not what is on disk: drop them from memory.
            for (id, _) in &touched.docs {
                inner.cache.forget(id);
            }
            return Err(err);
        }
        let changed: Vec<DocId> = touched.docs.iter().map(|(id, _)| id.clone()).collect();
        for (id, doc) in touched.docs {
            inner.cache.put(id, doc);
        }
        drop(inner);
        self.notify(&changed, ChangeOrigin::Remote);
        Ok(changed)
    }

    /// Merges each entry into its document (loaded once per batch; new when unknown here),
    /// collecting the documents in `touched`. Stops at the first entry that fails.
    fn merge_entries(
        &self,
        inner: &mut Inner,
        entries: &[Entry],
        touched: &mut Touched,
    ) -> Result<()> {
        for (k, e) in entries.iter().enumerate() {
            let i = match touched.at.get(&e.doc) {
                Some(i) => {
                    // A second entry: the document is no longer just its first change.
                    touched.single.remove(i);
                    *i
                }
                None => {
                    let (doc, new) = self.load_or_new(inner, &e.doc)?;
                    let i = touched.docs.len();
                    touched.docs.push((e.doc.clone(), doc));
                    touched.at.insert(e.doc.clone(), i);
                    if new && matches!(e.payload, Payload::Change(_)) {
                        touched.single.insert(i, k);
                    }
                    i
                }
            };
            merge_entry(&mut touched.docs[i].1, e)?;
        }
        Ok(())
    }

    /// A document from the cache or the store (`false`), or a new empty one if it is not
    /// stored (`true`).
    fn load_or_new(&self, inner: &mut Inner, id: &DocId) -> Result<(Automerge, bool)> {
        match self.load(inner, id) {
            Err(Error::NotFound { .. }) => {
                Ok((Automerge::new().with_actor(self.actor.clone()), true))
            }
            other => other.map(|doc| (doc, false)),
        }
    }

    /// Stages the merged documents, their index entries and the sync time. A document made
    /// of one received change is stored as that change: smaller than a saved document, and
    /// no save to compute (`Automerge::load` reads either).
    fn stage_received(&self, entries: &[Entry], touched: &Touched) -> Result<Batch> {
        let mut batch = Batch::new();
        for (i, (id, doc)) in touched.docs.iter().enumerate() {
            let single = touched.single.get(&i).map(|k| &entries[*k].payload);
            let saved = match single {
                Some(Payload::Change(change)) => change.clone(),
                _ => contain(format!("document {id}"), || Ok(doc.save_nocompress()))?,
            };
            batch.put(trees::DOCS, id.as_str().as_bytes().to_vec(), saved);
            match contain(format!("document {id}"), || self.index_entries(id, doc)) {
                Ok((_, entries)) => index::replace(self.store.as_ref(), &mut batch, id, entries)?,
                Err(err) => {
                    // Not readable yet (its first change has not arrived): keep it, index nothing.
                    tracing::debug!(doc = %id, %err, "received document not indexed yet");
                    index::remove(self.store.as_ref(), &mut batch, id)?;
                }
            }
        }
        self.stage_last_sync(&mut batch);
        Ok(batch)
    }
}

/// The documents one batch touched, in the order first met.
#[derive(Default)]
struct Touched {
    /// Each document as merged.
    docs: Vec<(DocId, Automerge)>,
    /// Where each document is in `docs`.
    at: HashMap<DocId, usize>,
    /// Documents new here that received exactly one change, with that entry's index.
    single: HashMap<usize, usize>,
}

/// Merges one entry's bytes into `doc` and checks the document is what it was sent as.
fn merge_entry(doc: &mut Automerge, e: &Entry) -> Result<()> {
    let bytes = match &e.payload {
        Payload::Change(b) | Payload::Snapshot(b) => b,
    };
    let what = format!("change for {}", e.doc);
    contain(what.clone(), || {
        doc.load_incremental(bytes)
            .map_err(|err| Error::corrupt(what.clone(), err))?;
        check_identity(doc, e)
    })
}

/// A received document must say it is the document it was sent as, in the grid it was
/// sent for.
fn check_identity(doc: &Automerge, e: &Entry) -> Result<()> {
    if let Some(id) = crate::model::doc_id_of(doc)
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
