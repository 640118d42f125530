//! Copies of one handset store (issue 12, item 4), over QUIC to a real relay: a store
//! copied to a second phone (two clones of one device, one token), and a store restored on
//! its phone from an older copy after it had gone on working. Each copy writes offline to
//! the same household and its own visits, then syncs: nothing is refused, and every copy
//! ends with every change any of them made (each open writes as an actor of its own, so no
//! two copies ever use one actor and sequence number for different changes, ADR 0014; the
//! relay leaves out of a pull only what that connection pushed, not the device's work).

#![allow(clippy::unwrap_used)]

use gridsync_core::store::testing::copy_dir;

use gridsync_core::DocId;
use gridsync_core::model::{HouseholdUpdate, NewVisit, VisitMode};
use gridsync_tests::netem::harness::doc_heads;
use gridsync_tests::relay::{Handset, TestRelay};

const GRID: &str = "ankang/hanbin/laocheng/xinhua/g1";

fn household() -> gridsync_core::model::NewHousehold {
    gridsync_core::model::NewHousehold {
        grid: gridsync_core::GridPath::parse(GRID).unwrap(),
        address: gridsync_core::model::Address::Urban {
            building: "3栋".into(),
            unit: "2单元".into(),
            room: "501".into(),
        },
        head: "李桂英".into(),
        members: vec![],
        phone: String::new(),
        tier: gridsync_core::model::Tier::Yellow,
        tags: vec![],
        contacts: vec![],
    }
}

/// Offline work on `h`: the household's phone changed and `visits` visits logged.
fn work(h: &Handset, household: &DocId, phone: &str, visits: usize) {
    let update = HouseholdUpdate {
        phone: Some(phone.into()),
        ..HouseholdUpdate::default()
    };
    h.replica.update_household(household, &update).unwrap();
    for n in 0..visits {
        h.replica
            .log_visit(&NewVisit {
                household: household.clone(),
                worker: "phone".into(),
                at: 1_704_700_800_000 + n as i64,
                mode: VisitMode::Phone,
                notes: format!("{phone} 电话回访{n}"),
                findings: vec![],
                follow_ups: vec![],
                geo: None,
            })
            .unwrap();
    }
}

/// Syncs every handset twice round (the second round brings each what the others pushed
/// in the first); asserts nothing was refused and every handset holds the same records.
async fn converge(handsets: &[&Handset]) {
    for _ in 0..2 {
        for h in handsets {
            let r = h.client.sync_once().await.unwrap();
            assert!(r.refused.is_empty(), "refused: {:?}", r.refused);
        }
    }
    let first = doc_heads(&handsets[0].replica).unwrap();
    for h in handsets {
        assert_eq!(h.replica.pending().unwrap().changes, 0);
        assert_eq!(doc_heads(&h.replica).unwrap(), first, "the copies differ");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clones_of_one_store_converge_with_each_others_work() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(&tmp.path().join("relay")).await.unwrap();
    let token = relay.enroll("phone", &[GRID]).unwrap();
    let (dir_a, dir_b) = (tmp.path().join("a"), tmp.path().join("b"));
    let a = Handset::open(&dir_a, "phone", relay.target(&token)).unwrap();
    a.replica
        .store_grants(&gridsync_tests::relay::all_roles("phone", &[GRID]).unwrap())
        .unwrap();
    let h = a.replica.register_household(&household(), "phone").unwrap();
    a.client.sync_once().await.unwrap();
    drop(a);
    copy_dir(&dir_a, &dir_b).unwrap();
    let a = Handset::open(&dir_a, "phone", relay.target(&token)).unwrap();
    let b = Handset::open(&dir_b, "phone", relay.target(&token)).unwrap();
    work(&a, &h, "13800000001", 3);
    work(&b, &h, "13900000002", 4);
    converge(&[&a, &b]).await;
    let visits = a.replica.visits_of(&h, 100).unwrap();
    assert_eq!(visits.len(), 7, "both clones' visits on each");
    let (logged, hashes) = relay.log_counts().unwrap();
    assert_eq!(logged, hashes, "nothing logged twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_restored_from_an_older_copy_gets_its_later_work_back_and_writes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(&tmp.path().join("relay")).await.unwrap();
    let token = relay.enroll("phone", &[GRID]).unwrap();
    let (dir, copy) = (tmp.path().join("phone"), tmp.path().join("copy"));
    let p = Handset::open(&dir, "phone", relay.target(&token)).unwrap();
    p.replica
        .store_grants(&gridsync_tests::relay::all_roles("phone", &[GRID]).unwrap())
        .unwrap();
    let h = p.replica.register_household(&household(), "phone").unwrap();
    p.client.sync_once().await.unwrap();
    drop(p);
    copy_dir(&dir, &copy).unwrap();
    // The phone goes on working and syncs; then its store is restored from the copy.
    let p = Handset::open(&dir, "phone", relay.target(&token)).unwrap();
    work(&p, &h, "13800000001", 3);
    p.client.sync_once().await.unwrap();
    let before = doc_heads(&p.replica).unwrap();
    drop(p);
    std::fs::remove_dir_all(&dir).unwrap();
    copy_dir(&copy, &dir).unwrap();
    let restored = Handset::open(&dir, "phone", relay.target(&token)).unwrap();
    assert!(doc_heads(&restored.replica).unwrap().len() < before.len());
    // Offline work on the restored copy, to the same household, before its first sync.
    work(&restored, &h, "13900000002", 2);
    let other = relay.handset(tmp.path(), "other", &[GRID]).unwrap();
    converge(&[&restored, &other]).await;
    assert_eq!(restored.replica.visits_of(&h, 100).unwrap().len(), 5);
    let now = doc_heads(&restored.replica).unwrap();
    for doc in before.keys() {
        assert!(
            now.contains_key(doc),
            "the restored store did not get its later record {doc} back"
        );
    }
}
