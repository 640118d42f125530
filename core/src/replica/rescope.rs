//! Following a rescope on the handset (`docs/adr/0007-rescope.md`). When the relay's grants
//! change the handset's grids, [`Replica::take_grants`] stores them and notes two things in
//! the same commit:
//! - grids newly granted, which the persisted cursor skipped (it began before them): a
//!   [`Bootstrap`] pull, narrowed to them and from their start, that the sync session runs
//!   beside the main cursor until it has caught up;
//! - records of grids no longer granted, retired from the handset once everything written
//!   to them here is acknowledged by the relay (pending work is pushed first, a refused
//!   change waits for the user). Nothing typed is lost.

use super::{RecordSyncState, Replica};
use crate::error::Result;
use crate::ids::DocId;
use crate::index::{self, decode, encode};
use crate::model::{self, Grants};
use crate::store::{Batch, for_each_page, trees};
use crate::sync::backend::Bootstrap;
use crate::sync::wire::{Cursor, Entry};

/// Meta key of the bootstrap pull of newly granted grids, while one is to run.
pub(super) const BOOTSTRAP_KEY: &[u8] = b"bootstrap";
/// Meta key of the records of lost grids waiting to be retired.
const RETIRING_KEY: &[u8] = b"retiring";

impl Replica {
    /// Stores the relay's grants; when they change the handset's grids, notes the grids to
    /// pull from their start and the records to retire (see the module docs), in one
    /// commit, then retires what can be retired now.
    pub fn take_grants(&self, grants: &Grants) -> Result<()> {
        let old = self.grants()?;
        if old.as_ref() == Some(grants) {
            return Ok(());
        }
        let _span = tracing::info_span!("take_grants", worker = %grants.worker).entered();
        let fresh = self.cursor()? == Cursor::Fresh;
        let boot = match (&old, fresh) {
            (Some(old), false) => self.bootstrap_after(old, grants)?,
            _ => None,
        };
        let mut retiring = self.retiring()?;
        if old.is_some() {
            for id in self.records_outside(grants)? {
                if !retiring.contains(&id) {
                    retiring.push(id);
                }
            }
        }
        let mut b = Batch::new();
        self.stage_grants(&mut b, grants)?;
        stage_meta(&mut b, BOOTSTRAP_KEY, boot.as_ref())?;
        stage_meta(
            &mut b,
            RETIRING_KEY,
            Some(&retiring).filter(|r| !r.is_empty()),
        )?;
        self.store.commit(b)?;
        if let Some(boot) = &boot {
            tracing::info!(grids = boot.scopes.len(), "newly granted grids to pull");
        }
        self.retire_lost()?;
        Ok(())
    }

    /// The bootstrap pull still to run, if any.
    pub fn bootstrap(&self) -> Result<Option<Bootstrap>> {
        match self.store.get(trees::META, BOOTSTRAP_KEY)? {
            Some(v) => decode(&v).map(Some),
            None => Ok(None),
        }
    }

    /// Applies a batch of the bootstrap pull with where it now stands (`next`), or its
    /// completion (`done`), in one atomic durable write. A batch for another bootstrap
    /// than the stored one (the grants changed meanwhile) is not applied.
    pub fn apply_bootstrap_batch(
        &self,
        entries: &[Entry],
        next: &Bootstrap,
        done: bool,
    ) -> Result<Vec<DocId>> {
        let _span = tracing::debug_span!("apply_bootstrap", entries = entries.len()).entered();
        match self.bootstrap()? {
            Some(stored) if stored.scopes == next.scopes => {}
            _ => return Ok(Vec::new()),
        }
        let changed = self.apply_entries(entries, |batch| {
            stage_meta(batch, BOOTSTRAP_KEY, Some(next).filter(|_| !done))
        })?;
        if done {
            tracing::info!(grids = next.scopes.len(), "newly granted grids received");
        }
        Ok(changed)
    }

    /// Records of grids the handset lost, not yet retired (work of theirs still pending or
    /// refused).
    pub fn retiring(&self) -> Result<Vec<DocId>> {
        match self.store.get(trees::META, RETIRING_KEY)? {
            Some(v) => decode(&v),
            None => Ok(Vec::new()),
        }
    }

