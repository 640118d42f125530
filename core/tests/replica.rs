//! The replica façade end to end, on the in-memory store and on sled.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use gridsync_core::model::{HouseholdUpdate, Role, Tier, TriageClass};
use gridsync_core::replica::SCHEMA_VERSION;
use gridsync_core::replica::{CaseActionInput, CaseFilter, ChangeObserver, ChangeOrigin};
use gridsync_core::store::{SledOptions, SledStore, Store, trees};
use gridsync_core::workflow::{ActionKind, CaseStatus};
use gridsync_core::{DAY_MS, DocId, DocKind, Error, Replica, ReplicaConfig};

fn docs(r: &Replica) -> usize {
    r.store().len(trees::DOCS).unwrap()
}

#[test]
fn households_round_trip_and_bad_input_writes_nothing() {
    let clock = TestClock::new(T0);
    let r = memory_replica("phone-1", &clock);
    let id = r
        .register_household(&household("王秀英", Tier::Red, "w-li"), "w-li")
        .unwrap();
    let h = r.household(&id).unwrap();
    assert_eq!(
        (h.head.as_str(), h.tier, h.grid.clone()),
        ("王秀英", Tier::Red, grid())
    );
    assert_eq!(h.tags, ["独居", "留守老人"]);
    assert_eq!(h.tier_history.len(), 1);
    assert_eq!(r.list_households(Some(&grid())).unwrap().len(), 1);
    assert_eq!(r.pending().unwrap().changes, 1);

    let before = (docs(&r), r.pending().unwrap());
    let mut bad = household("  ", Tier::Green, "w-li");
    let e = r.register_household(&bad, "w-li").unwrap_err();
    assert_eq!(e.to_string(), "invalid head: must not be empty");
    bad.head = "李四".into();
    bad.phone = "call me".into();
    assert!(
        matches!(r.register_household(&bad, "w-li"), Err(Error::Invalid { field, .. }) if field == "phone")
    );
    let unknown = DocId::new(DocKind::Household);
    let e = r.log_visit(&visit(&unknown, "w-li", T0)).unwrap_err();
    assert_eq!(e.to_string(), format!("unknown household {unknown}"));
    let mut empty_notes = visit(&id, "w-li", T0);
    empty_notes.notes = " ".into();
    assert!(
        matches!(r.log_visit(&empty_notes), Err(Error::Invalid { field, .. }) if field == "notes")
    );
    assert_eq!(
        (docs(&r), r.pending().unwrap()),
        before,
        "a refused call wrote something"
    );
}

#[test]
fn tier_changes_are_kept_and_update_edits_fields() {
    let clock = TestClock::new(T0);
    let r = memory_replica("phone-1", &clock);
    let id = r
        .register_household(&household("张建国", Tier::Green, "w-li"), "w-li")
        .unwrap();
    clock.advance_days(10);
    r.change_tier(&id, Tier::Yellow, "w-li", "家庭收入下降")
        .unwrap();
    let update = HouseholdUpdate {
        phone: Some("13800001111".into()),
        add_tags: vec!["低收入".into()],
        ..Default::default()
    };
    r.update_household(&id, &update).unwrap();
    let h = r.household(&id).unwrap();
    assert_eq!(h.tier, Tier::Yellow);
    assert_eq!(
        h.tier_history.iter().map(|c| c.tier).collect::<Vec<_>>(),
        [Tier::Green, Tier::Yellow]
    );
    assert_eq!(h.tier_history[1].reason, "家庭收入下降");
    assert_eq!(
        (h.phone.as_str(), h.tags.clone()),
        ("13800001111", vec!["低收入".to_string()])
    );
    assert_eq!(
        r.list_households(None).unwrap()[0].tier,
        Tier::Yellow,
        "index follows the document"
    );
}

