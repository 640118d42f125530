//! The one check a record's change passes before it is written on the handset and before
//! the relay accepts it ([`admit`]): both ends run this code, so they agree.
//!
//! Given the document before and after the change and the writer's [`Grants`]: the
//! document has the shape of its kind, and its content passes the same checks as the
//! app's input; everything the change adds is authored by the grants' worker, in a role
//! the worker holds and the workflow allows for that action; what was written once (a
//! visit's household, worker and time; a case's reporter and household) is not
//! rewritten; a reference (a visit's household, a case's household or duplicate) names a
//! record the writer may touch, in the same grid for a household; no time lies in the
//! future beyond the clock skew allowed. The grid itself is checked by the caller.

use automerge::{Automerge, ROOT};

use super::doc::opt_str;
use super::{Grants, case, household, visit};
use crate::ids::{DAY_MS, DocId, DocKind, GridPath, Timestamp};
use crate::workflow::{self, CaseAction, TriagePolicy};

/// How far ahead of the checker's clock a time may be (handset clocks drift).
pub const CLOCK_SKEW_MS: Timestamp = 10 * 60 * 1000;
/// How far after its visit a follow-up may be planned.
pub const MAX_PLAN_AHEAD_MS: Timestamp = 730 * DAY_MS;

/// Where a referenced record lives, as far as the checker knows: `None` for a record it
/// does not hold.
pub type GridOf<'a> = &'a dyn Fn(&DocId) -> Option<GridPath>;

/// Who writes, and what the checker knows.
pub struct Admission<'a> {
    /// The writer's grants.
    pub grants: &'a Grants,
    /// The checker's clock.
    pub now: Timestamp,
    /// Looks up the grid of a referenced record.
    pub grid_of: GridOf<'a>,
}

/// Checks the change that turned `before` into `after` (document `id`). `Err` is the
/// reason, for the writer (the app's error or the relay's refusal).
pub fn admit(
    id: &DocId,
    before: &Automerge,
    after: &Automerge,
    a: &Admission<'_>,
) -> Result<(), String> {
    let existed = opt_str(before, &ROOT, "kind").ok().flatten().is_some();
    match id.kind() {
        DocKind::Household => admit_household(before, after, existed, a),
        DocKind::Visit => admit_visit(before, after, existed, a),
        DocKind::Case => admit_case(before, after, existed, a),
    }
}

fn shape(kind: &str, e: impl std::fmt::Display) -> String {
    format!("the document is not a well-formed {kind}: {e}")
}

fn not_future(what: &str, at: Timestamp, a: &Admission<'_>) -> Result<(), String> {
    if at > a.now + CLOCK_SKEW_MS {
        return Err(format!(
            "{what} is dated {} ms after now: times in the future are refused (check the phone's clock)",
            at - a.now
        ));
    }
    Ok(())
}

fn author(what: &str, who: &str, a: &Admission<'_>) -> Result<(), String> {
    if who != a.grants.worker {
        return Err(format!(
            "{what} names {who:?} as its author, but this device writes as {:?}",
            a.grants.worker
        ));
    }
    Ok(())
}

/// A referenced household must be one the writer may touch, in the record's grid.
fn household_ref(what: &str, h: &DocId, grid: &GridPath, a: &Admission<'_>) -> Result<(), String> {
    if h.kind() != DocKind::Household {
        return Err(format!("{what} names {h}, which is not a household"));
    }
    match (a.grid_of)(h) {
        Some(g) if g == *grid && a.grants.covers(&g) => Ok(()),
        Some(_) => Err(format!(
            "{what} names household {h}, which is not in its grid {grid}"
        )),
        None => Err(format!(
            "{what} names household {h}, which is not known here"
        )),
    }
}

