//! [`GridsyncReplica`]: the exported object over `Arc<gridsync_core::Replica>`. Every method
//! converts its arguments, calls the core once and converts the answer; the object holds
//! no logic of its own besides the list of the app's listeners.
//!
//! Every method blocks on the store (a write waits for its fsync, ~1-10 ms on flash): call
//! them off the main thread. They are safe to call from any number of threads at once.

use std::path::Path;
use std::sync::Arc;

use gridsync_core::Replica;
use gridsync_core::workflow;

use crate::cases::*;
use crate::convert;
use crate::error::Result;
use crate::listener::{ChangeListener, Forward, Listeners};
use crate::records::*;
use crate::refused::{Discarded, RefusedRecord};
use crate::sync::{PendingSummary, RecordSyncState};

/// One device's store of its grids' households, visits and cases. Open it once per
/// process and share it; it is thread-safe.
#[derive(uniffi::Object)]
pub struct GridsyncReplica {
    inner: Arc<Replica>,
    listeners: Arc<Listeners>,
}

impl GridsyncReplica {
    fn wrap(inner: Arc<Replica>) -> Arc<Self> {
        let listeners = Arc::new(Listeners::default());
        inner.observe(Arc::new(Forward(listeners.clone())));
        Arc::new(GridsyncReplica { inner, listeners })
    }

    /// The core replica (for the sync session).
    pub(crate) fn core(&self) -> &Arc<Replica> {
        &self.inner
    }

    /// The app's listeners (for the sync session).
    pub(crate) fn listeners(&self) -> &Arc<Listeners> {
        &self.listeners
    }
}

/// The core's key from the app's bytes; the copy uniffi handed over is zeroed.
fn store_key(bytes: Vec<u8>) -> Result<gridsync_core::store::StoreKey> {
    let bytes = zeroize::Zeroizing::new(bytes);
    Ok(gridsync_core::store::StoreKey::from_slice(&bytes)?)
}

fn all<T, U: From<T>>(v: Vec<T>) -> Vec<U> {
    v.into_iter().map(U::from).collect()
}

/// What [`salvage_store`] did (ADR 0013).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct StoreSalvage {
    /// Store entries copied into fresh files.
    pub entries: u64,
    /// Entries that could not be read (left out).
    pub unreadable: u64,
    /// Commits the damaged files had lost.
    pub lost_commits: u64,
    /// Records left on the handset.
    pub records: u64,
    /// The next sync fetches every record again from the relay.
    pub bootstrap: bool,
}

/// Repairs the store in directory `path` (closed: no replica open on it) after its files
/// were damaged: what still reads is copied into fresh files, the index is rebuilt at the
/// next open, and the next sync gets back from the relay what was lost. Run it when
/// opening or writing fails with `Storage` naming a damaged store; `key` is the store's
/// key, `None` for a plaintext store.
#[uniffi::export]
pub fn salvage_store(path: String, key: Option<Vec<u8>>) -> Result<StoreSalvage> {
    let options = gridsync_core::store::SledOptions {
        key: key.map(store_key).transpose()?,
        ..Default::default()
    };
    let r = Replica::salvage(Path::new(&path), options)?;
    Ok(StoreSalvage {
        entries: r.entries,
        unreadable: r.unreadable,
        lost_commits: r.lost_commits,
        records: r.records,
        bootstrap: r.bootstrap,
    })
}

#[uniffi::export]
impl GridsyncReplica {
    /// Opens the store in directory `path` (created on first use) for `device`, the app's
    /// stable device or user id. Android: under `context.filesDir`; iOS: under Application
    /// Support. Only one process may have a store open: `Storage` when it is busy,
    /// `UpgradeRequired` when a newer app wrote it.
    #[uniffi::constructor]
    pub fn open(path: String, device: String) -> Result<Arc<Self>> {
        let inner = Arc::new(Replica::open(Path::new(&path), &device)?);
        Ok(Self::wrap(inner))
    }

    /// Opens the store in directory `path` like [`GridsyncReplica::open`], encrypted with
    /// `key`: 32 bytes the app keeps in the Android Keystore or iOS Keychain (see the
    /// guide); gridsync never writes it. A plaintext store is encrypted on this first open
    /// with a key. `WrongKey` when the key does not open the store (nothing is changed),
    /// `InvalidInput` when it is not 32 bytes.
    #[uniffi::constructor]
    pub fn open_encrypted(path: String, device: String, key: Vec<u8>) -> Result<Arc<Self>> {
        let key = store_key(key)?;
        let inner = Arc::new(Replica::open_encrypted(Path::new(&path), &device, key)?);
        Ok(Self::wrap(inner))
    }

