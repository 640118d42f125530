//! The register fields of a household (head, phone, address, members, tier): reading
//! their values, listing the ones that hold concurrent values, and settling one.

use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc, ScalarValue, Value};
use serde::{Deserialize, Serialize};

use super::tier;
use crate::error::{Error, Result};
use crate::ids::Timestamp;
use crate::model::doc::am;
use crate::model::types::{Address, Member, Tier};

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

pub(super) fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(v).map_err(|e| Error::invalid("record", e.to_string()))
}

pub(super) fn decode_value(field: HouseholdField, v: &Value<'_>) -> Result<FieldValue> {
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
pub(super) fn put_value(
    tx: &mut impl Transactable,
    field: HouseholdField,
    v: &FieldValue,
) -> Result<()> {
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

pub(super) fn field_values(doc: &impl ReadDoc, field: HouseholdField) -> Result<Vec<FieldValue>> {
    doc.get_all(ROOT, field.key())
        .map_err(am)?
        .iter()
        .map(|(v, _)| decode_value(field, v))
        .collect()
}

pub(super) fn field(doc: &impl ReadDoc, field: HouseholdField) -> Result<FieldValue> {
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