fn admit_household(
    before: &Automerge,
    after: &Automerge,
    existed: bool,
    a: &Admission<'_>,
) -> Result<(), String> {
    let now = household::read(after).map_err(|e| shape("household", e))?;
    household::validate_read(&now).map_err(|e| shape("household", e))?;
    let mut old = if existed {
        household::read(before)
            .map_err(|e| shape("household", e))?
            .tier_history
    } else {
        Vec::new()
    };
    for change in &now.tier_history {
        if let Some(i) = old.iter().position(|o| o == change) {
            old.swap_remove(i);
            continue;
        }
        author("a tier change", &change.by, a)?;
        not_future("a tier change", change.at, a)?;
    }
    if !old.is_empty() {
        return Err("the change removes tier history".into());
    }
    Ok(())
}

fn admit_visit(
    before: &Automerge,
    after: &Automerge,
    existed: bool,
    a: &Admission<'_>,
) -> Result<(), String> {
    let now = visit::read(after).map_err(|e| shape("visit", e))?;
    let r = &now.record;
    if existed {
        let was = visit::read(before).map_err(|e| shape("visit", e))?;
        let w = &was.record;
        if (w.household != r.household) || (w.worker != r.worker) || (w.at != r.at) {
            return Err("a visit's household, worker and time are written once".into());
        }
        return Ok(());
    }
    visit::validate_new(r).map_err(|e| shape("visit", e))?;
    author("the visit", &r.worker, a)?;
    not_future("the visit", r.at, a)?;
    if let Some(f) = r
        .follow_ups
        .iter()
        .find(|f| f.due > r.at + MAX_PLAN_AHEAD_MS)
    {
        return Err(format!(
            "the follow-up {:?} is planned more than 730 days after the visit",
            f.text
        ));
    }
    household_ref("the visit", &r.household, &now.grid, a)
}

fn admit_case(
    before: &Automerge,
    after: &Automerge,
    existed: bool,
    a: &Admission<'_>,
) -> Result<(), String> {
    let policy = TriagePolicy::default();
    let now = case::read(after, &policy).map_err(|e| shape("case", e))?;
    let old: Vec<CaseAction> = if existed {
        let was = case::read(before, &policy).map_err(|e| shape("case", e))?;
        if was.reporter != now.reporter || was.household != now.household {
            return Err("a case's reporter and household are written once".into());
        }
        was.timeline.into_iter().map(|e| e.action).collect()
    } else {
        case::validate_header(&now).map_err(|e| shape("case", e))?;
        author("the case", &now.reporter, a)?;
        not_future("the case", now.reported_at, a)?;
        if let Some(h) = &now.household {
            household_ref("the case", h, &now.grid, a)?;
        }
        Vec::new()
    };
    let mut seen = old.len();
    for entry in &now.timeline {
        let action = &entry.action;
        if old.iter().any(|o| o.id == action.id) {
            seen -= 1;
            continue;
        }
        admit_action(action, a)?;
    }
    if seen != 0 {
        return Err("the change removes timeline entries".into());
    }
    Ok(())
}

fn admit_action(action: &CaseAction, a: &Admission<'_>) -> Result<(), String> {
    case::validate_action(action).map_err(|e| shape("case", e))?;
    author("the case action", &action.actor, a)?;
    not_future("the case action", action.at, a)?;
    let role = action.role;
    if !a.grants.holds(role) {
        return Err(format!(
            "the case action is taken as {}, a role this device's worker does not hold ({})",
            role.as_str(),
            a.grants.role_names()
        ));
    }
    if !workflow::role_may(role, &action.kind) {
        return Err(format!(
            "a {} may not {} a case",
            role.as_str(),
            action.kind.name()
        ));
    }
    if let workflow::ActionKind::Duplicate { of } = &action.kind {
        match (a.grid_of)(of) {
            Some(g) if a.grants.covers(&g) && of.kind() == DocKind::Case => {}
            _ => {
                return Err(format!(
                    "the case is marked a duplicate of {of}, which this device may not see"
                ));
            }
        }
    }
    Ok(())
}
