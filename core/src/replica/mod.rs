//! [`Replica`]: the façade an app (through the FFI), the CLI and the sync driver use.
//! It owns the store, a bounded cache of loaded documents and the device's actor id, and
//! turns every record operation into one atomic, durable store commit: the document, its
//! index entries and the outbox entry land together or not at all.

mod at_rest;
#[cfg(any(test, feature = "testing"))]
mod doc_sync;
mod identity;
mod inbound;
mod outbox;
mod queries;
mod records;
mod refused;
#[cfg(test)]
mod refused_tests;
mod rejoin;
#[cfg(test)]
mod rejoin_tests;
mod rescope;
#[cfg(test)]
mod rescope_tests;
mod retention;
mod retire;
mod salvage;
mod schema;
mod sync_state;

pub use identity::IdentitySource;
pub use queries::CaseFilter;
pub use records::CaseActionInput;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use automerge::transaction::{CommitOptions, Transaction};
use automerge::{ActorId, Automerge};
use serde::{Deserialize, Serialize};

use crate::cache::DocCache;
use crate::error::{Error, Result};
use crate::ids::{DocId, DocKind, GridPath, Timestamp};
use crate::index::{self, Indexed};
use crate::model::{self, household, visit};
use crate::schedule::TierPolicy;
use crate::store::{Batch, SledOptions, SledStore, Store, trees};
use crate::sync::wire::PushedChange;
use crate::untrusted::contain;
use crate::workflow::TriagePolicy;

pub use schema::SCHEMA_VERSION;

/// Hooks for tests that need to put a store into states only old builds or damage produce.
#[cfg(any(test, feature = "testing"))]
pub mod testing {
    pub use super::schema::{downgrade_to_version_1, forget_version_and_index};
}
pub use outbox::PendingSummary;
pub use refused::{Discarded, RefusedRecord};
pub use salvage::SalvageReport;
pub use sync_state::RecordSyncState;

/// Policies and limits of a replica.
#[derive(Debug, Clone)]
pub struct ReplicaConfig {
    /// Visit intervals per tier.
    pub tiers: TierPolicy,
    /// Case time limits per triage class.
    pub triage: TriagePolicy,
    /// How many documents stay loaded at most.
    pub cache_docs: usize,
}

impl Default for ReplicaConfig {
    fn default() -> Self {
        ReplicaConfig {
            tiers: TierPolicy::default(),
            triage: TriagePolicy::default(),
            cache_docs: 128,
        }
    }
}

/// Who this store belongs to: the device name the app chose and the automerge actor id
/// made for it on first open. Changes are written by an actor of their own per open of the
/// store: this id followed by 8 random bytes ([`session_actor`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceIdentity {
    /// The device's name (the app's device or user id).
    pub device: String,
    /// The device's automerge actor id prefix (16 random bytes).
    pub actor: Vec<u8>,
}

/// The actor an open of the store writes as: the device's id and 8 fresh random bytes. A
/// store copied to a second phone, or restored from a copy, never writes a change with a
/// sequence number another copy of it already used for different content (automerge
/// refuses a second change with one actor and sequence number), so clones and restored
/// copies converge with everything the others did (ADR 0014).
pub fn session_actor(identity: &DeviceIdentity) -> ActorId {
    let mut bytes = identity.actor.clone();
    bytes.extend_from_slice(&uuid::Uuid::new_v4().as_bytes()[..8]);
    ActorId::from(bytes)
}

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeOrigin {
    /// Written on this device.
    Local,
    /// Received from the relay.
    Remote,
}

/// Told which records changed, after the change is durable. Called on the thread that made
/// the change (the app's or the sync driver's); keep it short and do not call back into the
/// replica from it.
pub trait ChangeObserver: Send + Sync {
    /// `docs` changed.
    fn changed(&self, docs: &[DocId], origin: ChangeOrigin);
}

/// The source of "now" for timestamps the replica stamps itself.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(crate::ids::now)
}

