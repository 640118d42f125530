//! A household in its own automerge document.
//!
//! ```text
//! ROOT { kind: "household", id, grid, created_at,
//!        head: str, phone: str, address: bytes(postcard Address), members: bytes(postcard Vec<Member>),
//!        tier: str,                                     // the tier in force
//!        tier_history: [ { tier, by, at, reason } ],    // append-only, every change
//!        tags: { tag: true }, contacts: { worker: true } }
//! ```
//! `head`, `phone`, `address`, `members` and `tier` are single registers: concurrent edits
//! are kept side by side and surfaced by [`conflicts`] until one is chosen. A tier change
//! writes the register and appends to the history in one transaction, so two offline tier
//! changes conflict and both stay in the history (details in `household/tier.rs`).

use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT, ReadDoc, ScalarValue, Value};
use serde::{Deserialize, Serialize};

use super::doc::{am, map_keys, opt_obj, req_obj, req_str};
use super::types::{Address, Household, HouseholdUpdate, Member, NewHousehold, Tier, TierChange};
use super::validate;
use crate::error::{Error, Result};
use crate::ids::{DocId, GridPath, Timestamp};

#[cfg(test)]
mod tests;
mod tier;

pub use tier::RESOLVED_REASON;
pub(crate) use tier::change as change_tier;

/// Household fields that are single registers and so can hold concurrent values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HouseholdField {
    /// Head of household.
    Head,
    /// Phone.
    Phone,
    /// Address.
    Address,
    /// Member list.
    Members,
    /// Tier (红/黄/绿); its every change is also kept in the tier history.
    Tier,
}

impl HouseholdField {
    /// Every register field.
    pub const ALL: [HouseholdField; 5] = [
        HouseholdField::Head,
        HouseholdField::Phone,
        HouseholdField::Address,
        HouseholdField::Members,
        HouseholdField::Tier,
    ];

    /// The document key (also the field's public name).
    pub fn key(self) -> &'static str {
        match self {
            HouseholdField::Head => "head",
            HouseholdField::Phone => "phone",
            HouseholdField::Address => "address",
            HouseholdField::Members => "members",
            HouseholdField::Tier => "tier",
        }
    }

    /// Parses [`HouseholdField::key`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.key() == s)
    }
}

/// One value of a conflicted field, readable and choosable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldValue {
    /// `head` or `phone`.
    Text(String),
    /// `address`.
    Address(Address),
    /// `members`.
    Members(Vec<Member>),
    /// `tier`.
    Tier(Tier),
}

/// A field that holds concurrent values after a merge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldConflict {
    /// Which field.
    pub field: HouseholdField,
    /// Every value, in a deterministic order shared by all replicas.
    pub values: Vec<FieldValue>,
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(v).map_err(|e| Error::invalid("record", e.to_string()))
}

fn decode_value(field: HouseholdField, v: &Value<'_>) -> Result<FieldValue> {
    let bad = || {
        Error::corrupt(
            "document",
            format!("household field {} is malformed", field.key()),
        )
    };
    let Value::Scalar(s) = v else {
        return Err(bad());
    };
    match (field, s.as_ref()) {
        (HouseholdField::Head | HouseholdField::Phone, ScalarValue::Str(t)) => {
            Ok(FieldValue::Text(t.to_string()))
        }
        (HouseholdField::Address, ScalarValue::Bytes(b)) => Ok(FieldValue::Address(
            postcard::from_bytes(b).map_err(|_| bad())?,
        )),
        (HouseholdField::Members, ScalarValue::Bytes(b)) => Ok(FieldValue::Members(
            postcard::from_bytes(b).map_err(|_| bad())?,
        )),
        (HouseholdField::Tier, ScalarValue::Str(t)) => {
            Tier::parse(t).map(FieldValue::Tier).ok_or_else(bad)
        }
        _ => Err(bad()),
    }
}

/// Puts a value into the register of a field other than `tier` (whose changes go through
/// [`tier::change`], history and all).
fn put_value(tx: &mut impl Transactable, field: HouseholdField, v: &FieldValue) -> Result<()> {
    let key = field.key();
    match (field, v) {
        (HouseholdField::Head | HouseholdField::Phone, FieldValue::Text(t)) => {
            tx.put(ROOT, key, t.as_str())
        }
        (HouseholdField::Address, FieldValue::Address(a)) => {
            tx.put(ROOT, key, ScalarValue::Bytes(encode(a)?))
        }
        (HouseholdField::Members, FieldValue::Members(m)) => {
            tx.put(ROOT, key, ScalarValue::Bytes(encode(m)?))
        }
        _ => {
            return Err(Error::invalid(
                key,
                "this value does not belong to this field",
            ));
        }
    }
    .map_err(am)
}

/// Checks a new household before anything is written.
pub(crate) fn validate_new(h: &NewHousehold) -> Result<()> {
    validate::name("head", &h.head)?;
    validate::phone(&h.phone)?;
    validate::address(&h.address)?;
    validate::members(&h.members)?;
    for t in &h.tags {
        validate::short_text("tags", t, 32)?;
    }
    for c in &h.contacts {
        validate::short_text("contacts", c, 64)?;
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

/// Settles a conflicted field on value number `choice` of those [`conflicts`] lists, read
/// in the same transaction: the put supersedes every value. A tier is settled by a tier
/// change `by` at `at`, so the history keeps both earlier entries and records the choice.
/// A field holding one value has nothing to settle and is refused.
pub(crate) fn resolve(
    tx: &mut impl Transactable,
    field: HouseholdField,
    choice: usize,
    by: &str,
    at: Timestamp,
) -> Result<()> {
    let values = field_values(tx, field)?;
    if values.len() < 2 {
        return Err(Error::invalid(
            "field",
            format!(
                "{} holds one value: there is no conflict to settle",
                field.key()
            ),
        ));
    }
    let chosen = values.get(choice).ok_or_else(|| {
        Error::invalid(
            "choice",
            format!(
                "{} has {} values; there is no number {choice}",
                field.key(),
                values.len()
            ),
        )
    })?;
    match chosen {
        FieldValue::Tier(t) => tier::resolve(tx, *t, by, at),
        other => put_value(tx, field, other),
    }
}

fn field_values(doc: &impl ReadDoc, field: HouseholdField) -> Result<Vec<FieldValue>> {
    doc.get_all(ROOT, field.key())
        .map_err(am)?
        .iter()
        .map(|(v, _)| decode_value(field, v))
        .collect()
}

fn field(doc: &impl ReadDoc, field: HouseholdField) -> Result<FieldValue> {
    let (v, _) = doc
        .get(ROOT, field.key())
        .map_err(am)?
        .ok_or_else(|| Error::corrupt("document", format!("field {} is missing", field.key())))?;
    decode_value(field, &v)
}

/// Every register field that holds more than one value.
pub fn conflicts(doc: &impl ReadDoc) -> Result<Vec<FieldConflict>> {
    let mut out = Vec::new();
    for f in HouseholdField::ALL {
        let values = field_values(doc, f)?;
        if values.len() > 1 {
            out.push(FieldConflict { field: f, values });
        }
    }
    Ok(out)
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
    })
}
