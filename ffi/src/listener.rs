//! [`ChangeListener`]: the callback interface through which the app hears about changed
//! records and the sync status, and the adapter from the core's `ChangeObserver`.
//!
//! # Threading rules
//! - `on_records_changed` is called on the thread that made the change durable: the
//!   thread of the app that called a write (`registerHousehold`, `logVisit`, ...) before
//!   that call returns, or a sync thread (the one blocked in `syncOnce`, or a worker of the
//!   session's runtime while live) for changes received from the relay.
//! - `on_sync_status` is called on a sync thread (a worker of the session's runtime, or
//!   the thread blocked in `syncOnce`).
//! - Neither is ever called on the main/UI thread unless the app itself wrote from it:
//!   hop to the main thread before touching views.
//! - Return quickly: a sync thread waits for the callback before it goes on.
//! - Re-entrancy: the core calls observers after it has released its lock and the list
//!   of observers has been copied, and this module copies its own list the same way, so a
//!   listener may call the replica's reads and writes, `addListener` and `removeListener`
//!   synchronously without deadlock. A write from inside a listener calls the listeners
//!   again (recursively, on the same thread), so never write unconditionally. Do not call
//!   `syncOnce` or `stopLive` from a listener (they are refused or do not wait there).
//! - An exception thrown by a listener is caught and logged; it never reaches the writer.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gridsync_core::DocId;
use gridsync_core::replica::{ChangeObserver, ChangeOrigin};

use crate::sync::SyncStatus;

/// Implemented by the app to hear about changes. See the module documentation for the
/// threading rules: callbacks arrive on background threads and must return quickly.
#[uniffi::export(foreign)]
pub trait ChangeListener: Send + Sync {
    /// Records `ids` (`h-…`, `v-…`, `c-…`) changed and the change is durable. `remote` is
    /// true when the change came from the relay, false when it was written on this device.
    fn on_records_changed(&self, ids: Vec<String>, remote: bool);

    /// The sync status changed (link state, pending count, last sync, last error).
    fn on_sync_status(&self, status: SyncStatus);
}

/// The listeners registered on one replica.
#[derive(Default)]
pub(crate) struct Listeners {
    next: AtomicU64,
    list: Mutex<Vec<(u64, Arc<dyn ChangeListener>)>>,
}

impl Listeners {
    /// Adds a listener; returns its handle.
    pub(crate) fn add(&self, listener: Arc<dyn ChangeListener>) -> u64 {
        let handle = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(mut l) = self.list.lock() {
            l.push((handle, listener));
        }
        handle
    }

    /// Removes a listener; false when the handle is unknown.
    pub(crate) fn remove(&self, handle: u64) -> bool {
        let Ok(mut l) = self.list.lock() else {
            return false;
        };
        let before = l.len();
        l.retain(|(h, _)| *h != handle);
        l.len() != before
    }

    /// A copy of the list, so no lock is held while the app's code runs.
    fn snapshot(&self) -> Vec<Arc<dyn ChangeListener>> {
        self.list
            .lock()
            .map(|l| l.iter().map(|(_, x)| x.clone()).collect())
            .unwrap_or_default()
    }

    /// Calls `f` on every listener, containing a panic (a foreign exception) in one.
    fn each(&self, what: &str, f: impl Fn(&dyn ChangeListener)) {
        for l in self.snapshot() {
            if catch_unwind(AssertUnwindSafe(|| f(l.as_ref()))).is_err() {
                tracing::warn!(callback = what, "a change listener failed; ignored");
            }
        }
    }

    /// Tells every listener that `docs` changed.
    pub(crate) fn records_changed(&self, docs: &[DocId], origin: ChangeOrigin) {
        let ids: Vec<String> = docs.iter().map(|d| d.as_str().to_string()).collect();
        let remote = origin == ChangeOrigin::Remote;
        self.each("on_records_changed", |l| {
            l.on_records_changed(ids.clone(), remote)
        });
    }

    /// Tells every listener the sync status.
    pub(crate) fn sync_status(&self, status: &SyncStatus) {
        self.each("on_sync_status", |l| l.on_sync_status(status.clone()));
    }
}

/// Forwards the core's change notifications to the app's listeners.
pub(crate) struct Forward(pub(crate) Arc<Listeners>);

impl ChangeObserver for Forward {
    fn changed(&self, docs: &[DocId], origin: ChangeOrigin) {
        self.0.records_changed(docs, origin);
    }
}
