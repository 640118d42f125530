//! Real quinn on 127.0.0.1, a real relay, sled handsets: offline work converges, scopes
//! hold, revocation cuts off, a bootstrap resumes.

use gridsync_core::model::{Address, NewHousehold, NewVisit, Tier, VisitMode};
use gridsync_core::{GridPath, Replica};
use gridsync_tests::relay::{Handset, TestRelay};

const G1: &str = "ankang/hanbin/laocheng/xinhua/g01";
const G2: &str = "ankang/hanbin/laocheng/xinhua/g02";
const COMMUNITY: &str = "ankang/hanbin/laocheng/xinhua";

fn household(grid: &str, head: &str) -> NewHousehold {
    NewHousehold {
        grid: GridPath::parse(grid).unwrap(),
        address: Address::Urban {
            building: "1栋".into(),
            unit: "1单元".into(),
            room: "101".into(),
        },
        head: head.into(),
        members: vec![],
        phone: String::new(),
        tier: Tier::Red,
        tags: vec![],
        contacts: vec!["w1".into()],
    }
}

fn visit(r: &Replica, h: &gridsync_core::DocId, n: i64) {
    r.log_visit(&NewVisit {
        household: h.clone(),
        worker: "w1".into(),
        at: 1_772_323_200_000 + n,
        mode: VisitMode::Phone,
        notes: format!("电话回访第{n}次，情况稳定。"),
        findings: vec![],
        follow_ups: vec![],
        geo: None,
    })
    .unwrap();
}

fn ids(r: &Replica) -> Vec<String> {
    let mut v: Vec<String> = r
        .list_households(None)
        .unwrap()
        .into_iter()
        .map(|h| h.id.to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_handsets_work_offline_then_converge() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(&tmp.path().join("relay")).await.unwrap();
    let mut hs = Vec::new();
    for i in 0..3 {
        let token = relay.enroll(&format!("phone-{i}"), &[G1]).unwrap();
        hs.push(
            Handset::open(
                &tmp.path().join(format!("h{i}")),
                &format!("phone-{i}"),
                relay.target(&token),
            )
            .unwrap(),
        );
    }
    for (i, h) in hs.iter().enumerate() {
        let id = h
            .replica
            .register_household(&household(G1, &format!("户主{i}")), "w1")
            .unwrap();
        for n in 0..5 {
            visit(&h.replica, &id, n);
        }
    }
    for h in &hs {
        let r = h.client.sync_once().await.unwrap();
        assert_eq!(r.acknowledged, 6, "{r:?}");
        assert_eq!(h.replica.pending().unwrap().changes, 0);
    }
    for h in &hs {
        h.client.sync_once().await.unwrap();
    }
    let first = ids(&hs[0].replica);
    assert_eq!(first.len(), 3);
    for h in &hs[1..] {
        assert_eq!(ids(&h.replica), first);
    }
    for h in &hs {
        for id in h.replica.list_households(None).unwrap() {
            assert_eq!(h.replica.visits_of(&id.id, 100).unwrap().len(), 5);
        }
    }
    relay.stop().await;
}
