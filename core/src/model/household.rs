//! A household in its own automerge document.
//!
//! ```text
//! ROOT { kind: "household", id, grid, created_at,
//!        head: str, phone: str, address: bytes(postcard Address), members: bytes(postcard Vec<Member>),
//!        tier: str,                                     // the tier in force
//!        tier_history: [ { tier, by, at, reason } ],    // append-only, every change
//!        tags: { tag: true }, contacts: { worker: true },
//!        retired?: bytes(postcard Retirement) }                 // see household/retire.rs
//! ```
//! `head`, `phone`, `address`, `members` and `tier` are single registers: concurrent edits
//! are kept side by side and surfaced by [`conflicts`] until one is chosen. A tier change
//! writes the register and appends to the history in one transaction, so two offline tier
//! changes conflict and both stay in the history (details in `household/tier.rs`).

use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT, ReadDoc};

use super::doc::{am, map_keys, opt_obj, req_obj, req_str};
use super::types::{Address, Household, HouseholdUpdate, Member, NewHousehold, TierChange};
use super::validate;
use crate::error::{Error, Result};
use crate::ids::{DocId, GridPath, Timestamp};

mod fields;
mod retire;
#[cfg(test)]
mod tests;
mod tier;

pub(crate) use fields::resolve;
pub use fields::{FieldConflict, FieldValue, HouseholdField, conflicts};
use fields::{field, put_value};

pub(crate) use retire::{reinstate, retire};
pub use tier::RESOLVED_REASON;
pub(crate) use tier::change as change_tier;

/// Checks a new household before anything is written.
pub(crate) fn validate_new(h: &NewHousehold) -> Result<()> {
    validate_fields(
        &h.head,
        &h.phone,
        &h.address,
        &h.members,
        &h.tags,
        &h.contacts,
    )
}

/// The checks every household's fields pass, new or read back.
fn validate_fields(
    head: &str,
    phone: &str,
    address: &Address,
    members: &[Member],
    tags: &[String],
    contacts: &[String],
) -> Result<()> {
    validate::name("head", head)?;
    validate::phone(phone)?;
    validate::address(address)?;
    validate::members(members)?;
    for t in tags {
        validate::short_text("tags", t, 32)?;
    }
    for c in contacts {
        validate::short_text("contacts", c, 64)?;
    }
    Ok(())
}

/// The input checks, on a household as read back (a received document holds whatever its
/// writer put there).
pub(crate) fn validate_read(h: &Household) -> Result<()> {
    validate_fields(
        &h.head,
        &h.phone,
        &h.address,
        &h.members,
        &h.tags,
        &h.contacts,
    )?;
    for t in &h.tier_history {
        validate::short_text("by", &t.by, 64)?;
        validate::text("reason", &t.reason, 0, 500)?;
    }
    Ok(())
}

/// Writes a freshly registered household into an empty document.
pub(crate) fn create(
    tx: &mut impl Transactable,
    id: &DocId,
    h: &NewHousehold,
    by: &str,
    at: Timestamp,
) -> Result<()> {
    tx.put(ROOT, "kind", "household").map_err(am)?;
    tx.put(ROOT, "id", id.as_str()).map_err(am)?;
    tx.put(ROOT, "grid", h.grid.as_str()).map_err(am)?;
    tx.put(ROOT, "created_at", at).map_err(am)?;
    put_value(
        tx,
        HouseholdField::Head,
        &FieldValue::Text(h.head.trim().to_string()),
    )?;
    put_value(
        tx,
        HouseholdField::Phone,
        &FieldValue::Text(h.phone.trim().to_string()),
    )?;
    put_value(
        tx,
        HouseholdField::Address,
        &FieldValue::Address(h.address.clone()),
    )?;
    put_value(
        tx,
        HouseholdField::Members,
        &FieldValue::Members(h.members.clone()),
    )?;
    tier::init(tx)?;
    tier::change(
        tx,
        &TierChange {
            tier: h.tier,
            by: by.into(),
            at,
            reason: "登记".into(),
        },
    )?;
    let tags = tx.put_object(ROOT, "tags", ObjType::Map).map_err(am)?;
    for t in &h.tags {
        tx.put(&tags, t.trim(), true).map_err(am)?;
    }
    let contacts = tx.put_object(ROOT, "contacts", ObjType::Map).map_err(am)?;
    for c in &h.contacts {
        tx.put(&contacts, c.trim(), true).map_err(am)?;
    }
    Ok(())
}