    /// Replaces the store's key with `key` (32 bytes). Atomic: if the app dies meanwhile,
    /// the store opens with either the old key or the new one, so keep both until this
    /// returns. `InvalidInput` for a store opened without a key.
    pub fn rekey(&self, key: Vec<u8>) -> Result<()> {
        let key = store_key(key)?;
        Ok(self.inner.rekey(key)?)
    }

    /// Signs out: makes the store unreadable at once (it destroys its key file) and
    /// removes its files. Delete the key from the keystore too. Every later call on this
    /// replica throws `Erased`.
    pub fn erase(&self) -> Result<()> {
        Ok(self.inner.erase()?)
    }

    /// Commits the store's files lost that it had made durable, when it found any at
    /// open: it is then read-only (writes fail with `Storage`) until [`salvage_store`].
    pub fn store_damage(&self) -> Option<u64> {
        self.inner.store_damage()
    }

    /// The device name the store was opened for.
    pub fn device(&self) -> String {
        self.inner.identity().device.clone()
    }

    /// Registers `listener` for change and sync-status callbacks (on background threads;
    /// see the guide). Returns a handle for [`GridsyncReplica::remove_listener`].
    pub fn add_listener(&self, listener: Arc<dyn ChangeListener>) -> u64 {
        self.listeners.add(listener)
    }

    /// Unregisters a listener; false when the handle is unknown.
    pub fn remove_listener(&self, handle: u64) -> bool {
        self.listeners.remove(handle)
    }

    /// Registers a household, by the worker the handset writes as. Returns its id (`h-…`).
    pub fn register_household(&self, household: NewHousehold) -> Result<String> {
        let h = household.try_into()?;
        Ok(self.inner.register_household(&h, "")?.into())
    }

    /// Edits a household's fields.
    pub fn update_household(&self, id: String, update: HouseholdUpdate) -> Result<()> {
        let id = convert::id("id", &id)?;
        Ok(self.inner.update_household(&id, &update.into())?)
    }

    /// Changes a household's tier; the change, who made it (the worker the handset writes
    /// as) and why are kept forever.
    pub fn change_tier(&self, id: String, tier: Tier, reason: String) -> Result<()> {
        let id = convert::id("id", &id)?;
        Ok(self.inner.change_tier(&id, tier.into(), "", &reason)?)
    }

    /// Retires a household registered twice (as a duplicate of `duplicateOf`, a listed
    /// household of the same grid) or gone (with a `reason`): it leaves the lists and due
    /// visits; its visits and history stay.
    pub fn retire_household(
        &self,
        id: String,
        duplicate_of: Option<String>,
        reason: String,
    ) -> Result<()> {
        let id = convert::id("id", &id)?;
        let kept = duplicate_of
            .map(|d| convert::id("duplicate_of", &d))
            .transpose()?;
        Ok(self.inner.retire_household(&id, kept.as_ref(), &reason)?)
    }

    /// Lists a retired household again.
    pub fn reinstate_household(&self, id: String) -> Result<()> {
        let id = convert::id("id", &id)?;
        Ok(self.inner.reinstate_household(&id)?)
    }

    /// Settles a conflicted field by choosing value number `choice` of those
    /// `householdConflicts` listed.
    pub fn resolve_conflict(&self, id: String, field: HouseholdField, choice: u32) -> Result<()> {
        let id = convert::id("id", &id)?;
        Ok(self
            .inner
            .resolve_conflict(&id, field.into(), choice as usize)?)
    }

    /// A household.
    pub fn get_household(&self, id: String) -> Result<Household> {
        Ok(self.inner.household(&convert::id("id", &id)?)?.into())
    }

    /// A household's fields that hold concurrent values after a merge (empty: none).
    pub fn household_conflicts(&self, id: String) -> Result<Vec<FieldConflict>> {
        Ok(all(self
            .inner
            .household_conflicts(&convert::id("id", &id)?)?))
    }

    /// Households in a grid subtree, or every household on the device when `grid` is null.
    pub fn list_households(&self, grid: Option<String>) -> Result<Vec<HouseholdSummary>> {
        let grid = grid.map(|g| convert::grid("grid", &g)).transpose()?;
        Ok(all(self.inner.list_households(grid.as_ref())?))
    }

    /// Logs a visit to a registered household. Returns its id (`v-…`).
    pub fn log_visit(&self, visit: NewVisit) -> Result<String> {
        Ok(self.inner.log_visit(&visit.try_into()?)?.into())
    }

    /// Ticks (or unticks) follow-up number `index` of a visit.
    pub fn set_follow_up_done(&self, visit_id: String, index: u32, done: bool) -> Result<()> {
        let id = convert::id("visit_id", &visit_id)?;
        Ok(self.inner.set_follow_up_done(&id, index as usize, done)?)
    }

