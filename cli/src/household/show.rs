//! `household show`: a household with its members, tier history, visits, and the fields
//! two handsets edited at once.

use anyhow::Result;
use gridsync_core::model::{FieldValue, HouseholdField};
use gridsync_core::{DocId, Replica};

use crate::Ctx;
use crate::output::{self, Table};

/// A conflicting value, in words.
pub fn value_text(v: &FieldValue) -> String {
    match v {
        FieldValue::Text(t) => t.clone(),
        FieldValue::Address(a) => output::address(a),
        FieldValue::Members(m) => m
            .iter()
            .map(|p| format!("{}:{}:{}", p.name, p.birth_year, p.relation))
            .collect::<Vec<_>>()
            .join(", "),
        FieldValue::Tier(t) => output::tier_long(*t).into(),
    }
}

/// Prints a household (or its JSON).
pub(super) fn show(ctx: &Ctx, r: &Replica, id: &DocId, max_visits: usize) -> Result<()> {
    let h = r.household(id)?;
    let visits = r.visits_of(id, max_visits)?;
    let conflicts = r.household_conflicts(id)?;
    if ctx.json {
        return output::json(&serde_json::json!({
            "household": h, "visits": visits, "conflicts": conflicts,
        }));
    }
    crate::outln!("household {}", h.id)?;
    crate::outln!("  grid      {}", h.grid)?;
    crate::outln!("  head      {}", h.head)?;
    let tier_mark = if conflicts.iter().any(|c| c.field == HouseholdField::Tier) {
        "  ⚠ changed on two handsets at once, see below"
    } else {
        ""
    };
    crate::outln!("  tier      {}{tier_mark}", output::tier_long(h.tier))?;
    crate::outln!("  address   {}", output::address(&h.address))?;
    crate::outln!(
        "  phone     {}",
        if h.phone.is_empty() { "-" } else { &h.phone }
    )?;
    crate::outln!("  tags      {}", h.tags.join(", "))?;
    crate::outln!("  contacts  {}", h.contacts.join(", "))?;
    if let Some(ret) = &h.retired {
        let why = match &ret.duplicate_of {
            Some(k) if ret.reason.is_empty() => format!("duplicate of {k}"),
            Some(k) => format!("duplicate of {k}: {}", ret.reason),
            None => ret.reason.clone(),
        };
        crate::outln!("  retired   {} by {}, {why}", output::date(ret.at), ret.by)?;
    }
    if !h.members.is_empty() {
        crate::outln!("\nmembers")?;
        let mut t = Table::new(&["  NAME", "BORN", "RELATION"]);
        for m in &h.members {
            t.row(vec![
                format!("  {}", m.name),
                m.birth_year.to_string(),
                m.relation.clone(),
            ]);
        }
        t.print("")?;
    }
    crate::outln!("\ntier history")?;
    let mut t = Table::new(&["  WHEN", "TIER", "BY", "REASON"]);
    for c in &h.tier_history {
        t.row(vec![
            format!("  {}", output::time(c.at)),
            output::tier(c.tier).into(),
            c.by.clone(),
            output::clip(&c.reason, 40),
        ]);
    }
    t.print("  none")?;
    crate::outln!("\nvisits (newest first)")?;
    let mut t = Table::new(&["  WHEN", "MODE", "WORKER", "OPEN", "NOTES"]);
    for v in &visits {
        let notes = r.visit(&v.id).map(|full| full.record.notes)?;
        t.row(vec![
            format!("  {}", output::time(v.at)),
            output::mode(v.mode).into(),
            v.worker.clone(),
            v.open_follow_ups.to_string(),
            output::clip(&notes, 40),
        ]);
    }
    t.print("  no visits yet")?;
    if !conflicts.is_empty() {
        crate::outln!("\nconflicting edits (made on two handsets at once; choose one)")?;
        for c in &conflicts {
            for (i, v) in c.values.iter().enumerate() {
                crate::outln!("  {:<8} [{i}] {}", c.field.key(), value_text(v))?;
            }
        }
        crate::outln!(
            "  settle with: gridsync household resolve {} --field FIELD --choice N",
            output::short(id)
        )?;
    }
    Ok(())
}
