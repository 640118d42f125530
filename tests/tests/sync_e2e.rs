//! Real quinn on 127.0.0.1, a real relay, sled handsets: offline work converges, scopes
//! hold, revocation cuts off, a bootstrap resumes.
#![allow(clippy::unwrap_used)]

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
        hs.push(
            relay
                .handset(tmp.path(), &format!("phone-{i}"), &[G1])
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_hold_both_ways() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(&tmp.path().join("relay")).await.unwrap();
    let h1 = relay.handset(tmp.path(), "w-g1", &[G1]).unwrap();
    let h2 = relay.handset(tmp.path(), "w-g2", &[G2]).unwrap();
    let hc = relay.handset(tmp.path(), "staff", &[COMMUNITY]).unwrap();
    let a = h1
        .replica
        .register_household(&household(G1, "甲"), "w1")
        .unwrap();
    let b = h2
        .replica
        .register_household(&household(G2, "乙"), "w2")
        .unwrap();
    visit(&h2.replica, &b, 1);
    h1.client.sync_once().await.unwrap();
    h2.client.sync_once().await.unwrap();
    hc.client.sync_once().await.unwrap();
    // Community staff see both grids.
    let mut seen = ids(&hc.replica);
    let mut want = vec![a.to_string(), b.to_string()];
    seen.sort();
    want.sort();
    assert_eq!(seen, want);
    // A grid worker never receives another grid's document, not even its id.
    h1.client.sync_once().await.unwrap();
    assert_eq!(ids(&h1.replica), vec![a.to_string()]);
    let store = h1.replica.store();
    for tree in [
        gridsync_core::store::trees::DOCS,
        gridsync_core::store::trees::INDEX,
    ] {
        for (k, v) in store
            .scan(tree, gridsync_core::store::Scan::prefix(b""))
            .unwrap()
        {
            let blob = [k, v].concat();
            assert!(
                !blob
                    .windows(b.as_str().len())
                    .any(|w| w == b.as_str().as_bytes()),
                "grid 2's id leaked into {tree}"
            );
        }
    }
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_scope_write_is_refused_and_stored_nowhere() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(&tmp.path().join("relay")).await.unwrap();
    let h1 = relay.handset(tmp.path(), "w-g1", &[G1]).unwrap();
    let inside = h1
        .replica
        .register_household(&household(G1, "甲"), "w1")
        .unwrap();
    // The handset knows its grants: a write outside them fails at the call.
    let e = h1
        .replica
        .register_household(&household(G2, "越界"), "w1")
        .unwrap_err();
    assert!(matches!(e, gridsync_core::Error::NotPermitted(_)), "{e}");
    assert_eq!(h1.replica.pending().unwrap().changes, 1);
    // A store that does not hold the grants (no identity at all) writes it anyway: the
    // relay refuses it over the wire and stores it nowhere.
    let token = relay.enroll("w-g1-loose", &[G1]).unwrap();
    let loose = Handset::open(&tmp.path().join("loose"), "loose", relay.target(&token)).unwrap();
    let outside = loose
        .replica
        .register_household(&household(G2, "越界"), "w-g1-loose")
        .unwrap();
    let r = h1.client.sync_once().await.unwrap();
    assert_eq!((r.acknowledged, r.refused.len()), (1, 0));
    let r = loose.client.sync_once().await.unwrap();
    assert_eq!(r.acknowledged, 0);
    assert_eq!(r.refused.len(), 1);
    assert!(
        r.refused[0].reason.contains("outside"),
        "{}",
        r.refused[0].reason
    );
    assert_eq!(relay.hub.document_count().unwrap(), 1);
    assert!(
        relay
            .hub
            .store()
            .get("rdocs", outside.as_str().as_bytes())
            .unwrap()
            .is_none()
    );
    assert!(
        relay
            .hub
            .store()
            .get("rdocs", inside.as_str().as_bytes())
            .unwrap()
            .is_some()
    );
    // The refused change is kept, marked refused, and not sent again: nothing the worker
    // typed is lost, and nothing is re-pushed forever.
    assert_eq!(r.refused[0].doc, outside);
    let pending = loose.replica.pending().unwrap();
    assert_eq!((pending.changes, pending.refused), (0, 1));
    assert!(matches!(
        loose.replica.record_sync_state(&outside).unwrap(),
        gridsync_core::replica::RecordSyncState::Refused { .. }
    ));
    let again = loose.client.sync_once().await.unwrap();
    assert_eq!((again.pushed, again.refused.len()), (0, 0));
    assert_eq!(loose.replica.refused().unwrap().len(), 1);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_device_is_refused_and_cut_off_at_once() {
    use std::sync::Arc;
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(&tmp.path().join("relay")).await.unwrap();
    let h1 = Arc::new(relay.handset(tmp.path(), "w-g1", &[G1]).unwrap());
    h1.client.sync_once().await.unwrap();
    // Live connection, then revoke: the run loop ends with Denied.
    let stop = Arc::new(tokio::sync::Notify::new());
    let h = h1.clone();
    let s = stop.clone();
    let live = tokio::spawn(async move { h.client.run(s).await });
    for _ in 0..100 {
        if h1.client.status().state == gridsync_core::net::LinkState::Live {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    relay.hub.revoke_device("w-g1").unwrap();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), live)
        .await
        .expect("not cut off within 5 s")
        .unwrap();
    assert!(
        matches!(ended, Err(gridsync_core::Error::Denied { .. })),
        "{ended:?}"
    );
    let again = h1.client.sync_once().await.unwrap_err();
    assert!(
        matches!(
            again,
            gridsync_core::Error::Denied {
                denial: gridsync_core::Denial::Revoked,
                ..
            }
        ),
        "{again}"
    );
    stop.notify_one();
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_visit_reaches_the_other_handset_within_a_second() {
    use std::sync::Arc;
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(&tmp.path().join("relay")).await.unwrap();
    let a = Arc::new(relay.handset(tmp.path(), "a", &[G1]).unwrap());
    let b = Arc::new(relay.handset(tmp.path(), "b", &[G1]).unwrap());
    let hid = a
        .replica
        .register_household(&household(G1, "甲"), "w1")
        .unwrap();
    a.client.sync_once().await.unwrap();
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut tasks = Vec::new();
    for h in [a.clone(), b.clone()] {
        let s = stop.clone();
        tasks.push(tokio::spawn(async move { h.client.run(s).await }));
    }
    for _ in 0..200 {
        if [&a, &b]
            .iter()
            .all(|h| h.client.status().state == gridsync_core::net::LinkState::Live)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let t = std::time::Instant::now();
    visit(&a.replica, &hid, 42);
    a.client.local_change();
    loop {
        if b.replica.visits_of(&hid, 10).map(|v| v.len()).unwrap_or(0) == 1 {
            break;
        }
        assert!(
            t.elapsed() < std::time::Duration::from_secs(1),
            "the visit took more than a second"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    eprintln!("live visit reached the other handset in {:?}", t.elapsed());
    stop.notify_waiters();
    for t in tasks {
        let _ = t.await;
    }
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_closes_only_that_connection() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(&tmp.path().join("relay")).await.unwrap();
    let h1 = relay.handset(tmp.path(), "w-g1", &[G1]).unwrap();
    let trust = gridsync_core::net::Trust::Pinned(relay.fingerprint.clone());
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    endpoint.set_default_client_config(gridsync_core::net::tls::client_config(&trust).unwrap());
    for garbage in [
        b"\x00\x00\x00\x05\x00hello".to_vec(),
        vec![0xff; 300],
        b"\x7f\xff\xff\xff".to_vec(),
    ] {
        let conn = endpoint
            .connect(relay.addr, "gridsync-relay")
            .unwrap()
            .await
            .unwrap();
        let (mut send, mut recv) = conn.open_bi().await.unwrap();
        send.write_all(&garbage).await.unwrap();
        let _ = send.finish();
        let answer =
            tokio::time::timeout(std::time::Duration::from_secs(5), recv.read_to_end(1 << 20))
                .await
                .expect("relay hung");
        // The relay answers with an Error frame (or just closes); either way this connection ends.
        if let Ok(bytes) = answer
            && !bytes.is_empty()
        {
            {
                let mut d: gridsync_core::sync::FrameDecoder<gridsync_core::sync::RelayMsg> =
                    gridsync_core::sync::FrameDecoder::new();
                d.push(&bytes).unwrap();
                let msg = d.pop().unwrap().unwrap();
                assert!(
                    matches!(
                        msg,
                        gridsync_core::sync::RelayMsg::Error {
                            code: gridsync_core::sync::ErrorCode::Malformed,
                            ..
                        }
                    ),
                    "{msg:?}"
                );
            }
        }
        // Meanwhile a real handset is served as usual.
        let hid = h1
            .replica
            .register_household(&household(G1, "照常"), "w1")
            .unwrap();
        let r = h1.client.sync_once().await.unwrap();
        assert_eq!(r.acknowledged, 1);
        assert!(
            relay
                .hub
                .store()
                .get("rdocs", hid.as_str().as_bytes())
                .unwrap()
                .is_some()
        );
    }
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_resumes_with_zero_rtt_in_one_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(&tmp.path().join("relay")).await.unwrap();
    let h1 = relay.handset(tmp.path(), "w-g1", &[G1]).unwrap();
    let hid = h1
        .replica
        .register_household(&household(G1, "甲"), "w1")
        .unwrap();
    let first = h1.client.sync_once().await.unwrap();
    assert!(
        !first.zero_rtt,
        "the first connection has no session ticket yet"
    );
    for n in 0..3 {
        visit(&h1.replica, &hid, n);
    }
    let again = h1.client.sync_once().await.unwrap();
    assert!(again.zero_rtt, "the reconnect did not use 0-RTT: {again:?}");
    assert_eq!(again.acknowledged, 3);
    assert_eq!(again.round_trips, 1, "{again:?}");
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_relay_rejects_zero_rtt_and_the_handset_falls_back_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(&tmp.path().join("relay")).await.unwrap();
    let h1 = relay.handset(tmp.path(), "w-g1", &[G1]).unwrap();
    let hid = h1
        .replica
        .register_household(&household(G1, "甲"), "w1")
        .unwrap();
    h1.client.sync_once().await.unwrap();
    // Same data directory and port, new process state: its session tickets are unknown.
    let relay = relay.restart().await.unwrap();
    visit(&h1.replica, &hid, 1);
    let t = std::time::Instant::now();
    let r = h1.client.sync_once().await.unwrap();
    assert_eq!(r.acknowledged, 1);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "fallback took {:?}",
        t.elapsed()
    );
    assert_eq!(h1.client.status().last_error, None);
    relay.stop().await;
}
