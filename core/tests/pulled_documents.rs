//! A handset applying pulled batches on a sled store (issue 16): a new document that
//! arrives as one change is stored as that change, not re-saved; it reads back after a
//! reopen, later changes merge into it, and a document that arrives as several changes in
//! one batch is stored as a saved document. Either way the reader ends with the writer's
//! heads.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use gridsync_core::model::{Address, HouseholdUpdate, NewHousehold, NewVisit, Tier, VisitMode};
use gridsync_core::replica::{Replica, ReplicaConfig};
use gridsync_core::store::{MemoryStore, trees};
use gridsync_core::sync::wire::{Cursor, Entry, Payload};
use gridsync_core::{DocId, GridPath};

const GRID: &str = "ankang/hanbin/laocheng/xinhua/g01";

fn writer() -> Replica {
    Replica::open_with(
        Arc::new(MemoryStore::new()),
        "writer",
        ReplicaConfig::default(),
    )
    .unwrap()
}

fn household() -> NewHousehold {
    NewHousehold {
        grid: GridPath::parse(GRID).unwrap(),
        address: Address::Urban {
            building: "3栋".into(),
            unit: "2单元".into(),
            room: "501".into(),
        },
        head: "李桂英".into(),
        members: vec![],
        phone: "13800000000".into(),
        tier: Tier::Green,
        tags: vec![],
        contacts: vec![],
    }
}

fn visit(household: &DocId) -> NewVisit {
    NewVisit {
        household: household.clone(),
        worker: "wang".into(),
        at: 1_704_700_800_000,
        mode: VisitMode::DoorToDoor,
        notes: "入户走访，老人身体尚好，需关注用药".into(),
        findings: vec![],
        follow_ups: vec![],
        geo: None,
    }
}

/// The writer's outbox after `after`, as the relay would hand it out.
fn entries(w: &Replica, after: Option<u64>) -> (Vec<Entry>, u64) {
    let items = w.outbox_after(after, usize::MAX).unwrap();
    let last = items.last().map(|i| i.seq).unwrap();
    let entries = items.into_iter().map(|i| Entry::from(i.change)).collect();
    (entries, last)
}

fn stored(r: &Replica, id: &DocId) -> Vec<u8> {
    r.store()
        .get(trees::DOCS, id.as_str().as_bytes())
        .unwrap()
        .unwrap()
}

#[test]
fn a_document_pulled_as_one_change_is_stored_as_it_and_reads_back() {
    let w = writer();
    let h = w.register_household(&household(), "wang").unwrap();
    let v = w.log_visit(&visit(&h)).unwrap();
    let (first, seq) = entries(&w, None);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reader");
    {
        let r = Replica::open(&path, "reader").unwrap();
        r.apply_batch(&first, &Cursor::Log { after: seq }).unwrap();
        for e in &first {
            let Payload::Change(bytes) = &e.payload else {
                unreachable!()
            };
            assert_eq!(&stored(&r, &e.doc), bytes, "{} stored as its change", e.doc);
        }
    }
    let r = Replica::open(&path, "reader").unwrap();
    assert_eq!(r.visit(&v).unwrap().record.notes, visit(&h).notes);
    assert_eq!(r.household(&h).unwrap().head, "李桂英");
    // A later change merges into the document stored as a change.
    w.update_household(
        &h,
        &HouseholdUpdate {
            phone: Some("13900000000".into()),
            ..HouseholdUpdate::default()
        },
    )
    .unwrap();
    let (later, seq) = entries(&w, Some(seq));
    r.apply_batch(&later, &Cursor::Log { after: seq }).unwrap();
    assert_eq!(r.household(&h).unwrap().phone, "13900000000");
    assert_eq!(r.heads(&h).unwrap(), w.heads(&h).unwrap());
    // Now two changes: saved whole, no longer the first change alone.
    let first_change = first.iter().find(|e| e.doc == h).map(|e| e.payload.clone());
    assert_ne!(Some(Payload::Change(stored(&r, &h))), first_change);
}

#[test]
fn a_document_pulled_as_several_changes_at_once_is_saved_whole() {
    let w = writer();
    let h = w.register_household(&household(), "wang").unwrap();
    w.change_tier(&h, Tier::Yellow, "wang", "独居老人").unwrap();
    let (all, seq) = entries(&w, None);
    assert_eq!(all.len(), 2);
    let dir = tempfile::tempdir().unwrap();
    let r = Replica::open(&dir.path().join("reader"), "reader").unwrap();
    r.apply_batch(&all, &Cursor::Log { after: seq }).unwrap();
    for e in &all {
        let Payload::Change(bytes) = &e.payload else {
            unreachable!()
        };
        assert_ne!(&stored(&r, &h), bytes);
    }
    assert_eq!(r.household(&h).unwrap().tier, Tier::Yellow);
    assert_eq!(r.heads(&h).unwrap(), w.heads(&h).unwrap());
}