struct Inner {
    cache: DocCache,
    next_outbox: u64,
    pending: PendingSummary,
}

/// One device's replica of its grids' records.
pub struct Replica {
    store: Arc<dyn Store>,
    config: ReplicaConfig,
    identity: DeviceIdentity,
    actor: ActorId,
    clock: Clock,
    inner: Mutex<Inner>,
    observers: Mutex<Vec<Arc<dyn ChangeObserver>>>,
    /// Who writes: read from the store once, dropped when it changes (`identity.rs`).
    acting: Mutex<Option<identity::Acting>>,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("device", &self.identity.device)
            .finish_non_exhaustive()
    }
}

impl Replica {
    /// Opens (creating on first use) the sled store in directory `dir` for `device`.
    pub fn open(dir: &Path, device: &str) -> Result<Self> {
        let store = SledStore::open(dir, SledOptions::default())?;
        Self::open_with(Arc::new(store), device, ReplicaConfig::default())
    }

    /// Opens a replica over any store.
    pub fn open_with(store: Arc<dyn Store>, device: &str, config: ReplicaConfig) -> Result<Self> {
        let _span = tracing::info_span!("replica_open", device).entered();
        crate::model::validate_device(device)?;
        let identity = schema::prepare(store.as_ref(), device, &config)?;
        let next_outbox = outbox::next_outbox_seq(store.as_ref())?;
        let pending = outbox::read_pending(store.as_ref())?;
        Ok(Replica {
            actor: session_actor(&identity),
            identity,
            inner: Mutex::new(Inner {
                cache: DocCache::new(config.cache_docs),
                next_outbox,
                pending,
            }),
            config,
            store,
            clock: system_clock(),
            observers: Mutex::new(Vec::new()),
            acting: Mutex::new(None),
        })
    }

    /// Replaces the clock (tests and simulations run on virtual time).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The device identity.
    pub fn identity(&self) -> &DeviceIdentity {
        &self.identity
    }

