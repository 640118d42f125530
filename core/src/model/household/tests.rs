//! The tier register against the document: documents from before the register, and what
//! a merge of two tier changes leaves.
#![allow(clippy::unwrap_used)]

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjType, ROOT, ScalarValue};

use super::fields::encode;
use super::*;
use crate::ids::DocKind;
use crate::model::types::Tier;

const T0: Timestamp = 1_772_323_200_000;

fn new_household(tier: Tier) -> NewHousehold {
    NewHousehold {
        grid: GridPath::parse("ankang/hanbin/laocheng/xinhua/g01").unwrap(),
        address: Address::Urban {
            building: "3栋".into(),
            unit: "2单元".into(),
            room: "501".into(),
        },
        head: "王秀英".into(),
        members: vec![],
        phone: String::new(),
        tier,
        tags: vec![],
        contacts: vec!["w-wang".into()],
    }
}

/// A household as written before the `tier` register existed: the tier only in the
/// history, registered green and later changed to red.
fn legacy_document() -> AutoCommit {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(&[1u8; 16][..]));
    let h = new_household(Tier::Green);
    doc.put(ROOT, "kind", "household").unwrap();
    doc.put(ROOT, "id", DocId::new(DocKind::Household).as_str())
        .unwrap();
    doc.put(ROOT, "grid", h.grid.as_str()).unwrap();
    doc.put(ROOT, "created_at", T0).unwrap();
    doc.put(ROOT, "head", h.head.as_str()).unwrap();
    doc.put(ROOT, "phone", "").unwrap();
    doc.put(
        ROOT,
        "address",
        ScalarValue::Bytes(encode(&h.address).unwrap()),
    )
    .unwrap();
    doc.put(
        ROOT,
        "members",
        ScalarValue::Bytes(encode(&h.members).unwrap()),
    )
    .unwrap();
    let list = doc.put_object(ROOT, "tier_history", ObjType::List).unwrap();
    for (i, (tier, reason)) in [("green", "登记"), ("red", "独居老人摔伤")]
        .into_iter()
        .enumerate()
    {
        let item = doc.insert_object(&list, i, ObjType::Map).unwrap();
        doc.put(&item, "tier", tier).unwrap();
        doc.put(&item, "by", "w-wang").unwrap();
        doc.put(&item, "at", T0 + i as i64).unwrap();
        doc.put(&item, "reason", reason).unwrap();
    }
    doc.put_object(ROOT, "tags", ObjType::Map).unwrap();
    doc.put_object(ROOT, "contacts", ObjType::Map).unwrap();
    doc
}

fn change(tier: Tier, by: &str, at: Timestamp) -> TierChange {
    TierChange {
        tier,
        by: by.into(),
        at,
        reason: "复核".into(),
    }
}

#[test]
fn a_document_without_the_register_reads_its_tier_from_the_history() {
    let mut doc = legacy_document();
    let h = read(&doc).unwrap();
    assert_eq!(h.tier, Tier::Red, "the history's latest entry");
    assert_eq!(h.tier_history.len(), 2);
    assert!(conflicts(&doc).unwrap().is_empty());
    // Its next tier change writes the register, which is then the tier in force.
    change_tier(&mut doc, &change(Tier::Yellow, "w-li", T0 + 10)).unwrap();
    let h = read(&doc).unwrap();
    assert_eq!(h.tier, Tier::Yellow);
    assert_eq!(h.tier_history.len(), 3);
    assert!(conflicts(&doc).unwrap().is_empty());
}

#[test]
fn two_changes_to_an_old_document_conflict_once_merged() {
    let mut a = legacy_document();
    let mut b = a.fork().with_actor(ActorId::from(&[2u8; 16][..]));
    change_tier(&mut a, &change(Tier::Yellow, "w-wang", T0 + 10)).unwrap();
    change_tier(&mut b, &change(Tier::Green, "w-li", T0 + 20)).unwrap();
    a.merge(&mut b).unwrap();
    b.merge(&mut a).unwrap();
    for doc in [&a, &b] {
        let c = conflicts(doc).unwrap();
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].field, HouseholdField::Tier);
        let mut values = c[0].values.clone();
        values.sort_by_key(|v| format!("{v:?}"));
        assert_eq!(
            values,
            [
                FieldValue::Tier(Tier::Green),
                FieldValue::Tier(Tier::Yellow)
            ]
        );
        assert_eq!(read(doc).unwrap().tier_history.len(), 4);
    }
    assert_eq!(conflicts(&a).unwrap(), conflicts(&b).unwrap(), "same order");
    assert_eq!(
        read(&a).unwrap().tier,
        read(&b).unwrap().tier,
        "the same tier in force on both, while in conflict"
    );
}

#[test]
fn settling_a_field_with_one_value_is_refused_and_writes_nothing() {
    let mut doc = AutoCommit::new();
    let id = DocId::new(DocKind::Household);
    create(&mut doc, &id, &new_household(Tier::Red), "w-wang", T0).unwrap();
    let heads = doc.get_heads();
    for f in HouseholdField::ALL {
        let e = resolve(&mut doc, f, 0, "phone-a", T0 + 1).unwrap_err();
        assert!(matches!(e, Error::Invalid { .. }), "{e}");
    }
    assert_eq!(read(&doc).unwrap().tier_history.len(), 1);
    assert_eq!(doc.get_heads(), heads);
}
