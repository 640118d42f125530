//! The relay's state over a [`Store`]: enrolled devices, the append-only change log with a
//! sequence number, per-grid indexes of that log, and the current state of every document
//! (for compacted snapshots and for checking dependencies). It implements
//! [`RelayBackend`](gridsync_core::sync::RelayBackend) (`backend.rs`), so the sans-IO
//! [`gridsync_core::sync::RelaySession`] drives it.
//!
//! ```text
//! device_records  device id        → Device (JSON; `devices` held older postcard records)
//! device_names  name \0 device id  → ()            (devices by name: `device_names.rs`)
//! tokens    sha256(token) hex      → device id
//! log       seq (u64 BE)           → LogRecord { doc, grid, hash, bytes, origin }
//! grid_log  grid \0 seq            → ()            (a grid's entries in log order)
//! grids     grid                   → ()            (every grid that has documents)
//! gdocs     grid \0 doc            → ()            (a grid's documents, for snapshots)
//! rdocs     doc                    → RelayDoc { grid, saved automerge document }
//! hashes    change hash            → seq           (idempotent pushes)
//! rmeta     "head"                 → u64           (last sequence written)
//! rmeta     "generation", "forks", "backed_up"   (the log's lineage: `lineage.rs`)
//! device_activity  device id       → DeviceActivity (JSON: last seen, agent, cursor...)
//! grid_days grid \0 day (u32 BE)   → u64 BE        (changes accepted that UTC day)
//! ```
//!
//! `grid_days` counts per grid the changes ingest accepted on each UTC day (days since
//! the epoch), in each push's own commit; [`Hub::grid_activity`] reads it back.
//!
//! On a store other relay nodes share (PostgreSQL), every push expects the head it was
//! numbered from (a conflict numbers it again), and `follow.rs` reads what the other
//! nodes committed: the head and `rmeta/device_epoch`.
//!
//! In memory, `tail.rs` keeps the sequence and grid of the latest 65,536 changes: a live
//! pull after a flush walks the changes since its cursor there instead of scanning every
//! grid log in its scopes.

mod activity;
mod backend;
mod device_names;
mod devices;
mod follow;
mod grid_days;
mod ingest;
pub(crate) mod lineage;
mod pull;
mod tail;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gridsync_core::error::{Error, Result};
use gridsync_core::ids::{DocId, GridPath};
use gridsync_core::store::{Batch, Store};
use gridsync_core::sync::wire::ChangeHash;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::metrics::{RelayMetrics, StoreGauges};

pub(crate) use activity::{ContactEnd, cursor_seq};
pub use activity::{DeviceActivity, DeviceStatus};
pub use devices::{Device, Enrollment, RETIRED_GRACE_MS, RetiredScope};
pub use follow::FOLLOW_EVERY;
pub use grid_days::{GridDay, MAX_ACTIVITY_DAYS};
pub use ingest::MAX_DOCUMENT_BYTES;

pub(crate) const DEVICES: &str = "device_records";
/// Where builds before grants kept device records (migrated at open).
pub(crate) const LEGACY_DEVICES: &str = "devices";
pub(crate) const TOKENS: &str = "tokens";
pub(crate) const LOG: &str = "log";
pub(crate) const GRID_LOG: &str = "grid_log";
pub(crate) const GRIDS: &str = "grids";
pub(crate) const GDOCS: &str = "gdocs";
pub(crate) const RDOCS: &str = "rdocs";
pub(crate) const HASHES: &str = "hashes";
pub(crate) const RMETA: &str = "rmeta";
pub(crate) const ACTIVITY: &str = "device_activity";
pub(crate) const GRID_DAYS: &str = "grid_days";
/// Every tree the hub keeps, `rmeta` (the head and the lineage) last: a copy that stops
/// part-way has no head yet.
pub const TREES: &[&str] = &[
    DEVICES,
    device_names::DEVICE_NAMES,
    LEGACY_DEVICES,
    TOKENS,
    LOG,
    GRID_LOG,
    GRIDS,
    GDOCS,
    RDOCS,
    HASHES,
    ACTIVITY,
    GRID_DAYS,
    RMETA,
];

/// `rmeta` key of the last sequence written.
pub(crate) const HEAD_KEY: &[u8] = b"head";