    /// The replica's policies.
    pub fn config(&self) -> &ReplicaConfig {
        &self.config
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Registers an observer of changes.
    pub fn observe(&self, observer: Arc<dyn ChangeObserver>) {
        if let Ok(mut o) = self.observers.lock() {
            o.push(observer);
        }
    }

    /// Number of documents loaded in memory now.
    pub fn loaded_docs(&self) -> usize {
        self.lock().map(|i| i.cache.len()).unwrap_or(0)
    }

    pub(crate) fn now(&self) -> Timestamp {
        (self.clock)()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>> {
        // A panic elsewhere cannot leave `Inner` half-changed in a way that matters (a cache
        // and counters that are only updated after a successful commit), so carry on.
        Ok(self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    fn notify(&self, docs: &[DocId], origin: ChangeOrigin) {
        if docs.is_empty() {
            return;
        }
        let observers = self.observers.lock().map(|o| o.clone()).unwrap_or_default();
        for o in observers {
            o.changed(docs, origin);
        }
    }

    /// Loads a document from the cache or the store.
    fn load(&self, inner: &mut Inner, id: &DocId) -> Result<Automerge> {
        if let Some(doc) = inner.cache.take(id) {
            return Ok(doc);
        }
        let kind = kind_name(id.kind());
        let bytes = self
            .store
            .get(trees::DOCS, id.as_str().as_bytes())?
            .ok_or_else(|| Error::NotFound {
                kind,
                id: id.to_string(),
            })?;
        let mut doc = contain(format!("document {id}"), || {
            Automerge::load(&bytes).map_err(|e| Error::corrupt(format!("document {id}"), e))
        })?;
        doc.set_actor(self.actor.clone());
        Ok(doc)
    }

    /// Runs `f` on a loaded document.
    pub(crate) fn read_doc<T>(
        &self,
        id: &DocId,
        f: impl FnOnce(&Automerge) -> Result<T>,
    ) -> Result<T> {
        let mut inner = self.lock()?;
        let doc = self.load(&mut inner, id)?;
        let out = contain(format!("document {id}"), || f(&doc));
        if out.is_ok() {
            inner.cache.put(id.clone(), doc);
        }
        out
    }

    /// Runs `f` in a transaction on document `id` (a new empty document when `create`),
    /// holds the result to the handset's identity ([`Replica::admit_local`]: its grids, and
    /// the checks the relay makes), then commits the document, its index entries and its
    /// outbox entry in one durable write. On any error nothing is written and the in-memory
    /// document is unchanged.
    pub(crate) fn write_doc<T>(
        &self,
        id: &DocId,
        create: bool,
        at: Timestamp,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut inner = self.lock()?;
        let mut doc = if create {
            Automerge::new().with_actor(self.actor.clone())
        } else {
            self.load(&mut inner, id)?
        };
        let before = doc.clone();
        let result = match doc.transact_with(|_| CommitOptions::default().with_time(at), f) {
            Ok(ok) => ok,
            Err(failure) => {
                if !create {
                    inner.cache.put(id.clone(), doc);
                }
                return Err(failure.error);
            }
        };
        if let Err(e) = self.admit_local(id, &before, &doc) {
            if !create {
                inner.cache.put(id.clone(), before);
            }
            return Err(e);
        }
        let mut batch = Batch::new();
        let grid = self.stage_doc(&mut batch, id, &doc)?;
        let mut staged = None;
        if let (Some(_), Some(change)) = (result.hash, doc.get_last_local_change()) {
            let pushed = PushedChange {
                doc: id.clone(),
                grid,
                hash: change.hash().0,
                bytes: change.raw_bytes().to_vec(),
            };
            outbox::stage_outbox(&mut batch, inner.next_outbox, &pushed)?;
            let after = PendingSummary {
                changes: inner.pending.changes + 1,
                bytes: inner.pending.bytes + pushed.bytes.len() as u64,
                ..inner.pending
            };
            outbox::stage_pending(&mut batch, &after)?;
            staged = Some(after);
        }
        match self.store.commit(batch) {
            Ok(()) => {
                if let Some(after) = staged {
                    inner.next_outbox += 1;
                    inner.pending = after;
                }
                inner.cache.put(id.clone(), doc);
                drop(inner);
                self.notify(std::slice::from_ref(id), ChangeOrigin::Local);
                Ok(result.result)
            }
            Err(e) => {
                inner.cache.forget(id);
                Err(e)
            }
        }
    }

    /// Stages a document's saved bytes and its index entries; returns its grid. Saved
    /// without automerge's own deflate: the store compresses whole pages with zstd, which
    /// does better across the documents sharing a page (ADR 0006).
    fn stage_doc(&self, batch: &mut Batch, id: &DocId, doc: &Automerge) -> Result<GridPath> {
        batch.put(
            trees::DOCS,
            id.as_str().as_bytes().to_vec(),
            doc.save_nocompress(),
        );
        let (grid, entries) = self.index_entries(id, doc)?;
        index::replace(self.store.as_ref(), batch, id, entries)?;
        Ok(grid)
    }

    /// A document's grid and index entries, read from its current state.
    fn index_entries(
        &self,
        id: &DocId,
        doc: &Automerge,
    ) -> Result<(GridPath, Vec<index::IndexEntry>)> {
        Ok(match id.kind() {
            DocKind::Household => {
                let h = household::read(doc)?;
                (h.grid.clone(), index::entries(Indexed::Household(&h))?)
            }
            DocKind::Visit => {
                let v = visit::read(doc)?;
                (v.grid.clone(), index::entries(Indexed::Visit(&v))?)
            }
            DocKind::Case => {
                let c = model::case::read(doc, &self.config.triage)?;
                (c.grid.clone(), index::entries(Indexed::Case(&c))?)
            }
        })
    }
}

/// The word for a kind in error messages.
pub(crate) fn kind_name(kind: DocKind) -> &'static str {
    match kind {
        DocKind::Household => "household",
        DocKind::Visit => "visit",
        DocKind::Case => "case",
    }
}