#[test]
fn due_visits_most_urgent_first_and_logging_updates_them() {
    let clock = TestClock::new(T0 + DAY_MS);
    let r = memory_replica("phone-1", &clock);
    let red = r
        .register_household(&household("红", Tier::Red, "w-li"), "w-li")
        .unwrap();
    let yellow = r
        .register_household(&household("黄", Tier::Yellow, "w-li"), "w-li")
        .unwrap();
    let green = r
        .register_household(&household("绿", Tier::Green, "w-li"), "w-li")
        .unwrap();
    let other = r
        .register_household(&household("别人的", Tier::Red, "w-wang"), "w-wang")
        .unwrap();
    r.log_visit(&visit(&red, "w-li", T0 + DAY_MS)).unwrap();
    r.log_visit(&visit(&yellow, "w-li", T0 + DAY_MS)).unwrap();
    r.log_visit(&visit(&green, "w-li", T0 + DAY_MS)).unwrap();
    let now = T0 + 40 * DAY_MS;
    let due = r.due_visits(Some("w-li"), now, 0).unwrap();
    assert_eq!(
        due.iter().map(|d| d.household.clone()).collect::<Vec<_>>(),
        [red.clone(), yellow.clone()]
    );
    assert_eq!(due[0].days_overdue, 32);
    assert!(
        r.due_visits(None, now, 0)
            .unwrap()
            .iter()
            .any(|d| d.household == other)
    );
    clock.advance_days(39);
    r.log_visit(&visit(&red, "w-li", now)).unwrap();
    let due = r.due_visits(Some("w-li"), now, 0).unwrap();
    assert_eq!(
        due.iter().map(|d| d.household.clone()).collect::<Vec<_>>(),
        [yellow]
    );
    let history = r.visits_of(&red, 10).unwrap();
    assert_eq!(
        history.iter().map(|v| v.at).collect::<Vec<_>>(),
        [now, T0 + DAY_MS],
        "newest first"
    );
    assert_eq!(r.visits_in(&grid(), T0, T0 + 2 * DAY_MS).unwrap().len(), 3);
}

#[test]
fn case_workflow_through_the_replica() {
    let clock = TestClock::new(T0);
    let r = memory_replica("phone-1", &clock);
    let id = r.report_case(&case("w-li", T0)).unwrap();
    let act = |role, kind| CaseActionInput {
        actor: "staff-1".into(),
        role,
        at: None,
        kind,
    };
    let before = r.pending().unwrap();
    let e = r
        .act_on_case(&id, &act(Role::GridWorker, ActionKind::Accept))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "case action refused: a grid_worker may not accept a case"
    );
    assert_eq!(
        r.pending().unwrap(),
        before,
        "a refused action wrote something"
    );
    r.act_on_case(&id, &act(Role::CommunityStaff, ActionKind::Accept))
        .unwrap();
    let triage = ActionKind::Triage {
        class: TriageClass::Small,
        level: None,
        deadline: None,
        assignee: Some("w-li".into()),
    };
    let c = r
        .act_on_case(&id, &act(Role::CommunityStaff, triage))
        .unwrap();
    assert_eq!(c.state.status, CaseStatus::Triaged);
    assert_eq!(c.state.deadline, Some(T0 + 7 * DAY_MS));
    assert_eq!(
        r.list_cases(&CaseFilter {
            open_only: true,
            ..Default::default()
        })
        .unwrap()
        .len(),
        1
    );
    assert!(
        r.list_cases(&CaseFilter {
            overdue_at: Some(T0 + DAY_MS),
            ..Default::default()
        })
        .unwrap()
        .is_empty()
    );
    assert_eq!(
        r.list_cases(&CaseFilter {
            overdue_at: Some(T0 + 8 * DAY_MS),
            ..Default::default()
        })
        .unwrap()
        .len(),
        1
    );
    r.act_on_case(&id, &act(Role::GridWorker, ActionKind::Start))
        .unwrap();
    r.act_on_case(
        &id,
        &act(
            Role::GridWorker,
            ActionKind::Resolve {
                summary: "已清理".into(),
            },
        ),
    )
    .unwrap();
    let c = r
        .act_on_case(
            &id,
            &act(
                Role::Supervisor,
                ActionKind::Evaluate {
                    satisfied: true,
                    comment: "满意".into(),
                },
            ),
        )
        .unwrap();
    assert_eq!(c.state.status, CaseStatus::Closed);
    assert_eq!(c.timeline.len(), 6);
    assert!(
        r.list_cases(&CaseFilter {
            open_only: true,
            ..Default::default()
        })
        .unwrap()
        .is_empty()
    );
    let closed = r
        .list_cases(&CaseFilter {
            status: Some(CaseStatus::Closed),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].class, Some(TriageClass::Small));
}

