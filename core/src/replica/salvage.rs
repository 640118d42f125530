//! A damaged store's way back (ADR 0013). [`Replica::salvage`] copies what still reads
//! into fresh files ([`SledStore::salvage`]), then makes the copy whole again for the
//! replica: the index is dropped so the next open rebuilds it from the documents that
//! survived, outbox entries of documents that did not survive are dropped (their changes
//! cannot be read), the outbox is counted again, and when anything could not be read the
//! pull cursor starts over, so the relay sends back every record it holds. What the
//! salvaged store still has unsynced goes out at the next sync as usual.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Replica;
use crate::error::Result;
use crate::ids::DocId;
use crate::index::decode;
use crate::store::{Batch, Scan, SledOptions, SledStore, Store, trees};

/// What [`Replica::salvage`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalvageReport {
    /// Store entries copied into the fresh files.
    pub entries: u64,
    /// Entries that could not be read (left out).
    pub unreadable: u64,
    /// Commits the damaged files had lost, as the witness counted them.
    pub lost_commits: u64,
    /// Records left in the store.
    pub records: u64,
    /// Outbox entries dropped because their record did not survive.
    pub dropped_outbox: u64,
    /// The pull cursor starts over (something could not be read): the next sync
    /// bootstraps from the relay.
    pub bootstrap: bool,
}

/// Outbox prefixes whose values name a record (`q` pending, `r` refused, `a` acknowledged)
/// and the letter of their per-record index (`d`, `x`, none).
const OUTBOX_KINDS: [(&[u8], Option<u8>); 3] =
    [(b"q", Some(b'd')), (b"r", Some(b'x')), (b"a", None)];

/// The record an outbox value names (every kind starts with the outbox record).
#[derive(Deserialize)]
struct Names {
    doc: DocId,
}

impl Replica {
    /// Commits this store's files lost that it had made durable, if it found any at open:
    /// it is then read-only until [`Replica::salvage`].
    pub fn store_damage(&self) -> Option<u64> {
        self.store.damage()
    }

    /// Salvages the store in `dir` (see the module docs). Run it on a store that opens
    /// read-only with [`crate::Error::StoreDamaged`], or that does not open at all; then
    /// open the replica as usual.
    pub fn salvage(dir: &Path, options: SledOptions) -> Result<SalvageReport> {
        let _span = tracing::info_span!("replica_salvage", dir = %dir.display()).entered();
        let copied = SledStore::salvage(dir, options.clone())?;
        let store = SledStore::open(dir, options)?;
        let bootstrap = copied.unreadable > 0;
        let (records, dropped_outbox) = make_whole(&store, bootstrap)?;
        store.flush()?;
        let report = SalvageReport {
            entries: copied.entries,
            unreadable: copied.unreadable,
            lost_commits: copied.lost_commits,
            records,
            dropped_outbox,
            bootstrap,
        };
        tracing::warn!(?report, "store salvaged");
        Ok(report)
    }
}

/// Drops the index (rebuilt at the next open), the schema version (so the rebuild runs),
/// the outbox counts (counted again) and outbox entries of missing records; with
/// `bootstrap`, the cursors start over. Returns the records left and the entries dropped.
fn make_whole(store: &dyn Store, bootstrap: bool) -> Result<(u64, u64)> {
    let mut b = Batch::new();
    for (k, _) in store.scan(trees::INDEX, Scan::prefix(b""))? {
        b.delete(trees::INDEX, k);
    }
    for key in [
        super::schema::VERSION_KEY,
        super::outbox::PENDING_KEY,
        super::outbox::REFUSED_KEY,
    ] {
        b.delete(trees::META, key.to_vec());
    }
    if bootstrap {
        for key in [super::sync_state::CURSOR_KEY, super::rescope::BOOTSTRAP_KEY] {
            b.delete(trees::META, key.to_vec());
        }
    }
    let mut dropped = 0;
    for (prefix, letter) in OUTBOX_KINDS {
        for (k, v) in store.scan(trees::OUTBOX, Scan::prefix(prefix))? {
            let doc = decode::<Names>(&v).ok().map(|n| n.doc);
            let kept = match &doc {
                Some(d) => store.get(trees::DOCS, d.as_str().as_bytes())?.is_some(),
                None => false,
            };
            if kept {
                continue;
            }
            dropped += 1;
            if let (Some(letter), Some(doc), Some(seq)) = (letter, &doc, k.get(1..9)) {
                let mut dk = super::outbox::doc_prefix_of(letter, doc);
                dk.extend_from_slice(seq);
                b.delete(trees::OUTBOX, dk);
            }
            b.delete(trees::OUTBOX, k);
        }
    }
    // Per-record entries whose by-sequence entry did not survive.
    for (letter, prefix) in [(b'd', &b"q"[..]), (b'x', b"r")] {
        for (k, _) in store.scan(trees::OUTBOX, Scan::prefix(&[letter]))? {
            let seq = super::outbox::seq_at_end(&k)?;
            if store
                .get(trees::OUTBOX, &super::outbox::seq_key(prefix, seq))?
                .is_none()
            {
                b.delete(trees::OUTBOX, k);
            }
        }
    }
    store.commit(b)?;
    Ok((store.len(trees::DOCS)? as u64, dropped))
}