/// One accepted change as the log keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LogRecord {
    pub doc: DocId,
    pub grid: GridPath,
    pub hash: ChangeHash,
    pub bytes: Vec<u8>,
    /// The device that pushed it. Kept for the record only: pulls do not look at it (the
    /// session suppresses echoes by what its connection pushed, see `docs/PROTOCOL.md`).
    pub origin: String,
}

/// A document's current state on the relay.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RelayDoc {
    pub grid: GridPath,
    /// `save_nocompress()`: the relay saves on every ingest, and deflate costs more CPU
    /// than the disk it saves here (bootstraps compress whole batches anyway).
    pub saved: Vec<u8>,
}

/// The relay's state. Cheap to share: clone the `Arc`.
pub struct Hub {
    store: Arc<dyn Store>,
    /// Serialises writers (ingest and enrollment) so sequence numbers are dense.
    write_lock: Mutex<()>,
    /// The durable head: the highest sequence known to be on disk. Ingests commit under
    /// `write_lock` and flush after releasing it, so concurrent pushes share one flush
    /// (group commit); pulls and acknowledgements never run ahead of this.
    head_tx: watch::Sender<u64>,
    revoked_tx: watch::Sender<u64>,
    /// Commits not yet covered by a flush that began after them (group-commit sizes).
    unflushed_commits: AtomicU64,
    /// Open connections by device.
    live: Mutex<HashMap<String, activity::LiveContact>>,
    metrics: Arc<RelayMetrics>,
    /// When the durable head last moved (live fan-out latency starts there).
    head_moved_at: Mutex<Option<std::time::Instant>>,
    /// Generation, forks and newest backup of the log (`lineage.rs`).
    lineage: lineage::LineageState,
    /// The relay's data directory, when opened from one: backups carry its identity files.
    data_dir: Option<std::path::PathBuf>,
    /// The latest changes' sequences and grids, for live pulls (`tail.rs`).
    tail: tail::LogTail,
    /// Other relay nodes write the same store (`follow.rs`).
    shared: bool,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("head", &*self.head_tx.borrow())
            .finish_non_exhaustive()
    }
}

pub(crate) fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(v).map_err(|e| Error::Storage(format!("encode: {e}")))
}

pub(crate) fn decode<T: for<'de> Deserialize<'de>>(what: &str, b: &[u8]) -> Result<T> {
    postcard::from_bytes(b).map_err(|e| Error::corrupt(what.to_string(), e))
}

pub(crate) fn grid_key(grid: &GridPath, rest: &[u8]) -> Vec<u8> {
    let mut k = grid.as_str().as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(rest);
    k
}

impl Hub {
    /// Opens the hub over a store (creating nothing until the first write).
    pub fn open(store: Arc<dyn Store>) -> Result<Self> {
        devices::migrate_legacy_devices(store.as_ref())?;
        device_names::index_names(store.as_ref())?;
        let head = read_head(store.as_ref())?;
        let lineage = lineage::LineageState::load_or_create(store.as_ref())?;
        let (head_tx, _) = watch::channel(head);
        let (revoked_tx, _) = watch::channel(0);
        Ok(Hub {
            store,
            write_lock: Mutex::new(()),
            head_tx,
            revoked_tx,
            unflushed_commits: AtomicU64::new(0),
            live: Mutex::new(HashMap::new()),
            metrics: Arc::new(RelayMetrics::new()),
            head_moved_at: Mutex::new(None),
            lineage,
            data_dir: None,
            tail: tail::LogTail::new(head, tail::TAIL_CHANGES),
            shared: false,
        })
    }

    /// Marks the store as shared with other relay nodes: `server::run` then follows what
    /// they commit (`Hub::follow_other_nodes`).
    pub fn with_shared_store(mut self) -> Self {
        self.shared = true;
        self
    }

    /// Whether other relay nodes write the same store.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// Names the data directory the hub's store lives in (backups carry the relay's
    /// identity files from it).
    pub fn with_data_dir(mut self, dir: &std::path::Path) -> Self {
        self.data_dir = Some(dir.to_path_buf());
        self
    }

