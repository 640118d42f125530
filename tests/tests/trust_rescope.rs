//! Reassigning a worker without a device reset (issue 13, item 6), over real QUIC with a
//! real relay and sled handsets: a worker moved from g05 to g06 holds g06's existing records
//! after one sync (pulled from their start by a narrowed bootstrap, in several batches),
//! pushes the work it did in g05 before it learned, and then holds no g05 record. Nothing
//! typed is lost: the g05 work reaches the worker who stays there.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use gridsync_core::model::{Address, NewHousehold, NewVisit, Tier, VisitMode};
use gridsync_core::net::SyncClient;
use gridsync_core::{DocId, GridPath, Replica};
use gridsync_tests::relay::{Handset, TestRelay, all_roles};

const G05: &str = "ankang/hanbin/laocheng/xinhua/g05";
const G06: &str = "ankang/hanbin/laocheng/xinhua/g06";
/// Households already registered in g06 before the move: enough for several batches.
const G06_HOUSEHOLDS: usize = 30;
const T0: i64 = 1_772_323_200_000;

fn household(grid: &str, head: String) -> NewHousehold {
    NewHousehold {
        grid: GridPath::parse(grid).unwrap(),
        address: Address::Urban {
            building: "6栋".into(),
            unit: "2单元".into(),
            room: "302".into(),
        },
        head,
        members: vec![],
        phone: String::new(),
        tier: Tier::Yellow,
        tags: vec![],
        contacts: vec![],
    }
}

fn visit(r: &Replica, h: &DocId, n: i64) -> DocId {
    r.log_visit(&NewVisit {
        household: h.clone(),
        worker: String::new(),
        at: T0 + n,
        mode: VisitMode::DoorToDoor,
        notes: format!(
            "第{n}次入户走访：老人身体尚可，家中用电线路老化，已提醒更换。{}",
            "记录".repeat(60)
        ),
        findings: vec![],
        follow_ups: vec![],
        geo: None,
    })
    .unwrap()
}

fn households(r: &Replica) -> Vec<(String, String)> {
    let mut v: Vec<_> = (r.list_households(None).unwrap().into_iter())
        .map(|h| (h.id.to_string(), h.grid.to_string()))
        .collect();
    v.sort();
    v
}

/// One sync of `h`, which must finish within 60 s (a stalled session fails the test).
async fn sync(h: &Handset, what: &str) -> gridsync_core::net::SyncReport {
    let r = tokio::time::timeout(std::time::Duration::from_secs(60), h.client.sync_once()).await;
    r.unwrap_or_else(|_| panic!("sync of {what} stalled"))
        .unwrap()
}

/// Registers `n` households with one visit each in `grid` on `h`; returns their ids.
fn register(h: &Handset, grid: &str, n: usize, name: &str) -> Vec<DocId> {
    (0..n)
        .map(|i| {
            let id = h
                .replica
                .register_household(&household(grid, format!("{name}{i}")), "")
                .unwrap();
            visit(&h.replica, &id, i as i64);
            id
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_moved_to_another_grid_gets_its_records_and_retires_the_old_ones() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(&tmp.path().join("relay")).await.unwrap();
    let li = relay.handset(tmp.path(), "li", &[G05]).unwrap();
    let zhao = relay.handset(tmp.path(), "zhao", &[G06]).unwrap();
    // The worker who moves: small pulls (4 KiB), so the bootstrap takes several batches.
    let grants = all_roles("wang", &[G05]).unwrap();
    let token = relay.enroll_as("wang", &grants).unwrap();
    let replica = Arc::new(Replica::open(&tmp.path().join("wang"), "wang").unwrap());
    replica.store_grants(&grants).unwrap();
    let client = SyncClient::new(replica.clone(), relay.target(&token))
        .unwrap()
        .with_batch_bytes(64 * 1024, 4096);
    let wang = Handset { replica, client };

    let mut g05 = register(&wang, G05, 3, "王家");
    g05.extend(register(&li, G05, 2, "李家"));
    let g06 = register(&zhao, G06, G06_HOUSEHOLDS, "赵家");
    for (h, what) in [
        (&wang, "wang"),
        (&li, "li"),
        (&zhao, "zhao"),
        (&wang, "wang"),
    ] {
        sync(h, what).await;
    }
    assert_eq!(households(&wang.replica).len(), 5);

    // Offline, under the old grants: one more visit in g05. Then the operator moves wang.
    let late = visit(&wang.replica, &g05[3], 99);
    assert_eq!(wang.replica.pending().unwrap().changes, 1);
    relay
        .hub
        .rescope_device("wang", &[GridPath::parse(G06).unwrap()])
        .unwrap();

    // One sync: the late g05 visit is pushed and acknowledged, g06 arrives whole, g05 goes.
    let r = sync(&wang, "wang").await;
    assert!(r.caught_up, "{r:?}");
    assert_eq!(
        (r.pushed, r.acknowledged, r.refused.len()),
        (1, 1, 0),
        "{r:?}"
    );
    let held = households(&wang.replica);
    let mut want: Vec<_> = g06
        .iter()
        .map(|id| (id.to_string(), G06.to_string()))
        .collect();
    want.sort();
    println!(
        "after one sync: {} g06 households held of {G06_HOUSEHOLDS}, {} g05 records held, {} entries pulled",
        held.iter().filter(|(_, g)| g == G06).count(),
        held.iter().filter(|(_, g)| g == G05).count(),
        r.entries
    );
    assert_eq!(held, want, "exactly g06's households");
    for id in &g06 {
        assert_eq!(wang.replica.visits_of(id, 10).unwrap().len(), 1, "{id}");
    }
    for id in g05.iter().chain([&late]) {
        let gone = wang.replica.heads(id).unwrap_err();
        assert!(
            matches!(gone, gridsync_core::Error::NotFound { .. }),
            "{id}: {gone}"
        );
    }
    assert_eq!(wang.replica.pending().unwrap().changes, 0);
    assert!(wang.replica.bootstrap().unwrap().is_none());
    assert!(wang.replica.retiring().unwrap().is_empty());

    // Nothing typed was lost: the late visit reached the worker who stays in g05.
    sync(&li, "li").await;
    assert_eq!(li.replica.visits_of(&g05[3], 10).unwrap().len(), 2);

    // From now on wang writes in g06, not in g05, and follows g06 on the main cursor.
    let e = wang
        .replica
        .register_household(&household(G05, "越界".into()), "")
        .unwrap_err();
    assert!(matches!(e, gridsync_core::Error::NotPermitted(_)), "{e}");
    let mine = register(&wang, G06, 1, "新户")[0].clone();
    let theirs = register(&zhao, G06, 1, "后来户")[0].clone();
    sync(&zhao, "zhao").await;
    let r = sync(&wang, "wang").await;
    assert_eq!((r.acknowledged, r.refused.len()), (2, 0), "{r:?}");
    sync(&zhao, "zhao").await;
    assert!(
        households(&wang.replica)
            .iter()
            .any(|(id, _)| *id == theirs.to_string())
    );
    assert!(
        households(&zhao.replica)
            .iter()
            .any(|(id, _)| *id == mine.to_string())
    );
    relay.stop().await;
}
