//! A household in its own automerge document.
//!
//! ```text
//! ROOT { kind: "household", id, grid, created_at,
//!        head: str, phone: str, address: bytes(postcard Address), members: bytes(postcard Vec<Member>),
//!        tier_history: [ { tier, by, at, reason } ],   // append-only; current tier = latest
//!        tags: { tag: true }, contacts: { worker: true } }
//! ```
//! `head`, `phone`, `address` and `members` are single registers: concurrent edits are
//! kept side by side and surfaced by [`conflicts`] until one is chosen.

use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT, ReadDoc, ScalarValue, Value};
use serde::{Deserialize, Serialize};

use super::doc::{am, list_objects, map_keys, opt_obj, req_i64, req_obj, req_str};
use super::types::{Address, Household, HouseholdUpdate, Member, NewHousehold, Tier, TierChange};
use super::validate;
use crate::error::{Error, Result};
use crate::ids::{DocId, GridPath, Timestamp};

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
}

impl HouseholdField {
    /// Every register field.
    pub const ALL: [HouseholdField; 4] = [
        HouseholdField::Head,
        HouseholdField::Phone,
        HouseholdField::Address,
        HouseholdField::Members,
    ];

    /// The document key (also the field's public name).
    pub fn key(self) -> &'static str {
        match self {
            HouseholdField::Head => "head",
            HouseholdField::Phone => "phone",
            HouseholdField::Address => "address",
            HouseholdField::Members => "members",
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
        _ => Err(bad()),
    }
}

fn put_value(tx: &mut impl Transactable, field: HouseholdField, v: &FieldValue) -> Result<()> {
    let key = field.key();
    match v {
        FieldValue::Text(t) => tx.put(ROOT, key, t.as_str()),
        FieldValue::Address(a) => tx.put(ROOT, key, ScalarValue::Bytes(encode(a)?)),
        FieldValue::Members(m) => tx.put(ROOT, key, ScalarValue::Bytes(encode(m)?)),
    }
    .map_err(am)
}

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
    tx.put_object(ROOT, "tier_history", ObjType::List)
        .map_err(am)?;
    append_tier(
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

/// Appends a tier change to the history (the history is never rewritten).
pub(crate) fn append_tier(tx: &mut impl Transactable, c: &TierChange) -> Result<()> {
    validate::short_text("by", &c.by, 64)?;
    validate::text("reason", &c.reason, 0, 500)?;
    let list = req_obj(tx, &ROOT, "tier_history", ObjType::List)?;
    let n = tx.length(&list);
    let item = tx.insert_object(&list, n, ObjType::Map).map_err(am)?;
    tx.put(&item, "tier", c.tier.as_str()).map_err(am)?;
    tx.put(&item, "by", c.by.as_str()).map_err(am)?;
    tx.put(&item, "at", c.at).map_err(am)?;
    tx.put(&item, "reason", c.reason.as_str()).map_err(am)?;
    Ok(())
}

/// Overwrites a conflicted field with one chosen value (the put supersedes them all).
pub(crate) fn resolve(
    tx: &mut impl Transactable,
    field: HouseholdField,
    v: &FieldValue,
) -> Result<()> {
    put_value(tx, field, v)
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

/// The values a field holds now (for choosing one).
pub(crate) fn values_of(doc: &impl ReadDoc, f: HouseholdField) -> Result<Vec<FieldValue>> {
    field_values(doc, f)
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
    let tier_history = tier_history(doc)?;
    let tier = current_tier(&tier_history)
        .ok_or_else(|| Error::corrupt("document", "household has no tier"))?;
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

fn tier_history(doc: &impl ReadDoc) -> Result<Vec<TierChange>> {
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

/// The tier in force: the latest change (ties broken deterministically).
fn current_tier(history: &[TierChange]) -> Option<Tier> {
    history.last().map(|c| c.tier)
}
