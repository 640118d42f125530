//! Reading records: single records from their documents, lists and counts from the indexes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::Replica;
use crate::error::{Error, Result};
use crate::ids::{DAY_MS, DocId, DocKind, GridPath, Timestamp};
use crate::index::{
    CaseSummary, HouseholdSummary, OpenFollowUp, VisitSummary, decode, keys, last_visit,
};
use crate::model::{self, FieldConflict, Household, TriageClass, Visit, household, visit};
use crate::schedule::{self, DueVisit};
use crate::store::{Scan, trees::INDEX};
use crate::workflow::CaseStatus;

/// Which cases [`Replica::list_cases`] returns. Empty filter: every case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseFilter {
    /// Only cases in this status.
    pub status: Option<CaseStatus>,
    /// Only open cases (not closed, rejected or duplicate).
    pub open_only: bool,
    /// Only cases of this triage class.
    pub class: Option<TriageClass>,
    /// Only open cases whose deadline passed before this time.
    pub overdue_at: Option<Timestamp>,
    /// Only cases in this grid subtree.
    pub grid: Option<GridPath>,
}

fn expect_kind(id: &DocId, kind: DocKind, word: &str) -> Result<()> {
    if id.kind() == kind {
        Ok(())
    } else {
        Err(Error::invalid(word, format!("{id} is not a {word} id")))
    }
}

impl Replica {
    /// A household.
    pub fn household(&self, id: &DocId) -> Result<Household> {
        expect_kind(id, DocKind::Household, "household")?;
        self.read_doc(id, household::read)
    }

    /// A household's fields that hold concurrent values after a merge.
    pub fn household_conflicts(&self, id: &DocId) -> Result<Vec<FieldConflict>> {
        expect_kind(id, DocKind::Household, "household")?;
        self.read_doc(id, household::conflicts)
    }

    /// A visit.
    pub fn visit(&self, id: &DocId) -> Result<Visit> {
        expect_kind(id, DocKind::Visit, "visit")?;
        self.read_doc(id, visit::read)
    }

    /// A case, its folded state and its whole timeline.
    pub fn case(&self, id: &DocId) -> Result<model::Case> {
        expect_kind(id, DocKind::Case, "case")?;
        let policy = self.config.triage;
        self.read_doc(id, |d| model::case::read(d, &policy))
    }

    /// Households in a grid subtree (all households when `grid` is `None`), retired ones
    /// left out ([`Replica::retired_households`] lists those).
    pub fn list_households(&self, grid: Option<&GridPath>) -> Result<Vec<HouseholdSummary>> {
        self.scan_households(grid, false)
    }