    /// A visit.
    pub fn get_visit(&self, id: String) -> Result<Visit> {
        Ok(self.inner.visit(&convert::id("id", &id)?)?.into())
    }

    /// A household's visits, newest first, at most `limit`.
    pub fn visits_of(&self, household: String, limit: u32) -> Result<Vec<VisitSummary>> {
        let h = convert::id("household", &household)?;
        Ok(all(self.inner.visits_of(&h, limit as usize)?))
    }

    /// Visits in a grid from `from_ms` (inclusive) to `to_ms` (exclusive), oldest first.
    pub fn visits_in(&self, grid: String, from_ms: i64, to_ms: i64) -> Result<Vec<VisitSummary>> {
        let g = convert::grid("grid", &grid)?;
        Ok(all(self.inner.visits_in(&g, from_ms, to_ms)?))
    }

    /// Households to visit, most urgent first: overdue ones and those due within
    /// `horizon_days` of `now_ms`. Only those `worker` contacts, or all when null.
    pub fn due_visits(
        &self,
        worker: Option<String>,
        now_ms: i64,
        horizon_days: u32,
    ) -> Result<Vec<DueVisit>> {
        Ok(all(self.inner.due_visits(
            worker.as_deref(),
            now_ms,
            horizon_days,
        )?))
    }

    /// Reports a case. Returns its id (`c-…`).
    pub fn report_case(&self, case: NewCase) -> Result<String> {
        Ok(self.inner.report_case(&case.try_into()?)?.into())
    }

    /// Takes a step on a case and returns the case after it. A step the workflow does not
    /// allow now or for this role fails with `NotAllowed` and writes nothing.
    pub fn act_on_case(&self, id: String, action: CaseActionInput) -> Result<Case> {
        let id = convert::id("id", &id)?;
        Ok(self.inner.act_on_case(&id, &action.try_into()?)?.into())
    }

    /// A case, its state and its whole timeline.
    pub fn get_case(&self, id: String) -> Result<Case> {
        Ok(self.inner.case(&convert::id("id", &id)?)?.into())
    }

    /// The steps `role` may take on a case now (for the app's buttons).
    pub fn allowed_actions(&self, id: String, role: Role) -> Result<Vec<ActionName>> {
        let case = self.inner.case(&convert::id("id", &id)?)?;
        let names = workflow::allowed(&case.state, role.into());
        Ok(names.into_iter().filter_map(convert::action_name).collect())
    }

    /// Cases matching `filter`, newest report first.
    pub fn list_cases(&self, filter: CaseFilter) -> Result<Vec<CaseSummary>> {
        Ok(all(self.inner.list_cases(&filter.try_into()?)?))
    }

    /// Cases with an action a merge made invalid; a person should review them.
    pub fn cases_for_review(&self) -> Result<Vec<CaseSummary>> {
        Ok(all(self.inner.cases_for_review()?))
    }

    /// Local changes not yet acknowledged by the relay, and the count of those it refused.
    pub fn pending(&self) -> Result<PendingSummary> {
        Ok(self.inner.pending()?.into())
    }

    /// Records holding changes the relay refused, in the order they were refused. Their
    /// changes are kept and never sent again; show them and offer `discardRefused`.
    pub fn refused(&self) -> Result<Vec<RefusedRecord>> {
        Ok(all(self.inner.refused()?))
    }

    /// Removes a record's refused changes, and every change built on them, from this
    /// device, after the user confirmed. A record a refused change created is deleted;
    /// any other keeps what the relay accepted. `InvalidInput` when the record holds no
    /// refused change; nothing else changes.
    pub fn discard_refused(&self, id: String) -> Result<Discarded> {
        Ok(self.inner.discard_refused(&convert::id("id", &id)?)?.into())
    }

    /// Whether a record's local changes have all reached the relay, wait for it, or were
    /// refused by it.
    pub fn record_sync_state(&self, id: String) -> Result<RecordSyncState> {
        Ok(self
            .inner
            .record_sync_state(&convert::id("id", &id)?)?
            .into())
    }

    /// When the relay last acknowledged or delivered anything (ms), if ever.
    pub fn last_sync(&self) -> Result<Option<i64>> {
        Ok(self.inner.last_sync()?)
    }

    /// Deletes from this device visits made before `cutoff_ms` that the relay has
    /// acknowledged (they stay on the relay). Returns how many were retired.
    pub fn retire_visits_before(&self, cutoff_ms: i64) -> Result<u64> {
        Ok(self.inner.retire_visits_before(cutoff_ms)? as u64)
    }
}
