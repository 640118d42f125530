//! Syncing one document at a time with a peer, by heads and raw changes, with no cursor
//! involved. Only tests and fuzz targets use it (feature `testing`): handsets sync through
//! the outbox and [`Replica::apply_batch`].

use automerge::Change;

use super::Replica;
use crate::error::{Error, Result};
use crate::ids::{DocId, GridPath};
use crate::sync::wire::{ChangeHash, Entry, Payload};
use crate::untrusted::contain;

impl Replica {
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
        grid: &GridPath,
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
