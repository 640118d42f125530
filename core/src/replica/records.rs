//! Writing records: register and edit households, log visits, report and act on cases.

use serde::{Deserialize, Serialize};

use super::Replica;
use crate::error::{Error, Result};
use crate::ids::{DocId, DocKind, GridPath, Timestamp};
use crate::index;
use crate::model::{
    self, HouseholdField, HouseholdUpdate, NewCase, NewHousehold, NewVisit, Role, Tier, TierChange,
    household, visit,
};
use crate::store::trees;
use crate::workflow::{self, ActionKind, CaseAction};

/// A case action as the app asks for it; the replica stamps the id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseActionInput {
    /// Replaced by the handset's worker ([`Replica::acting_as`]) unless the store has no identity.
    pub actor: String,
    /// In which role: one the handset's worker holds, or the call fails.
    pub role: Role,
    /// When; `None` takes the replica's clock.
    pub at: Option<Timestamp>,
    /// What.
    pub kind: ActionKind,
}

impl Replica {
    /// The grid of a registered household, from the index.
    pub(crate) fn household_grid(&self, id: &DocId) -> Result<GridPath> {
        if id.kind() != DocKind::Household {
            return Err(Error::invalid(
                "household",
                format!("{id} is not a household id"),
            ));
        }
        let k = index::keys::household_grid(id);
        let grid = self
            .store
            .get(trees::INDEX, &k)?
            .ok_or_else(|| Error::NotFound {
                kind: "household",
                id: id.to_string(),
            })?;
        GridPath::parse(&String::from_utf8_lossy(&grid))
    }

    /// Registers a household. The registering worker is the handset's
    /// ([`Replica::acting_as`]); `_by` is used only by a store with no identity at all.
    pub fn register_household(&self, h: &NewHousehold, _by: &str) -> Result<DocId> {
        let _span = tracing::debug_span!("register_household", grid = %h.grid).entered();
        household::validate_new(h)?;
        let by = match self.bound_identity()? {
            Some(me) => {
                me.check_grid(&h.grid)?;
                me.worker
            }
            None => unbound_author(_by)?,
        };
        model::validate_device(&by)
            .map_err(|_| Error::invalid("by", "the registering worker is empty"))?;
        let id = DocId::new(DocKind::Household);
        let at = self.now();
        self.write_doc(&id, true, at, |tx| household::create(tx, &id, h, &by, at))?;
        Ok(id)
    }

    /// Edits a household's fields.
    pub fn update_household(&self, id: &DocId, update: &HouseholdUpdate) -> Result<()> {
        household::validate_update(update)?;
        self.household_grid(id)?;
        self.write_doc(id, false, self.now(), |tx| household::update(tx, update))
    }

    /// Changes a household's tier; the change, who made it (the handset's worker; `_by`
    /// only in a store with no identity at all) and why are kept forever. Two tier changes
    /// made offline on two devices conflict like any other field.
    pub fn change_tier(&self, id: &DocId, tier: Tier, _by: &str, reason: &str) -> Result<()> {
        self.household_grid(id)?;
        let by = match self.bound_identity()? {
            Some(me) => me.worker,
            None => unbound_author(_by)?,
        };
        let at = self.now();
        let change = TierChange {
            tier,
            by,
            at,
            reason: reason.trim().into(),
        };
        self.write_doc(id, false, at, |tx| household::change_tier(tx, &change))
    }

    /// Settles a conflicted household field by choosing value number `choice` of those
    /// [`Replica::household_conflicts`] listed. Settling the tier is a tier change made by
    /// the handset's worker (the device name in a store with no identity at all), so the
    /// tier history records the choice after both conflicting changes. A field that holds
    /// one value has nothing to settle and is refused.
    pub fn resolve_conflict(&self, id: &DocId, field: HouseholdField, choice: usize) -> Result<()> {
        self.household_grid(id)?;
        let at = self.now();
        let by = self.acting_worker_or_device()?;
        self.write_doc(id, false, at, |tx| {
            household::resolve(tx, field, choice, &by, at)
        })
    }

    /// Logs a visit to a registered household, by the handset's worker (`v.worker` is
    /// replaced by [`Replica::acting_as`]'s).
    pub fn log_visit(&self, v: &NewVisit) -> Result<DocId> {
        let _span = tracing::debug_span!("log_visit").entered();
        let mut v = v.clone();
        v.worker = match self.bound_identity()? {
            Some(me) => me.worker,
            None => unbound_author(&v.worker)?,
        };
        visit::validate_new(&v)?;
        not_future("visit time", v.at, self.now())?;
        let grid = self.household_grid(&v.household)?;
        self.check_listed(&v.household, &grid)?;
        let id = DocId::new(DocKind::Visit);
        self.write_doc(&id, true, v.at, |tx| visit::create(tx, &id, &grid, &v))?;
        Ok(id)
    }

