//! A household's tier: the `tier` register (the tier in force) and the append-only
//! `tier_history` list (every change, who made it and why).
//!
//! Every change writes both in one transaction: an entry appended to the history, and the
//! new tier put into the register. Two handsets changing the tier offline therefore leave
//! the register holding both values, a conflict like any other field's, and the history
//! holding both entries. Settling the conflict puts the chosen tier into the register and
//! appends one more entry recording the choice; nothing is removed from the history.
//!
//! Documents written before the register existed have only the history: their tier in
//! force is the history's latest entry until their next tier change writes the register.

use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT, ReadDoc};

use super::super::doc::{am, list_objects, req_i64, req_obj, req_str};
use super::super::types::{Tier, TierChange};
use super::super::validate;
use super::fields::{FieldValue, HouseholdField, decode_value, field_values};
use crate::error::{Error, Result};
use crate::ids::Timestamp;

/// What a tier change made by settling a conflict gives as its reason (followed by the
/// chosen tier and the ones it replaced).
pub const RESOLVED_REASON: &str = "resolved conflict";

/// Creates the empty history of a new household.
pub(super) fn init(tx: &mut impl Transactable) -> Result<()> {
    tx.put_object(ROOT, "tier_history", ObjType::List)
        .map_err(am)?;
    Ok(())
}

/// Records a tier change: appends it to the history (never rewritten) and puts the new tier
/// into the register, superseding every value this replica has seen there.
pub(crate) fn change(tx: &mut impl Transactable, c: &TierChange) -> Result<()> {
    validate::short_text("by", &c.by, 64)?;
    validate::text("reason", &c.reason, 0, 500)?;
    let list = req_obj(tx, &ROOT, "tier_history", ObjType::List)?;
    let n = tx.length(&list);
    let item = tx.insert_object(&list, n, ObjType::Map).map_err(am)?;
    tx.put(&item, "tier", c.tier.as_str()).map_err(am)?;
    tx.put(&item, "by", c.by.as_str()).map_err(am)?;
    tx.put(&item, "at", c.at).map_err(am)?;
    tx.put(&item, "reason", c.reason.as_str()).map_err(am)?;
    tx.put(ROOT, HouseholdField::Tier.key(), c.tier.as_str())
        .map_err(am)?;
    Ok(())
}

/// Settles a tier conflict on `chosen`: a tier change by `by` at `at` whose reason names
/// the tiers the register held.
pub(super) fn resolve(
    tx: &mut impl Transactable,
    chosen: Tier,
    by: &str,
    at: Timestamp,
) -> Result<()> {
    let others: Vec<&str> = values(tx)?
        .into_iter()
        .filter(|t| *t != chosen)
        .map(Tier::as_str)
        .collect();
    let reason = if others.is_empty() {
        format!("{RESOLVED_REASON}: {}", chosen.as_str())
    } else {
        format!(
            "{RESOLVED_REASON}: {} chosen over {}",
            chosen.as_str(),
            others.join(", ")
        )
    };
    change(
        tx,
        &TierChange {
            tier: chosen,
            by: by.into(),
            at,
            reason,
        },
    )
}

/// The tiers the register holds, in the order every replica shares (empty for a
/// document written before the register existed).
fn values(doc: &impl ReadDoc) -> Result<Vec<Tier>> {
    field_values(doc, HouseholdField::Tier)?
        .into_iter()
        .map(|v| match v {
            FieldValue::Tier(t) => Ok(t),
            _ => Err(Error::corrupt("document", "household tier malformed")),
        })
        .collect()
}

/// The tier in force: the register's winner (the same on every replica, also while the
/// register is in conflict), or for an older document the history's latest entry.
pub(super) fn current(doc: &impl ReadDoc, history: &[TierChange]) -> Result<Tier> {
    let winner = match doc.get(ROOT, HouseholdField::Tier.key()).map_err(am)? {
        Some((v, _)) => Some(decode_value(HouseholdField::Tier, &v)?),
        None => None,
    };
    match winner {
        Some(FieldValue::Tier(t)) => Ok(t),
        Some(_) => Err(Error::corrupt("document", "household tier malformed")),
        None => history
            .last()
            .map(|c| c.tier)
            .ok_or_else(|| Error::corrupt("document", "household has no tier")),
    }
}

/// Every tier change, oldest first (ties broken deterministically).
pub(super) fn history(doc: &impl ReadDoc) -> Result<Vec<TierChange>> {
    let list = req_obj(doc, &ROOT, "tier_history", ObjType::List)?;
    let mut out = Vec::new();
    for item in list_objects(doc, &list)? {
        let tier = Tier::parse(&req_str(doc, &item, "tier")?)
            .ok_or_else(|| Error::corrupt("document", "unknown tier"))?;
        out.push(TierChange {
            tier,
            by: req_str(doc, &item, "by")?,
            at: req_i64(doc, &item, "at")?,
            reason: req_str(doc, &item, "reason")?,
        });
    }
    out.sort_by(|a, b| (a.at, &a.by, a.tier).cmp(&(b.at, &b.by, b.tier)));
    Ok(out)
}