/// Checks an update before anything is written.
pub(crate) fn validate_update(u: &HouseholdUpdate) -> Result<()> {
    if let Some(h) = &u.head {
        validate::name("head", h)?;
    }
    if let Some(p) = &u.phone {
        validate::phone(p)?;
    }
    if let Some(a) = &u.address {
        validate::address(a)?;
    }
    if let Some(m) = &u.members {
        validate::members(m)?;
    }
    for t in u.add_tags.iter().chain(&u.remove_tags) {
        validate::short_text("tags", t, 32)?;
    }
    for c in u.add_contacts.iter().chain(&u.remove_contacts) {
        validate::short_text("contacts", c, 64)?;
    }
    Ok(())
}

/// Applies a field-level edit.
pub(crate) fn update(tx: &mut impl Transactable, u: &HouseholdUpdate) -> Result<()> {
    if let Some(h) = &u.head {
        put_value(
            tx,
            HouseholdField::Head,
            &FieldValue::Text(h.trim().to_string()),
        )?;
    }
    if let Some(p) = &u.phone {
        put_value(
            tx,
            HouseholdField::Phone,
            &FieldValue::Text(p.trim().to_string()),
        )?;
    }
    if let Some(a) = &u.address {
        put_value(tx, HouseholdField::Address, &FieldValue::Address(a.clone()))?;
    }
    if let Some(m) = &u.members {
        put_value(tx, HouseholdField::Members, &FieldValue::Members(m.clone()))?;
    }
    let tags = req_obj(tx, &ROOT, "tags", ObjType::Map)?;
    for t in &u.add_tags {
        tx.put(&tags, t.trim(), true).map_err(am)?;
    }
    for t in &u.remove_tags {
        tx.delete(&tags, t.trim()).map_err(am)?;
    }
    let contacts = req_obj(tx, &ROOT, "contacts", ObjType::Map)?;
    for c in &u.add_contacts {
        tx.put(&contacts, c.trim(), true).map_err(am)?;
    }
    for c in &u.remove_contacts {
        tx.delete(&contacts, c.trim()).map_err(am)?;
    }
    Ok(())
}

/// Reads the household back.
pub fn read(doc: &impl ReadDoc) -> Result<Household> {
    if req_str(doc, &ROOT, "kind")? != "household" {
        return Err(Error::corrupt("document", "not a household"));
    }
    let id = DocId::parse(&req_str(doc, &ROOT, "id")?)?;
    let grid = GridPath::parse(&req_str(doc, &ROOT, "grid")?)?;
    let text = |f| match field(doc, f)? {
        FieldValue::Text(t) => Ok(t),
        _ => Err(Error::corrupt("document", "household text field malformed")),
    };
    let head = text(HouseholdField::Head)?;
    let phone = text(HouseholdField::Phone)?;
    let FieldValue::Address(address) = field(doc, HouseholdField::Address)? else {
        return Err(Error::corrupt("document", "household address malformed"));
    };
    let FieldValue::Members(members) = field(doc, HouseholdField::Members)? else {
        return Err(Error::corrupt("document", "household members malformed"));
    };
    let tier_history = tier::history(doc)?;
    let tier = tier::current(doc, &tier_history)?;
    let tags = opt_obj(doc, &ROOT, "tags", ObjType::Map)?
        .map(|o| map_keys(doc, &o))
        .unwrap_or_default();
    let contacts = opt_obj(doc, &ROOT, "contacts", ObjType::Map)?
        .map(|o| map_keys(doc, &o))
        .unwrap_or_default();
    Ok(Household {
        id,
        grid,
        address,
        head,
        members,
        phone,
        tier,
        tier_history,
        tags,
        contacts,
        retired: retire::read(doc)?,
    })
}