    /// The summaries under `grid` that are (`retired`) or are not retired.
    pub(super) fn scan_households(
        &self,
        grid: Option<&GridPath>,
        retired: bool,
    ) -> Result<Vec<HouseholdSummary>> {
        let prefix = keys::households_in(grid);
        let mut out = Vec::new();
        for (_, v) in self.store.scan(INDEX, Scan::prefix(&prefix))? {
            let s: HouseholdSummary = decode(&v)?;
            if s.retired == retired && grid.is_none_or(|g| s.grid.is_within(g)) {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// A household's visits, newest first, at most `limit`.
    pub fn visits_of(&self, household: &DocId, limit: usize) -> Result<Vec<VisitSummary>> {
        expect_kind(household, DocKind::Household, "household")?;
        let prefix = keys::visits_of(household);
        let scan = Scan {
            prefix: &prefix,
            after: None,
            limit,
            reverse: true,
        };
        self.store
            .scan(INDEX, scan)?
            .iter()
            .map(|(_, v)| decode(v))
            .collect()
    }

    /// Visits in a grid between `from` (inclusive) and `to` (exclusive), oldest first.
    pub fn visits_in(
        &self,
        grid: &GridPath,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<VisitSummary>> {
        let prefix = keys::visits_in(grid);
        let start = keys::visits_in_before(grid, from);
        let mut out = Vec::new();
        for (_, v) in self.store.scan(
            INDEX,
            Scan {
                prefix: &prefix,
                after: Some(&start),
                limit: usize::MAX,
                reverse: false,
            },
        )? {
            let s: VisitSummary = decode(&v)?;
            if s.at >= to {
                break;
            }
            if s.at >= from {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// Households `worker` must visit, most urgent first: those whose tier's interval has
    /// run out since their last visit, or with a follow-up still open, that are due within
    /// `horizon_days`. With `worker` = `None`, every household on the device.
    pub fn due_visits(
        &self,
        worker: Option<&str>,
        now: Timestamp,
        horizon_days: u32,
    ) -> Result<Vec<DueVisit>> {
        let last: HashMap<Vec<u8>, Timestamp> = self
            .store
            .scan(INDEX, Scan::prefix(last_visit::PREFIX))?
            .into_iter()
            .filter_map(|(k, v)| {
                Some((
                    k[last_visit::PREFIX.len()..].to_vec(),
                    last_visit::decode_at(&v)?,
                ))
            })
            .collect();
        let horizon = Timestamp::from(horizon_days) * DAY_MS;
        let mut follow_ups = self.open_follow_ups_before(now.saturating_add(horizon))?;
        let mut households = Vec::new();
        for h in self.list_households(None)? {
            if worker.is_some_and(|w| !h.contacts.iter().any(|c| c == w)) {
                continue;
            }
            let at = last.get(h.id.as_str().as_bytes()).copied();
            let follow_up = follow_ups.remove(&h.id);
            households.push((h, at, follow_up));
        }
        Ok(schedule::due_visits(
            households,
            &self.config.tiers,
            now,
            horizon,
        ))
    }

    /// Each household's earliest open follow-up due before `until` (one run of `F` keys).
    fn open_follow_ups_before(&self, until: Timestamp) -> Result<HashMap<DocId, OpenFollowUp>> {
        let mut out = HashMap::new();
        for (k, v) in self
            .store
            .scan(INDEX, Scan::prefix(keys::OPEN_FOLLOW_UPS))?
        {
            if keys::follow_up_due(&k).unwrap_or(Timestamp::MAX) > until {
                break;
            }
            let f: OpenFollowUp = decode(&v)?;
            out.entry(f.household.clone()).or_insert(f);
        }
        Ok(out)
    }

    fn case_summary(&self, id: &[u8]) -> Result<Option<CaseSummary>> {
        self.store
            .get(INDEX, &keys::case(id))?
            .map(|v| decode(&v))
            .transpose()
    }

    fn ids_under(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        Ok(self
            .store
            .scan(INDEX, Scan::prefix(prefix))?
            .into_iter()
            .map(|(k, _)| keys::last_part(&k).to_vec())
            .collect())
    }

    /// Cases matching `filter`, newest report first.
    pub fn list_cases(&self, filter: &CaseFilter) -> Result<Vec<CaseSummary>> {
        let ids: Vec<Vec<u8>> = if let Some(now) = filter.overdue_at {
            let mut ids = Vec::new();
            for (k, _) in self
                .store
                .scan(INDEX, Scan::prefix(keys::CASES_BY_DEADLINE))?
            {
                let (deadline, id) = keys::split_deadline_key(&k);
                if deadline.unwrap_or(Timestamp::MAX) >= now {
                    break;
                }
                ids.push(id.to_vec());
            }
            ids
        } else if let Some(status) = filter.status {
            self.ids_under(&keys::cases_with_status(status))?
        } else if filter.open_only {
            let mut ids = Vec::new();
            for s in CaseStatus::ALL.into_iter().filter(|s| s.is_open()) {
                ids.extend(self.ids_under(&keys::cases_with_status(s))?);
            }
            ids
        } else if let Some(class) = filter.class {
            self.ids_under(&keys::cases_of_class(class))?
        } else {
            self.ids_under(keys::ALL_CASES)?
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(s) = self.case_summary(&id)? else {
                continue;
            };
            let keep = filter.status.is_none_or(|st| s.status == st)
                && (!filter.open_only || s.status.is_open())
                && filter.class.is_none_or(|c| s.class == Some(c))
                && filter.grid.as_ref().is_none_or(|g| s.grid.is_within(g));
            if keep {
                out.push(s);
            }
        }
        out.sort_by(|a, b| (b.reported_at, &b.id).cmp(&(a.reported_at, &a.id)));
        Ok(out)
    }

    /// Cases with an action that a merge made invalid; a person should look at them.
    pub fn cases_for_review(&self) -> Result<Vec<CaseSummary>> {
        let mut out = Vec::new();
        for id in self.ids_under(keys::CASES_FOR_REVIEW)? {
            if let Some(s) = self.case_summary(&id)? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// How many households are registered in a grid subtree.
    pub fn count_households(&self, grid: Option<&GridPath>) -> Result<usize> {
        Ok(self.list_households(grid)?.len())
    }
}
