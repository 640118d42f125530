//! Refused changes on a real store (memory and sled): marked against their outbox entries,
//! never pushed again, counted apart from pending ones, shown as the record's sync state,
//! listed, and discarded on request with nothing else changing.

use std::sync::Arc;

use super::{Discarded, PendingSummary, RecordSyncState, RefusedRecord, Replica, ReplicaConfig};
use crate::error::Error;
use crate::ids::{DocId, DocKind, GridPath};
use crate::model::{Address, HouseholdUpdate, NewHousehold, NewVisit, Tier, VisitMode};
use crate::store::{MemoryStore, Store, trees};
use crate::sync::RefusedChange;
use crate::sync::backend::OutboxItem;

const G1: &str = "c1/g1";
const G2: &str = "c1/g2";
const REASON: &str = "grid c1/g2 is outside this device's scopes (c1/g1)";
const NOW: i64 = 1_700_000_000_000;

/// A store the tests reopen replicas over.
enum Backing {
    Memory(Arc<MemoryStore>),
    Sled(tempfile::TempDir),
}

impl Backing {
    fn all() -> Vec<Backing> {
        vec![
            Backing::Memory(Arc::new(MemoryStore::new())),
            Backing::Sled(tempfile::tempdir().expect("tempdir")),
        ]
    }

    fn open(&self) -> Replica {
        let r = match self {
            Backing::Memory(m) => {
                let store: Arc<dyn Store> = m.clone();
                Replica::open_with(store, "dev-1", ReplicaConfig::default())
            }
            Backing::Sled(dir) => Replica::open(dir.path(), "dev-1"),
        };
        r.expect("open").with_clock(Arc::new(|| NOW))
    }
}

fn grid(s: &str) -> GridPath {
    GridPath::parse(s).expect("grid")
}

fn register(r: &Replica, grid_path: &str, head: &str) -> DocId {
    let h = NewHousehold {
        grid: grid(grid_path),
        address: Address::Urban {
            building: "3栋".into(),
            unit: "2单元".into(),
            room: "501".into(),
        },
        head: head.into(),
        members: vec![],
        phone: "13800001111".into(),
        tier: Tier::Green,
        tags: vec![],
        contacts: vec!["w-1".into()],
    };
    r.register_household(&h, "w-1").expect("register")
}

fn set_phone(r: &Replica, id: &DocId, phone: &str) {
    let update = HouseholdUpdate {
        phone: Some(phone.into()),
        ..HouseholdUpdate::default()
    };
    r.update_household(id, &update).expect("update");
}

fn outbox(r: &Replica) -> Vec<OutboxItem> {
    r.outbox_after(None, usize::MAX).expect("outbox")
}

/// The relay refuses the outbox items of `doc`, as a push's acknowledgement reports it.
fn refuse_all_of(r: &Replica, doc: &DocId) -> Vec<u64> {
    let refused: Vec<RefusedChange> = outbox(r)
        .into_iter()
        .filter(|i| i.change.doc == *doc)
        .map(|i| RefusedChange {
            seq: i.seq,
            doc: i.change.doc,
            hash: i.change.hash,
            reason: REASON.into(),
        })
        .collect();
    r.refuse(&refused).expect("refuse");
    refused.iter().map(|c| c.seq).collect()
}

fn outbox_entries_of(store: &dyn Store, doc: &DocId) -> usize {
    let needle = doc.as_str().as_bytes();
    store
        .scan(trees::OUTBOX, crate::store::Scan::prefix(b""))
        .expect("scan")
        .iter()
        .filter(|(k, _)| k.windows(needle.len()).any(|w| w == needle))
        .count()
}

fn refused_store(b: &Backing) -> Arc<dyn Store> {
    b.open().store().clone()
}