    /// Ticks (or unticks) follow-up number `index` of a visit.
    pub fn set_follow_up_done(&self, visit_id: &DocId, index: usize, done: bool) -> Result<()> {
        if visit_id.kind() != DocKind::Visit {
            return Err(Error::invalid(
                "visit",
                format!("{visit_id} is not a visit id"),
            ));
        }
        self.write_doc(visit_id, false, self.now(), |tx| {
            visit::set_follow_up_done(tx, index, done)
        })
    }

    /// Reports a case, by the handset's worker (`c.reporter` is replaced by
    /// [`Replica::acting_as`]'s) in `c.role`, which the worker must hold.
    pub fn report_case(&self, c: &NewCase) -> Result<DocId> {
        let _span = tracing::debug_span!("report_case", grid = %c.grid).entered();
        let mut c = c.clone();
        match self.bound_identity()? {
            Some(me) => {
                c.role = me.role(Some(c.role))?;
                c.reporter = me.worker;
            }
            None => c.reporter = unbound_author(&c.reporter)?,
        }
        let c = &c;
        model::case::validate_new(c)?;
        if let Some(h) = &c.household {
            let hg = self.household_grid(h)?;
            if hg != c.grid {
                return Err(Error::invalid(
                    "household",
                    format!("household {h} is in grid {hg}, not {}", c.grid),
                ));
            }
        }
        let id = DocId::new(DocKind::Case);
        let action_id = new_action_id();
        self.write_doc(&id, true, c.at, |tx| {
            model::case::create(tx, &id, c, &action_id)
        })?;
        Ok(id)
    }

    /// Takes a step on a case. A case outside the handset's grids, or a role its worker
    /// does not hold, is [`Error::NotPermitted`]; then the step is checked against the
    /// case's current state and the role: a refused step is an [`Error::Workflow`]. A
    /// refused call writes nothing.
    pub fn act_on_case(&self, id: &DocId, input: &CaseActionInput) -> Result<model::Case> {
        let _span =
            tracing::debug_span!("act_on_case", case = %id, action = input.kind.name()).entered();
        if id.kind() != DocKind::Case {
            return Err(Error::invalid("case", format!("{id} is not a case id")));
        }
        if input.kind == ActionKind::Report {
            return Err(Error::invalid(
                "action",
                "a case is reported with report_case",
            ));
        }
        let (actor, role) = match self.bound_identity()? {
            Some(me) => {
                // A case outside the grants is refused as such, whatever its status says
                // (the workflow's check comes later, in the write).
                if let Some(grid) = self.record_grid(id) {
                    me.check_grid(&grid)?;
                }
                (me.worker.clone(), me.role(Some(input.role))?)
            }
            None => (unbound_author(&input.actor)?, input.role),
        };
        let action = CaseAction {
            id: new_action_id(),
            role,
            actor,
            at: input.at.unwrap_or_else(|| self.now()),
            kind: input.kind.clone(),
        };
        model::case::validate_action(&action)?;
        let policy = self.config.triage;
        self.write_doc(id, false, action.at, |tx| {
            let current = model::case::read(&*tx, &policy)?;
            workflow::check(&current.state, &action, &policy).map_err(Error::Workflow)?;
            model::case::append(tx, &action)
        })?;
        self.case(id)
    }
}

impl Replica {
    /// Who a settling or retiring write is made by: the handset's worker, or the device
    /// name in a store with no identity at all.
    pub(super) fn acting_worker_or_device(&self) -> Result<String> {
        Ok(match self.bound_identity()? {
            Some(me) => me.worker,
            None => self.identity().device.clone(),
        })
    }
}

/// The author a store with no identity at all writes as: the one the caller names, or
/// [`Error::NoIdentity`] when it names none (an app that never set a setup identity and
/// never met the relay).
fn unbound_author(given: &str) -> Result<String> {
    match given.trim() {
        "" => Err(Error::NoIdentity),
        who => Ok(who.to_string()),
    }
}

fn new_action_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_string()
}

/// Refuses a time further ahead of the replica's clock than the relay allows
/// ([`model::admit::CLOCK_SKEW_MS`]), with or without an identity: a visit dated years
/// ahead would push its household out of the due list until then.
fn not_future(field: &'static str, at: Timestamp, now: Timestamp) -> Result<()> {
    if at <= now.saturating_add(model::admit::CLOCK_SKEW_MS) {
        return Ok(());
    }
    let ahead = at - now;
    let (n, unit) = if ahead >= crate::ids::DAY_MS {
        (ahead / crate::ids::DAY_MS, "day")
    } else {
        (ahead / 60_000, "minute")
    };
    let how_far = format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    Err(Error::invalid(
        field,
        format!("{how_far} after this phone's clock: a visit cannot be logged in the future"),
    ))
}
