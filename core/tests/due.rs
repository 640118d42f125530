//! What the due list holds: households whose tier interval ran out, households with an
//! open follow-up, never a retired household; and what a worker may not log (a visit in the
//! future, a visit to a retired household). On the in-memory store and on sled.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use gridsync_core::model::{FollowUp, Tier};
use gridsync_core::store::{Batch, SledOptions, SledStore, Store, trees};
use gridsync_core::{DAY_MS, DocId, Error, Replica, ReplicaConfig};

fn due_ids(r: &Replica, now: i64, horizon_days: u32) -> Vec<DocId> {
    r.due_visits(Some("w"), now, horizon_days)
        .unwrap()
        .into_iter()
        .map(|d| d.household)
        .collect()
}

/// A green household visited at T0 (due again by its tier at T0 + 90 days), with a visit
/// that planned "送药上门" for T0 + 5 days.
fn green_with_follow_up(r: &Replica) -> (DocId, DocId) {
    let h = r
        .register_household(&household("王秀英", Tier::Green, "w"), "w")
        .unwrap();
    let mut v = visit(&h, "w", T0);
    v.follow_ups = vec![
        FollowUp {
            text: "送药上门".into(),
            due: T0 + 5 * DAY_MS,
            done: false,
        },
        FollowUp {
            text: "回访低保材料".into(),
            due: T0 + 20 * DAY_MS,
            done: false,
        },
    ];
    let visit = r.log_visit(&v).unwrap();
    (h, visit)
}

#[test]
fn an_open_follow_up_makes_its_household_due_until_it_is_ticked() {
    let clock = TestClock::new(T0);
    let r = memory_replica("p", &clock);
    let (h, visit) = green_with_follow_up(&r);
    assert!(due_ids(&r, T0 + DAY_MS, 0).is_empty(), "nothing due yet");
    assert_eq!(
        due_ids(&r, T0 + DAY_MS, 7),
        std::slice::from_ref(&h),
        "due within a week"
    );

    let now = T0 + 6 * DAY_MS;
    let due = r.due_visits(Some("w"), now, 0).unwrap();
    assert_eq!(
        due.len(),
        1,
        "the overdue follow-up brings the household in"
    );
    let f = due[0].follow_up.as_ref().unwrap();
    assert_eq!(
        (f.text.as_str(), f.index, &f.visit),
        ("送药上门", 0, &visit)
    );
    assert_eq!((due[0].due_at, due[0].days_overdue), (T0 + 5 * DAY_MS, 1));

    r.set_follow_up_done(&visit, 0, true).unwrap();
    assert!(due_ids(&r, now, 0).is_empty(), "ticked: not due any more");
    // The second follow-up comes due in its turn, and unticking brings the first back.
    let later = r.due_visits(Some("w"), T0 + 21 * DAY_MS, 0).unwrap();
    assert_eq!(later[0].follow_up.as_ref().unwrap().text, "回访低保材料");
    r.set_follow_up_done(&visit, 0, false).unwrap();
    let again = r.due_visits(Some("w"), T0 + 21 * DAY_MS, 0).unwrap();
    assert_eq!(again[0].follow_up.as_ref().unwrap().text, "送药上门");
}

#[test]
fn a_visit_dated_in_the_future_is_refused_and_writes_nothing() {
    let clock = TestClock::new(T0);
    let r = memory_replica("p", &clock);
    let h = r
        .register_household(&household("张", Tier::Red, "w"), "w")
        .unwrap();
    let before = r.pending().unwrap();
    let e = r
        .log_visit(&visit(&h, "w", T0 + 4 * 365 * DAY_MS))
        .unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, problem } if field == "visit time" && problem.contains("1460 days")),
        "{e}"
    );
    assert_eq!(r.pending().unwrap(), before);
    // Within the clock skew the relay allows, a visit is fine.
    r.log_visit(&visit(&h, "w", T0 + 5 * 60 * 1000)).unwrap();
}