    /// Deletes, on this device only, the records of lost grids whose every change the relay
    /// has acknowledged; a record granted again is kept. Returns how many were retired.
    pub fn retire_lost(&self) -> Result<usize> {
        let waiting = self.retiring()?;
        if waiting.is_empty() {
            return Ok(0);
        }
        let grants = self.grants()?;
        let mut batch = Batch::new();
        let (mut gone, mut kept) = (Vec::new(), Vec::new());
        for id in waiting {
            let granted = match (&grants, self.grid_of_stored(&id)?) {
                (Some(g), Some(grid)) => g.covers(&grid),
                (_, None) => false,
                (None, Some(_)) => true,
            };
            if granted {
                continue;
            }
            if self.record_sync_state(&id)? == RecordSyncState::Acknowledged {
                batch.delete(trees::DOCS, id.as_str().as_bytes().to_vec());
                index::remove(self.store.as_ref(), &mut batch, &id)?;
                gone.push(id);
            } else {
                kept.push(id);
            }
        }
        stage_meta(
            &mut batch,
            RETIRING_KEY,
            Some(&kept).filter(|k| !k.is_empty()),
        )?;
        // No local write lands between the check and the commit: a write to a record whose
        // grid is no longer granted is refused at the source.
        let mut inner = self.lock()?;
        self.store.commit(batch)?;
        for id in &gone {
            inner.cache.forget(id);
        }
        if !gone.is_empty() {
            tracing::info!(
                retired = gone.len(),
                waiting = kept.len(),
                "records of lost grids retired"
            );
        }
        Ok(gone.len())
    }

    /// The newly granted scopes `old` did not cover, with a bootstrap already under way kept
    /// (restarted from the start if its grids change).
    fn bootstrap_after(&self, old: &Grants, grants: &Grants) -> Result<Option<Bootstrap>> {
        let current = self.bootstrap()?;
        let mut scopes: Vec<_> = (current.iter().flat_map(|b| b.scopes.iter()))
            .filter(|s| grants.covers(s))
            .cloned()
            .collect();
        for s in &grants.scopes {
            if !old.covers(s) && !scopes.contains(s) {
                scopes.push(s.clone());
            }
        }
        if scopes.is_empty() {
            return Ok(None);
        }
        Ok(Some(match current {
            Some(b) if b.scopes == scopes => b,
            _ => Bootstrap {
                scopes,
                cursor: Cursor::Fresh,
            },
        }))
    }

    /// Every stored record whose grid `grants` does not cover.
    fn records_outside(&self, grants: &Grants) -> Result<Vec<DocId>> {
        let mut out = Vec::new();
        for_each_page(self.store.as_ref(), trees::DOCS, 256, |page| {
            for (k, _) in page {
                let Ok(id) = DocId::parse(&String::from_utf8_lossy(k)) else {
                    continue;
                };
                if let Some(grid) = self.grid_of_stored(&id)?
                    && !grants.covers(&grid)
                {
                    out.push(id);
                }
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// The grid a stored record belongs to (`None` while it is not readable yet).
    fn grid_of_stored(&self, id: &DocId) -> Result<Option<crate::ids::GridPath>> {
        match self.read_doc(id, model::grid_of) {
            Err(crate::Error::NotFound { .. }) => Ok(None),
            other => other,
        }
    }
}

/// Stages `value` under meta `key`, or the key's removal for `None`.
/// Stages where the bootstrap pull stands (`None`: no bootstrap to run).
pub(super) fn stage_bootstrap(b: &mut Batch, boot: Option<&Bootstrap>) -> Result<()> {
    stage_meta(b, BOOTSTRAP_KEY, boot)
}

fn stage_meta<T: serde::Serialize>(b: &mut Batch, key: &[u8], value: Option<&T>) -> Result<()> {
    match value {
        Some(v) => b.put(trees::META, key.to_vec(), encode(v)?),
        None => b.delete(trees::META, key.to_vec()),
    }
    Ok(())
}
