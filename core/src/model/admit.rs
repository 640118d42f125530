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
use super::{Grants, Role, case, household, visit};
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

/// Why [`admit`] refused a change; its text is the reason the writer sees (the app's
/// [`crate::Error::NotPermitted`] or the relay's refusal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Inadmissible {
    /// The document does not have the shape of its kind, or its content fails the app's
    /// input checks.
    #[error("the document is not a well-formed {kind}: {detail}")]
    Shape {
        /// `household`, `visit` or `case`.
        kind: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// Something the change adds names another author than the writer's worker.
    #[error("{what} names {named:?} as its author, but this device writes as {writer:?}")]
    Author {
        /// What names the author (`the visit`, `a tier change` ...).
        what: &'static str,
        /// The author it names.
        named: String,
        /// The writer's worker.
        writer: String,
    },
    /// A case action in a role the writer's worker does not hold.
    #[error(
        "the case action is taken as {}, a role this device's worker does not hold ({held})",
        .role.as_str()
    )]
    RoleNotHeld {
        /// The role named.
        role: Role,
        /// The roles held, comma-separated.
        held: String,
    },
    /// The workflow never lets this role take this action.
    #[error("a {} may not {action} a case", .role.as_str())]
    Workflow {
        /// The role named.
        role: Role,
        /// The action's name.
        action: &'static str,
    },
    /// The change rewrites what is written once (a visit's household, worker and time; a
    /// case's reporter and household).
    #[error("{0} are written once")]
    WriteOnce(&'static str),
    /// The change removes tier history or timeline entries.
    #[error("the change removes {0}")]
    RemovesHistory(&'static str),
    /// A reference that should name a household names something else.
    #[error("{what} names {id}, which is not a household")]
    NotAHousehold {
        /// What refers.
        what: &'static str,
        /// The id named.
        id: DocId,
    },
    /// A referenced household lies in another grid, or outside the writer's grants.
    #[error("{what} names household {household}, which is not in its grid {grid}")]
    OutsideGrid {
        /// What refers.
        what: &'static str,
        /// The household named.
        household: DocId,
        /// The grid of the record that refers.
        grid: GridPath,
    },
    /// A referenced household the checker does not hold.
    #[error("{what} names household {household}, which is not known here")]
    UnknownHousehold {
        /// What refers.
        what: &'static str,
        /// The household named.
        household: DocId,
    },
    /// A case marked a duplicate of a case the writer may not see (or of no case).
    #[error("the case is marked a duplicate of {of}, which this device may not see")]
    DuplicateNotVisible {
        /// The case named.
        of: DocId,
    },
    /// A time beyond the checker's clock plus [`CLOCK_SKEW_MS`].
    #[error(
        "{what} is dated {ahead_ms} ms after now: times in the future are refused (check the phone's clock)"
    )]
    Future {
        /// What is dated.
        what: &'static str,
        /// How far ahead of the checker's clock.
        ahead_ms: Timestamp,
    },
    /// A follow-up planned more than [`MAX_PLAN_AHEAD_MS`] after its visit.
    #[error("the follow-up {text:?} is planned more than 730 days after the visit")]
    PlanAhead {
        /// The follow-up's text.
        text: String,
    },
}

type Admitted = Result<(), Inadmissible>;

/// Checks the change that turned `before` into `after` (document `id`). `Err` is the
/// reason, for the writer (the app's error or the relay's refusal).
pub fn admit(id: &DocId, before: &Automerge, after: &Automerge, a: &Admission<'_>) -> Admitted {
    let existed = opt_str(before, &ROOT, "kind").ok().flatten().is_some();
    match id.kind() {
        DocKind::Household => admit_household(before, after, existed, a),
        DocKind::Visit => admit_visit(before, after, existed, a),
        DocKind::Case => admit_case(before, after, existed, a),
    }
}

fn shape(kind: &'static str) -> impl Fn(crate::Error) -> Inadmissible {
    move |e| Inadmissible::Shape {
        kind,
        detail: e.to_string(),
    }
}

fn not_future(what: &'static str, at: Timestamp, a: &Admission<'_>) -> Admitted {
    if at > a.now + CLOCK_SKEW_MS {
        return Err(Inadmissible::Future {
            what,
            ahead_ms: at - a.now,
        });
    }
    Ok(())
}

fn author(what: &'static str, who: &str, a: &Admission<'_>) -> Admitted {
    if who != a.grants.worker {
        return Err(Inadmissible::Author {
            what,
            named: who.to_string(),
            writer: a.grants.worker.clone(),
        });
    }
    Ok(())
}

