//! Retiring households: a household registered twice (two workers offline, or a typo) is
//! retired as a duplicate of the one kept; one that moved away or is gone is retired with
//! a reason. A retired household leaves the lists, the due list and name searches; its
//! document, visits and history stay, and reinstating lists it again.

use super::Replica;
use crate::error::{Error, Result};
use crate::ids::{DocId, GridPath};
use crate::index::{HouseholdSummary, decode, keys};
use crate::model::{Retirement, household};
use crate::store::trees::INDEX;

impl Replica {
    /// Retires household `id`, as a duplicate of `duplicate_of` when given (a listed
    /// household of the same grid), with `reason` (required when it is not a duplicate).
    /// The retirement is made by the handset's worker (the device name in a store with no
    /// identity at all).
    pub fn retire_household(
        &self,
        id: &DocId,
        duplicate_of: Option<&DocId>,
        reason: &str,
    ) -> Result<()> {
        let _span = tracing::debug_span!("retire_household", household = %id).entered();
        let grid = self.household_grid(id)?;
        if let Some(r) = self.household(id)?.retired {
            return Err(Error::invalid(
                "household",
                format!("{id} is already retired (by {}): reinstate it first", r.by),
            ));
        }
        if let Some(kept) = duplicate_of {
            self.check_kept(id, &grid, kept)?;
        }
        let reason = reason.trim();
        if reason.is_empty() && duplicate_of.is_none() {
            return Err(Error::invalid(
                "reason",
                "say why the household is retired, or name the household it duplicates",
            ));
        }
        let at = self.now();
        let retirement = Retirement {
            by: self.acting_worker_or_device()?,
            at,
            duplicate_of: duplicate_of.cloned(),
            reason: reason.to_string(),
        };
        self.write_doc(id, false, at, |tx| household::retire(tx, &retirement))
    }

    /// Lists a retired household again.
    pub fn reinstate_household(&self, id: &DocId) -> Result<()> {
        self.household_grid(id)?;
        if self.household(id)?.retired.is_none() {
            return Err(Error::invalid("household", format!("{id} is not retired")));
        }
        self.write_doc(id, false, self.now(), |tx| household::reinstate(tx))
    }

    /// The retired households in `grid`'s subtree (every grid with `None`).
    pub fn retired_households(&self, grid: Option<&GridPath>) -> Result<Vec<HouseholdSummary>> {
        self.scan_households(grid, true)
    }

    /// Refuses a write to a retired household (a visit, say), naming the one to use.
    pub(crate) fn check_listed(&self, id: &DocId, grid: &GridPath) -> Result<()> {
        let Some(v) = self.store.get(INDEX, &keys::household(grid, id))? else {
            return Ok(());
        };
        let s: HouseholdSummary = decode(&v)?;
        if !s.retired {
            return Ok(());
        }
        let instead = match self.household(id)?.retired.and_then(|r| r.duplicate_of) {
            Some(kept) => format!(": it duplicates {kept}, use that one"),
            None => ": reinstate it first".into(),
        };
        Err(Error::invalid(
            "household",
            format!("{id} is retired{instead}"),
        ))
    }

    fn check_kept(&self, id: &DocId, grid: &GridPath, kept: &DocId) -> Result<()> {
        if kept == id {
            return Err(Error::invalid(
                "duplicate_of",
                "a household cannot be a duplicate of itself",
            ));
        }
        let k = self.household(kept)?;
        if k.grid != *grid {
            return Err(Error::invalid(
                "duplicate_of",
                format!("{kept} is in grid {}, not {grid}", k.grid),
            ));
        }
        if k.retired.is_some() {
            return Err(Error::invalid(
                "duplicate_of",
                format!("{kept} is retired itself: keep a household that is listed"),
            ));
        }
        Ok(())
    }
}