#[test]
fn a_refused_change_is_marked_skipped_and_counted_apart_across_reopens() {
    for b in Backing::all() {
        let r = b.open();
        let inside = register(&r, G1, "甲");
        let outside = register(&r, G2, "越界");
        let before = r.pending().expect("pending");
        assert_eq!(before.changes, 2);
        let refused = refuse_all_of(&r, &outside);
        assert_eq!(refused.len(), 1);

        let after = r.pending().expect("pending");
        assert_eq!((after.changes, after.refused), (1, 1));
        assert!(after.bytes < before.bytes && after.bytes > 0);
        let left: Vec<DocId> = outbox(&r).into_iter().map(|i| i.change.doc).collect();
        assert_eq!(
            left,
            vec![inside.clone()],
            "the refused change is not pushed"
        );
        assert_eq!(
            r.record_sync_state(&outside).expect("state"),
            RecordSyncState::Refused {
                reason: REASON.into()
            }
        );
        assert_eq!(
            r.record_sync_state(&inside).expect("state"),
            RecordSyncState::Pending
        );
        let listed = r.refused().expect("refused");
        assert_eq!(
            listed,
            vec![RefusedRecord {
                doc: outside.clone(),
                kind: DocKind::Household,
                grid: grid(G2),
                reason: REASON.into(),
                at: NOW,
                changes: 1,
                whole_record: true,
            }]
        );
        // Refusing again (a repeated acknowledgement) changes nothing.
        r.refuse(&[RefusedChange {
            seq: refused[0],
            doc: outside.clone(),
            hash: [0; 32],
            reason: "again".into(),
        }])
        .expect("refuse again");
        assert_eq!(r.pending().expect("pending"), after);
        drop(r);

        let r = b.open();
        assert_eq!(
            r.pending().expect("pending"),
            after,
            "counts survive a reopen"
        );
        assert_eq!(r.refused().expect("refused"), listed);
        assert_eq!(outbox(&r).len(), 1);
        // The refused entry's seq is never reused, even when it was the last one.
        set_phone(&r, &inside, "13900002222");
        let seqs: Vec<u64> = outbox(&r).into_iter().map(|i| i.seq).collect();
        assert_eq!(seqs.len(), 2);
        assert!(seqs[1] > refused[0], "{seqs:?}");
        // Acknowledging what is pending leaves the refused count alone.
        r.acknowledge(&seqs, 1).expect("ack");
        assert_eq!(
            r.pending().expect("pending"),
            PendingSummary {
                changes: 0,
                bytes: 0,
                refused: 1
            }
        );
    }
}

#[test]
fn discarding_a_record_a_refused_change_created_deletes_it_and_nothing_else() {
    for b in Backing::all() {
        let r = b.open();
        let inside = register(&r, G1, "甲");
        let outside = register(&r, G2, "越界");
        set_phone(&r, &outside, "13900002222");
        refuse_all_of(&r, &outside);
        let kept = r.household(&inside).expect("inside");

        let gone = r.discard_refused(&outside).expect("discard");
        assert_eq!(
            gone,
            Discarded {
                doc: outside.clone(),
                kind: DocKind::Household,
                removed_changes: 2,
                dropped_pending: 0,
                deleted: true,
            }
        );
        assert!(matches!(r.household(&outside), Err(Error::NotFound { .. })));
        let listed: Vec<DocId> = (r.list_households(None).expect("list").into_iter())
            .map(|h| h.id)
            .collect();
        assert_eq!(listed, vec![inside.clone()]);
        assert_eq!(r.count_households(None).expect("count"), 1);
        assert_eq!(r.household(&inside).expect("inside"), kept);
        assert!(r.refused().expect("refused").is_empty());
        assert_eq!(
            r.pending().expect("pending"),
            PendingSummary {
                changes: 1,
                bytes: outbox(&r)[0].change.bytes.len() as u64,
                refused: 0
            }
        );
        assert!(matches!(
            r.discard_refused(&outside),
            Err(Error::Invalid { .. })
        ));
        assert!(matches!(
            r.discard_refused(&inside),
            Err(Error::Invalid { .. })
        ));
        drop(r);
        let store = refused_store(&b);
        assert_eq!(outbox_entries_of(store.as_ref(), &outside), 0);
        assert!(
            store
                .get(trees::DOCS, outside.as_str().as_bytes())
                .expect("get")
                .is_none()
        );
    }
}