/// A referenced household must be one the writer may touch, in the record's grid.
fn household_ref(what: &'static str, h: &DocId, grid: &GridPath, a: &Admission<'_>) -> Admitted {
    if h.kind() != DocKind::Household {
        return Err(Inadmissible::NotAHousehold {
            what,
            id: h.clone(),
        });
    }
    match (a.grid_of)(h) {
        Some(g) if g == *grid && a.grants.covers(&g) => Ok(()),
        Some(_) => Err(Inadmissible::OutsideGrid {
            what,
            household: h.clone(),
            grid: grid.clone(),
        }),
        None => Err(Inadmissible::UnknownHousehold {
            what,
            household: h.clone(),
        }),
    }
}

fn admit_household(
    before: &Automerge,
    after: &Automerge,
    existed: bool,
    a: &Admission<'_>,
) -> Admitted {
    let now = household::read(after).map_err(shape("household"))?;
    household::validate_read(&now).map_err(shape("household"))?;
    let (mut old, was_retired) = if existed {
        let was = household::read(before).map_err(shape("household"))?;
        (was.tier_history, was.retired)
    } else {
        (Vec::new(), None)
    };
    if now.retired != was_retired
        && let Some(r) = &now.retired
    {
        author("the retirement", &r.by, a)?;
        not_future("the retirement", r.at, a)?;
        if let Some(kept) = &r.duplicate_of {
            if *kept == now.id {
                return Err(Inadmissible::Shape {
                    kind: "household",
                    detail: "retired as a duplicate of itself".into(),
                });
            }
            household_ref("the retirement", kept, &now.grid, a)?;
        }
    }
    for change in &now.tier_history {
        if let Some(i) = old.iter().position(|o| o == change) {
            old.swap_remove(i);
            continue;
        }
        author("a tier change", &change.by, a)?;
        not_future("a tier change", change.at, a)?;
    }
    if !old.is_empty() {
        return Err(Inadmissible::RemovesHistory("tier history"));
    }
    Ok(())
}

fn admit_visit(
    before: &Automerge,
    after: &Automerge,
    existed: bool,
    a: &Admission<'_>,
) -> Admitted {
    let now = visit::read(after).map_err(shape("visit"))?;
    let r = &now.record;
    if existed {
        let was = visit::read(before).map_err(shape("visit"))?;
        let w = &was.record;
        if (w.household != r.household) || (w.worker != r.worker) || (w.at != r.at) {
            return Err(Inadmissible::WriteOnce(
                "a visit's household, worker and time",
            ));
        }
        return Ok(());
    }
    visit::validate_new(r).map_err(shape("visit"))?;
    author("the visit", &r.worker, a)?;
    not_future("the visit", r.at, a)?;
    if let Some(f) = r
        .follow_ups
        .iter()
        .find(|f| f.due > r.at + MAX_PLAN_AHEAD_MS)
    {
        return Err(Inadmissible::PlanAhead {
            text: f.text.clone(),
        });
    }
    household_ref("the visit", &r.household, &now.grid, a)
}

fn admit_case(before: &Automerge, after: &Automerge, existed: bool, a: &Admission<'_>) -> Admitted {
    let policy = TriagePolicy::default();
    let now = case::read(after, &policy).map_err(shape("case"))?;
    let old: Vec<CaseAction> = if existed {
        let was = case::read(before, &policy).map_err(shape("case"))?;
        if was.reporter != now.reporter || was.household != now.household {
            return Err(Inadmissible::WriteOnce("a case's reporter and household"));
        }
        was.timeline.into_iter().map(|e| e.action).collect()
    } else {
        case::validate_header(&now).map_err(shape("case"))?;
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
        return Err(Inadmissible::RemovesHistory("timeline entries"));
    }
    Ok(())
}

fn admit_action(action: &CaseAction, a: &Admission<'_>) -> Admitted {
    case::validate_action(action).map_err(shape("case"))?;
    author("the case action", &action.actor, a)?;
    not_future("the case action", action.at, a)?;
    let role = action.role;
    if !a.grants.holds(role) {
        return Err(Inadmissible::RoleNotHeld {
            role,
            held: a.grants.role_names(),
        });
    }
    if !workflow::role_may(role, &action.kind) {
        return Err(Inadmissible::Workflow {
            role,
            action: action.kind.name(),
        });
    }
    if let workflow::ActionKind::Duplicate { of } = &action.kind {
        match (a.grid_of)(of) {
            Some(g) if a.grants.covers(&g) && of.kind() == DocKind::Case => {}
            _ => {
                return Err(Inadmissible::DuplicateNotVisible { of: of.clone() });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
