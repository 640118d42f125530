//! One malformed change pushed by one handset must be refused, and the relay must keep
//! serving everyone else ("a server that keeps serving everyone else", DESIGN.md).
//!
//! The inputs are `tests/fixtures/crashers/change-*.bin`: mutated automerge changes found
//! by `fuzz_store.rs` whose chunk parses (`Change::from_bytes` is fine, the hash is right)
//! but whose columns are malformed, so automerge 0.12 panics applying them. A raw protocol
//! client pushes them (`gridsync_tests::raw_client`: the product's client only pushes
//! changes its own replica holds).
//!
//! Regression guarded: the panic once unwound out of `Hub::ingest_changes` while it held
//! the hub's write lock, poisoning it, so every later push from every handset failed with
//! "relay write lock poisoned" until a restart. Now the relay runs automerge on outside
//! bytes inside `gridsync_core::untrusted::contain` (a panic is a refusal of that change)
//! and the hub's write lock carries on if poisoned. The first test checks it over QUIC
//! (a good handset's next push is acknowledged and the relay still runs); the second
//! through `Hub::ingest` directly (each bad change is refused, not a panic or an error,
//! and another device's good change still goes in).

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Instant;

use gridsync_core::GridPath;
use gridsync_core::model::{Address, NewHousehold, Tier};
use gridsync_core::sync::CheckedChange;
use gridsync_core::sync::backend::RelayBackend;
use gridsync_core::sync::wire::PushedChange;
use gridsync_tests::netem::fuzz::fixture_doc;
use gridsync_tests::netem::harness::{self, Phone, PhoneOptions};
use gridsync_tests::netem::{LinkEmulator, LinkProfile};
use gridsync_tests::raw_client::raw_push;
use gridsync_tests::relay::{RelayOptions, TestRelay};

const GRID: &str = "ankang/hanbin/laocheng/xinhua/g03";

/// The malformed changes found by the fuzzer, as pushes of the fixture's household.
fn bad_changes() -> Vec<PushedChange> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/crashers");
    let h = fixture_doc(gridsync_core::DocKind::Household);
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("change-h-") {
            continue;
        }
        let bytes = std::fs::read(&p).unwrap();
        let change = automerge::Change::from_bytes(bytes.clone()).unwrap();
        out.push(PushedChange {
            doc: h.id.clone(),
            grid: h.grid.clone(),
            hash: change.hash().0,
            bytes,
        });
    }
    assert!(
        !out.is_empty(),
        "no change crashers in tests/fixtures/crashers"
    );
    out
}

fn household(head: &str) -> NewHousehold {
    NewHousehold {
        grid: GridPath::parse(GRID).unwrap(),
        address: Address::Urban {
            building: "3栋".into(),
            unit: "1单元".into(),
            room: "502".into(),
        },
        head: head.into(),
        members: vec![],
        phone: String::new(),
        tier: Tier::Green,
        tags: vec![],
        contacts: vec!["w1".into()],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_push_is_refused_and_the_relay_keeps_serving() {
    harness::init_logging();
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_with(&tmp.path().join("relay"), RelayOptions::for_faults(10))
        .await
        .unwrap();
    let emu = LinkEmulator::start(relay.addr, LinkProfile::loopback(), 1)
        .await
        .unwrap();
    let bad_token = relay.enroll("bad", &[GRID]).unwrap();
    let good_token = relay.enroll("good", &[GRID]).unwrap();
    let good = Phone::in_memory(
        "good",
        emu.via(relay.target(&good_token)),
        PhoneOptions::default(),
    )
    .unwrap();

    // A good push works.
    good.replica
        .register_household(&household("王建国"), "w1")
        .unwrap();
    let r = good.client.sync_once().await.unwrap();
    assert_eq!(r.acknowledged, 1);

    // The bad handset pushes the malformed changes.
    let answers = raw_push(emu.addr(), &relay.fingerprint, &bad_token, bad_changes())
        .await
        .unwrap();
    eprintln!("the relay answered the bad push with {answers:?}");

    // Everyone else is still served.
    good.replica
        .register_household(&household("李秀兰"), "w1")
        .unwrap();
    let t = Instant::now();
    let r = good.client.sync_once().await;
    eprintln!("good push after the bad one: {r:?} after {:?}", t.elapsed());
    let r = r.expect("the relay stopped serving a good handset after one bad push");
    assert_eq!(r.acknowledged, 1, "{r:?}");
    assert!(relay.is_running());
}

/// The same through the hub directly: the malformed change is refused (not a panic), and
/// the next good push from another device is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_ingest_refuses_a_malformed_change_and_stays_usable() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_with(&tmp.path().join("relay"), RelayOptions::for_faults(10))
        .await
        .unwrap();
    let bad = relay
        .hub
        .authenticate(&relay.enroll("bad", &[GRID]).unwrap())
        .unwrap();
    let good_token = relay.enroll("good", &[GRID]).unwrap();
    let good_grant = relay.hub.authenticate(&good_token).unwrap();
    let good =
        Phone::in_memory("good", relay.target(&good_token), PhoneOptions::default()).unwrap();
    for (i, c) in bad_changes().into_iter().enumerate() {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let checked = CheckedChange::check(&bad, c).unwrap();
            relay.hub.ingest(&bad, &[checked])
        }));
        // Whatever happened, a good change from another device must still go in.
        good.replica
            .register_household(&household(&format!("住户{i}")), "w1")
            .unwrap();
        let items = good.replica.outbox_after(None, usize::MAX).unwrap();
        let item = items.last().unwrap().change.clone();
        let item = CheckedChange::check(&good_grant, item).unwrap();
        let after = relay.hub.ingest(&good_grant, &[item]);
        match r {
            Ok(Ok(outcomes)) => assert!(outcomes[0].is_err(), "a malformed change was accepted"),
            Ok(Err(e)) => panic!("ingest failed instead of refusing the change: {e}"),
            Err(_) => panic!(
                "automerge panicked inside Hub::ingest (it should be a refusal); a good push \
                 from another device afterwards: {after:?}"
            ),
        }
        assert!(matches!(after.as_deref(), Ok([Ok(())])), "{after:?}");
    }
}