struct Recorder(std::sync::Mutex<Vec<(Vec<DocId>, ChangeOrigin)>>);
impl ChangeObserver for Recorder {
    fn changed(&self, docs: &[DocId], origin: ChangeOrigin) {
        self.0.lock().unwrap().push((docs.to_vec(), origin));
    }
}

#[test]
fn observers_hear_local_changes() {
    let clock = TestClock::new(T0);
    let r = memory_replica("phone-1", &clock);
    let rec = Arc::new(Recorder(Default::default()));
    r.observe(rec.clone());
    let id = r
        .register_household(&household("王", Tier::Green, "w"), "w")
        .unwrap();
    assert_eq!(
        *rec.0.lock().unwrap(),
        vec![(vec![id], ChangeOrigin::Local)]
    );
}

#[test]
fn sled_replica_reopens_with_everything_and_a_bounded_cache() {
    let dir = tempfile::tempdir().unwrap();
    let (hid, cid);
    {
        let r = Replica::open(dir.path(), "phone-1").unwrap();
        hid = r
            .register_household(&household("王", Tier::Red, "w"), "w")
            .unwrap();
        for i in 0..200 {
            r.log_visit(&visit(&hid, "w", T0 + i)).unwrap();
        }
        cid = r.report_case(&case("w", T0)).unwrap();
        assert!(r.loaded_docs() <= ReplicaConfig::default().cache_docs);
    }
    let r = Replica::open(dir.path(), "phone-1").unwrap();
    assert_eq!(r.loaded_docs(), 0, "open loads no document");
    assert_eq!(r.visits_of(&hid, usize::MAX).unwrap().len(), 200);
    assert_eq!(r.case(&cid).unwrap().title, "楼道堆放杂物");
    assert_eq!(r.pending().unwrap().changes, 202);
    let e = Replica::open(dir.path(), "phone-2");
    assert!(e.is_err(), "a second device took over the store");
}

#[test]
fn corrupt_document_is_an_error_not_a_panic() {
    let clock = TestClock::new(T0);
    let r = memory_replica("phone-1", &clock);
    let id = r
        .register_household(&household("王", Tier::Red, "w"), "w")
        .unwrap();
    let mut b = gridsync_core::store::Batch::new();
    b.put(
        trees::DOCS,
        id.as_str().as_bytes().to_vec(),
        b"not automerge at all".to_vec(),
    );
    r.store().commit(b).unwrap();
    // The cached copy is fine; a fresh replica over the same store must read from disk.
    let r2 = Replica::open_with(r.store().clone(), "phone-1", ReplicaConfig::default()).unwrap();
    let e = r2.household(&id).unwrap_err();
    assert!(matches!(e, Error::Corrupt { .. }), "{e}");
}

#[test]
fn lost_index_is_rebuilt_by_migration() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SledStore::open(dir.path(), SledOptions::default()).unwrap());
    let r = Replica::open_with(store.clone(), "p", ReplicaConfig::default()).unwrap();
    let hid = r
        .register_household(&household("王", Tier::Red, "w"), "w")
        .unwrap();
    r.log_visit(&visit(&hid, "w", T0)).unwrap();
    drop(r);
    gridsync_core::replica::testing::forget_version_and_index(store.as_ref()).unwrap();
    assert_eq!(store.len(trees::INDEX).unwrap(), 0);
    let r = Replica::open_with(store, "p", ReplicaConfig::default()).unwrap();
    assert_eq!(r.list_households(None).unwrap().len(), 1);
    assert_eq!(r.visits_of(&hid, 10).unwrap().len(), 1);
}