    /// The data directory, if the hub was opened from one.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.data_dir.as_deref()
    }

    /// The highest log sequence that is durable: what pulls may hand out.
    pub(crate) fn durable_head(&self) -> u64 {
        *self.head_tx.borrow()
    }

    /// Flushes the store, then publishes `head` (a sequence committed before the flush
    /// began) as durable. Concurrent callers may finish in any order; the published head
    /// only moves forward.
    pub(crate) fn make_durable(&self, head: u64) -> Result<()> {
        let covered = self.unflushed_commits.swap(0, Ordering::AcqRel);
        self.store.flush()?;
        if covered > 0 {
            self.metrics.group_committed(covered as usize);
        }
        let mut moved_at = self
            .head_moved_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.head_tx.send_if_modified(|h| {
            let moved = head > *h;
            if moved {
                *moved_at = Some(std::time::Instant::now());
            }
            *h = (*h).max(head);
            moved
        });
        Ok(())
    }

    /// Commits a batch and makes it durable before returning.
    pub(crate) fn commit_durable(&self, batch: Batch) -> Result<()> {
        self.store.commit(batch)?;
        self.store.flush()
    }

    /// Notes a push's commit, which the next flush to begin makes durable.
    pub(crate) fn committed_push(&self) {
        self.unflushed_commits.fetch_add(1, Ordering::AcqRel);
    }

    /// How long ago the durable head last moved.
    pub(crate) fn since_head_moved(&self) -> Option<std::time::Duration> {
        self.head_moved_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .map(|at| at.elapsed())
    }

    /// The relay's metrics.
    pub fn metrics(&self) -> &Arc<RelayMetrics> {
        &self.metrics
    }

    /// What `/metrics` reads off the store.
    pub fn store_gauges(&self) -> StoreGauges {
        StoreGauges {
            durable_head: self.durable_head(),
            store_bytes: self.store.size_on_disk().unwrap_or(0),
            devices: self.store.len(DEVICES).unwrap_or(0),
        }
    }

    /// Subscribes to the log head: the receiver sees every new head after a durable write.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.head_tx.subscribe()
    }

    /// Subscribes to revocations: the counter moves each time a device is revoked.
    pub fn revocations(&self) -> watch::Receiver<u64> {
        self.revoked_tx.subscribe()
    }

    pub(crate) fn revoked(&self) {
        self.revoked_tx.send_modify(|n| *n += 1);
    }

    /// Makes every write so far durable. The relay's store does not flush each commit
    /// (pushes group-commit and are acknowledged after their shared flush); this flushes
    /// whatever is left, at shutdown.
    pub fn flush(&self) -> Result<()> {
        self.store.flush()
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Holds off every writer (ingest, enrollment) while the guard lives: a backup reads
    /// the head and the device records under it.
    pub(crate) fn writer_lock(&self) -> Result<std::sync::MutexGuard<'_, ()>> {
        self.lock()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, ()>> {
        // The lock guards no data of its own (it orders writers), so a panic that poisoned
        // it leaves nothing inconsistent behind: carry on.
        Ok(self
            .write_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Number of documents the relay holds.
    pub fn document_count(&self) -> Result<usize> {
        self.store.len(RDOCS)
    }

    /// The grid a document belongs to, if the relay has it.
    pub(crate) fn doc_grid(&self, doc: &DocId) -> Result<Option<GridPath>> {
        Ok(match self.store.get(RDOCS, doc.as_str().as_bytes())? {
            Some(v) => Some(decode::<RelayDoc>("relay document", &v)?.grid),
            None => None,
        })
    }
}

pub(crate) fn read_head(store: &dyn Store) -> Result<u64> {
    Ok(read_head_as_held(store)?.1)
}

/// The head as stored (what a commit expects to find) and its value.
fn read_head_as_held(store: &dyn Store) -> Result<(Option<Vec<u8>>, u64)> {
    let held = store.get(RMETA, HEAD_KEY)?;
    let head = match &held {
        Some(v) => follow::seq_of(v)?,
        None => 0,
    };
    Ok((held, head))
}

pub(crate) fn stage_head(batch: &mut Batch, head: u64) {
    batch.put(RMETA, HEAD_KEY.to_vec(), head.to_be_bytes().to_vec());
}