#[test]
fn a_retired_duplicate_leaves_lists_and_due_and_takes_no_visits() {
    let clock = TestClock::new(T0);
    let r = memory_replica("p", &clock);
    let kept = r
        .register_household(&household("王秀英", Tier::Red, "w"), "w")
        .unwrap();
    let twice = r
        .register_household(&household("王秀英", Tier::Red, "w"), "w")
        .unwrap();
    clock.advance_days(30);
    assert_eq!(due_ids(&r, clock.now(), 0).len(), 2);

    r.retire_household(&twice, Some(&kept), "").unwrap();
    let listed: Vec<DocId> = r
        .list_households(None)
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(listed, std::slice::from_ref(&kept));
    assert_eq!(r.retired_households(None).unwrap()[0].id, twice);
    assert_eq!(due_ids(&r, clock.now(), 0), std::slice::from_ref(&kept));
    let ret = r.household(&twice).unwrap().retired.unwrap();
    assert_eq!(
        (ret.by.as_str(), ret.duplicate_of.as_ref()),
        ("p", Some(&kept))
    );

    let e = r.log_visit(&visit(&twice, "w", clock.now())).unwrap_err();
    assert!(
        e.to_string().contains(kept.as_str()),
        "names the one kept: {e}"
    );
    assert!(matches!(
        r.retire_household(&twice, Some(&kept), ""),
        Err(Error::Invalid { .. })
    ));

    r.reinstate_household(&twice).unwrap();
    assert_eq!(r.list_households(None).unwrap().len(), 2);
    r.log_visit(&visit(&twice, "w", clock.now())).unwrap();
}

#[test]
fn a_retirement_that_makes_no_sense_is_refused_and_writes_nothing() {
    let clock = TestClock::new(T0);
    let r = memory_replica("p", &clock);
    let a = r
        .register_household(&household("甲", Tier::Red, "w"), "w")
        .unwrap();
    let b = r
        .register_household(&household("乙", Tier::Red, "w"), "w")
        .unwrap();
    let mut elsewhere = household("丙", Tier::Red, "w");
    elsewhere.grid = gridsync_core::GridPath::parse("ankang/hanbin/laocheng/xinhua/g04").unwrap();
    let c = r.register_household(&elsewhere, "w").unwrap();
    let before = r.pending().unwrap();
    let invalid = |res: gridsync_core::Result<()>, field: &str| match res {
        Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field),
        other => panic!("expected invalid {field}, got {other:?}"),
    };
    invalid(r.retire_household(&a, Some(&a), ""), "duplicate_of");
    invalid(r.retire_household(&a, Some(&c), ""), "duplicate_of");
    invalid(r.retire_household(&a, None, "  "), "reason");
    invalid(r.reinstate_household(&a), "household");
    r.retire_household(&b, None, "搬走了").unwrap();
    invalid(r.retire_household(&a, Some(&b), ""), "duplicate_of");
    assert_eq!(r.pending().unwrap().changes, before.changes + 1);
}

#[test]
fn a_version_4_store_indexes_its_follow_ups_and_retirements_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::new(T0);
    let open = || {
        let store: Arc<dyn Store> =
            Arc::new(SledStore::open(dir.path(), SledOptions::default()).unwrap());
        Replica::open_with(store, "p", ReplicaConfig::default())
            .unwrap()
            .with_clock(clock.clock())
    };
    let r = open();
    let (h, _) = green_with_follow_up(&r);
    let gone = r
        .register_household(&household("李", Tier::Green, "w"), "w")
        .unwrap();
    r.retire_household(&gone, None, "去世").unwrap();
    assert_eq!(due_ids(&r, T0 + 6 * DAY_MS, 0), std::slice::from_ref(&h));
    // Leave the store as a version 4 build knew it: no follow-up entries, and the
    // retired household listed.
    let store = r.store().clone();
    drop(r);
    let mut b = Batch::new();
    b.put(
        trees::META,
        b"schema_version".to_vec(),
        4u32.to_be_bytes().to_vec(),
    );
    for (k, _) in store
        .scan(trees::INDEX, gridsync_core::store::Scan::prefix(b"F\0"))
        .unwrap()
    {
        b.delete(trees::INDEX, k);
    }
    store.commit(b).unwrap();
    drop(store);
    let r = open();
    assert_eq!(due_ids(&r, T0 + 6 * DAY_MS, 0), [h]);
    assert_eq!(r.list_households(None).unwrap().len(), 1);
    assert_eq!(r.retired_households(None).unwrap()[0].id, gone);
}