#[test]
fn a_version_1_store_gains_latest_visit_entries_and_due_visits_stay_right() {
    let clock = TestClock::new(T0);
    let r = memory_replica("p", &clock);
    let red = r
        .register_household(&household("王", Tier::Red, "w"), "w")
        .unwrap();
    let other = r
        .register_household(&household("李", Tier::Red, "w"), "w")
        .unwrap();
    // `red` was visited today, `other` 30 days ago: only `other` is due.
    r.log_visit(&visit(&red, "w", T0)).unwrap();
    r.log_visit(&visit(&other, "w", T0 - 30 * DAY_MS)).unwrap();
    let due_ids = |r: &Replica| -> Vec<DocId> {
        r.due_visits(Some("w"), T0, 0)
            .unwrap()
            .into_iter()
            .map(|d| d.household)
            .collect()
    };
    assert_eq!(due_ids(&r), vec![other.clone()]);
    let store = r.store().clone();
    drop(r);
    gridsync_core::replica::testing::downgrade_to_version_1(store.as_ref()).unwrap();
    let r = Replica::open_with(store.clone(), "p", ReplicaConfig::default()).unwrap();
    assert_eq!(due_ids(&r), vec![other]);
    assert_eq!(
        store.get(trees::META, b"schema_version").unwrap(),
        Some(SCHEMA_VERSION.to_be_bytes().to_vec())
    );
}

#[test]
fn retiring_a_households_newest_visits_moves_its_latest_visit_back() {
    let clock = TestClock::new(T0);
    let r = memory_replica("p", &clock);
    let old_only = r
        .register_household(&household("王", Tier::Red, "w"), "w")
        .unwrap();
    let recent = r
        .register_household(&household("李", Tier::Red, "w"), "w")
        .unwrap();
    r.log_visit(&visit(&old_only, "w", T0 - 100 * DAY_MS))
        .unwrap();
    r.log_visit(&visit(&old_only, "w", T0 - 50 * DAY_MS))
        .unwrap();
    r.log_visit(&visit(&recent, "w", T0 - 60 * DAY_MS)).unwrap();
    r.log_visit(&visit(&recent, "w", T0 - DAY_MS)).unwrap();
    // The relay acknowledged everything, so old visits may be retired.
    let seqs: Vec<u64> = r
        .outbox_after(None, usize::MAX)
        .unwrap()
        .iter()
        .map(|i| i.seq)
        .collect();
    r.acknowledge(&seqs, 1).unwrap();
    assert_eq!(r.retire_visits_before(T0 - 10 * DAY_MS).unwrap(), 3);
    let due = r.due_visits(Some("w"), T0, 0).unwrap();
    let last = |id: &DocId| {
        due.iter()
            .find(|d| &d.household == id)
            .map(|d| d.last_visit)
    };
    // With its visits gone, `old_only` counts as never visited; `recent` keeps yesterday.
    assert_eq!(last(&old_only), Some(None));
    assert_eq!(last(&recent), None, "visited yesterday, not due");
    let later = r.due_visits(Some("w"), T0 + 30 * DAY_MS, 0).unwrap();
    let recent_due = later.iter().find(|d| d.household == recent).unwrap();
    assert_eq!(recent_due.last_visit, Some(T0 - DAY_MS));
}

#[test]
fn the_outbox_count_survives_reopening_without_reading_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        let store: Arc<dyn Store> =
            Arc::new(SledStore::open(dir.path(), SledOptions::default()).unwrap());
        Replica::open_with(store, "p", ReplicaConfig::default()).unwrap()
    };
    let r = open();
    let hid = r
        .register_household(&household("王", Tier::Red, "w"), "w")
        .unwrap();
    for i in 0..5 {
        r.log_visit(&visit(&hid, "w", T0 + i)).unwrap();
    }
    let before = r.pending().unwrap();
    assert_eq!(before.changes, 6);
    let first_two: Vec<u64> = r
        .outbox_after(None, usize::MAX)
        .unwrap()
        .iter()
        .take(2)
        .map(|i| i.seq)
        .collect();
    r.acknowledge(&first_two, 1).unwrap();
    let after = r.pending().unwrap();
    assert_eq!(after.changes, 4);
    drop(r);
    let r = open();
    assert_eq!(r.pending().unwrap(), after);
    // A store from before the count was kept: counted from the outbox once.
    let store = r.store().clone();
    drop(r);
    let mut b = gridsync_core::store::Batch::new();
    b.delete(trees::META, b"outbox_pending".to_vec());
    store.commit(b).unwrap();
    let r = Replica::open_with(store, "p", ReplicaConfig::default()).unwrap();
    assert_eq!(r.pending().unwrap(), after);
}
