//! What needs a worker's attention on a household: fields two handsets edited at once
//! (the conflicts `household show` lists), local changes the relay has not yet
//! acknowledged, and changes it refused. Shown as a column of `household list`, counted by
//! `gridsync status`.

use anyhow::Result;
use gridsync_core::index::HouseholdSummary;
use gridsync_core::replica::RecordSyncState;
use gridsync_core::{DocId, Replica};
use serde::Serialize;

/// A household's marks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Marks {
    /// Fields holding concurrent values (`head`, `phone`, `address`, `members`, `tier`).
    pub conflicts: Vec<&'static str>,
    /// Local changes the relay has not acknowledged yet.
    pub pending: bool,
    /// The relay refused a change of the household (`gridsync refused`).
    pub refused: bool,
}

impl Marks {
    /// Reads the marks of one household.
    pub fn of(r: &Replica, id: &DocId) -> Result<Self> {
        let state = r.record_sync_state(id)?;
        Ok(Marks {
            conflicts: r
                .household_conflicts(id)?
                .iter()
                .map(|c| c.field.key())
                .collect(),
            pending: state == RecordSyncState::Pending,
            refused: matches!(state, RecordSyncState::Refused { .. }),
        })
    }

    /// The marks as a table cell: `⚠ head,phone` for conflicts, `↑` for pending, `✗` for
    /// refused.
    pub fn cell(&self) -> String {
        let mut out = Vec::new();
        if !self.conflicts.is_empty() {
            out.push(format!("⚠ {}", self.conflicts.join(",")));
        }
        if self.pending {
            out.push("↑".to_string());
        }
        if self.refused {
            out.push("✗".to_string());
        }
        out.join(" ")
    }
}

/// A `household list --json` row: the summary and its marks.
#[derive(Debug, Serialize)]
pub struct Marked<'a> {
    /// The household.
    #[serde(flatten)]
    pub household: &'a HouseholdSummary,
    /// Its marks.
    #[serde(flatten)]
    pub marks: Marks,
}

/// How many households need attention, for `gridsync status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Households with a field to settle (`household resolve`).
    pub with_conflicts: usize,
    /// Households with changes not yet on the relay.
    pub pending: usize,
}

/// Counts the marks of every household on the handset.
pub fn counts(r: &Replica) -> Result<Counts> {
    let mut c = Counts::default();
    for h in r.list_households(None)? {
        let m = Marks::of(r, &h.id)?;
        c.with_conflicts += usize::from(!m.conflicts.is_empty());
        c.pending += usize::from(m.pending);
    }
    Ok(c)
}