#[test]
fn discarding_a_later_refused_change_keeps_what_the_relay_accepted() {
    for b in Backing::all() {
        let r = b.open();
        let h = register(&r, G1, "甲");
        let created: Vec<u64> = outbox(&r).into_iter().map(|i| i.seq).collect();
        r.acknowledge(&created, 1).expect("ack");
        set_phone(&r, &h, "13900002222");
        let refused = refuse_all_of(&r, &h);
        assert_eq!(refused.len(), 1);
        // Written after the refusal, built on the refused change: still pending.
        r.change_tier(&h, Tier::Red, "w-1", "低保户").expect("tier");
        assert_eq!(r.pending().expect("pending").changes, 1);
        assert!(!r.refused().expect("refused")[0].whole_record);

        let gone = r.discard_refused(&h).expect("discard");
        assert_eq!((gone.removed_changes, gone.dropped_pending), (2, 1));
        assert!(!gone.deleted);
        let now = r.household(&h).expect("household");
        assert_eq!(now.phone, "13800001111", "the accepted phone is back");
        assert_eq!(now.tier, Tier::Green);
        assert_eq!(now.head, "甲");
        assert_eq!(
            r.record_sync_state(&h).expect("state"),
            RecordSyncState::Acknowledged
        );
        assert_eq!(r.pending().expect("pending"), PendingSummary::default());
        let listed = r.list_households(None).expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].tier, Tier::Green, "indexed from what remains");
        drop(r);
        let r = b.open();
        assert_eq!(r.household(&h).expect("reopened").phone, "13800001111");
        // The record takes new changes and pushes them.
        set_phone(&r, &h, "13700003333");
        assert_eq!(outbox(&r).len(), 1);
        assert_eq!(r.household(&h).expect("household").phone, "13700003333");
    }
}

#[test]
fn pending_changes_not_built_on_the_refused_one_stay_pending_after_a_discard() {
    for b in Backing::all() {
        let r = b.open();
        let h = register(&r, G1, "甲");
        set_phone(&r, &h, "13900002222");
        let items = outbox(&r);
        assert_eq!(items.len(), 2);
        // Only the second (the edit) is refused; the registration is not yet pushed.
        r.refuse(&[RefusedChange {
            seq: items[1].seq,
            doc: h.clone(),
            hash: items[1].change.hash,
            reason: REASON.into(),
        }])
        .expect("refuse");
        let gone = r.discard_refused(&h).expect("discard");
        assert_eq!((gone.removed_changes, gone.dropped_pending), (1, 0));
        let left = outbox(&r);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].seq, items[0].seq);
        assert_eq!(left[0].change.bytes, items[0].change.bytes);
        assert_eq!(
            r.record_sync_state(&h).expect("state"),
            RecordSyncState::Pending
        );
        assert_eq!(r.household(&h).expect("household").phone, "13800001111");
    }
}

#[test]
fn a_visit_with_a_refused_change_is_not_retired() {
    for b in Backing::all() {
        let r = b.open();
        let h = register(&r, G1, "甲");
        let visit = r
            .log_visit(&NewVisit {
                household: h.clone(),
                worker: "w-1".into(),
                at: NOW - 400 * crate::ids::DAY_MS,
                mode: VisitMode::DoorToDoor,
                notes: "入户走访".into(),
                findings: vec![],
                follow_ups: vec![],
                geo: None,
            })
            .expect("visit");
        let created: Vec<u64> = (outbox(&r).into_iter())
            .filter(|i| i.change.doc == h)
            .map(|i| i.seq)
            .collect();
        r.acknowledge(&created, 1).expect("ack");
        refuse_all_of(&r, &visit);
        assert_eq!(r.retire_visits_before(NOW).expect("retire"), 0);
        assert!(r.visit(&visit).is_ok());
        let gone = r.discard_refused(&visit).expect("discard");
        assert!(gone.deleted);
        assert!(r.visits_of(&h, 10).expect("visits").is_empty());
    }
}

#[test]
fn a_version_3_store_opens_with_no_refused_changes_and_its_pending_count_kept() {
    let store = Arc::new(MemoryStore::new());
    let b = Backing::Memory(store.clone());
    let r = b.open();
    register(&r, G1, "甲");
    let before = r.pending().expect("pending");
    drop(r);
    // As a version 3 build left it: no refused count in meta.
    let mut batch = crate::store::Batch::new();
    batch.delete(trees::META, b"outbox_refused".to_vec());
    store.commit(batch).expect("commit");
    super::schema::set_version(store.as_ref(), 3).expect("downgrade");

    let r = b.open();
    assert_eq!(
        super::schema::read_version(store.as_ref()).expect("version"),
        Some(super::SCHEMA_VERSION)
    );
    assert_eq!(r.pending().expect("pending"), before);
    assert_eq!(before.refused, 0);
    assert!(
        store
            .get(trees::META, b"outbox_refused")
            .expect("get")
            .is_some()
    );
}
