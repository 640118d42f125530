//! An outage in the middle of a transfer: the transfer continues where it stopped and
//! never starts over. A fresh handset bootstrapping a few hundred documents loses its link
//! a third of the way through; over both sessions it must receive about one copy of each
//! document (not two), and about one full bootstrap's bytes. The same for a handset
//! pushing a big outbox: acknowledged chunks are not sent again.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use gridsync_core::sync::Cursor;
use gridsync_tests::netem::harness::{self, Phone, PhoneOptions, converged, relay_view};
use gridsync_tests::netem::{LinkEmulator, LinkProfile, seed_from_env};
use gridsync_tests::relay::{RelayOptions, TestRelay};
use gridsync_tests::workload::GridSpec;

const GRID: &str = "ankang/hanbin/laocheng/xinhua/g03";

/// 8 KiB pulls and pushes: a few hundred documents take dozens of batches.
const SMALL_BATCHES: PhoneOptions = PhoneOptions {
    backoff: None,
    batch: Some((8 * 1024, 8 * 1024)),
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_bootstrap_continues_and_never_starts_over() {
    harness::init_logging();
    let seed = seed_from_env(21);
    let t0 = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    // A 5 s idle timeout: the handset notices the dead link within seconds.
    let relay = TestRelay::start_with(&tmp.path().join("relay"), RelayOptions::for_faults(5))
        .await
        .unwrap();
    let token = relay.enroll("office", &[GRID]).unwrap();
    let office = Phone::in_memory("office", relay.target(&token), PhoneOptions::default()).unwrap();
    let w = harness::small_workload(seed, GridSpec::urban_xinhua(), 150, 150, 20);
    harness::load_into(&office, &w).unwrap();
    office
        .sync_until_ok(Instant::now() + Duration::from_secs(30))
        .await
        .unwrap();
    let docs = relay.hub.document_count().unwrap() as u64;
    assert!(docs >= 300, "{docs} documents");

    let emu = LinkEmulator::start(relay.addr, LinkProfile::parse("4g").unwrap(), seed)
        .await
        .unwrap();
    // Baseline: an uninterrupted bootstrap.
    let token = relay.enroll("baseline", &[GRID]).unwrap();
    let baseline =
        Phone::in_memory("baseline", emu.via(relay.target(&token)), SMALL_BATCHES).unwrap();
    let before = emu.counters();
    let r = baseline.client.sync_once().await.unwrap();
    let full = emu.counters().since(&before);
    assert_eq!(r.entries, docs, "one entry per document: {r:?}");
    assert_eq!(baseline.received_docs.load(Ordering::SeqCst), docs);
    eprintln!(
        "uninterrupted bootstrap: {docs} docs, {} B down, {:?}, {} round trips",
        full.down.delivered_bytes, r.elapsed, r.round_trips
    );

    // The handset under test loses its link a third of the way through.
    let token = relay.enroll("fresh", &[GRID]).unwrap();
    let fresh = Phone::in_memory("fresh", emu.via(relay.target(&token)), SMALL_BATCHES).unwrap();
    let before = emu.counters();
    let client = fresh.client.clone();
    let first = tokio::spawn(async move { client.sync_once().await });
    while fresh.received_docs.load(Ordering::SeqCst) < docs / 3 {
        assert!(
            !first.is_finished(),
            "the bootstrap finished before it could be cut"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    emu.cut();
    let cut_at = Instant::now();
    let outcome = first.await.unwrap();
    assert!(
        outcome.is_err(),
        "the session survived a dead link: {outcome:?}"
    );
    eprintln!(
        "link cut; the handset noticed after {:?}: {}",
        cut_at.elapsed(),
        outcome.unwrap_err()
    );
    let got_first = fresh.received_docs.load(Ordering::SeqCst);
    assert!(got_first < docs, "everything arrived before the cut");
    match fresh.replica.cursor().unwrap() {
        Cursor::Snapshot {
            after_doc: Some(_), ..
        } => {}
        other => panic!("the bootstrap's progress was not kept: {other:?}"),
    }
    assert_eq!(
        harness::doc_ids(&fresh.replica).unwrap().len() as u64,
        got_first,
        "every document applied is stored"
    );

    emu.restore();
    let r = fresh
        .sync_until_ok(Instant::now() + Duration::from_secs(60))
        .await
        .unwrap();
    let total = fresh.received_docs.load(Ordering::SeqCst);
    let second = total - got_first;
    let both = emu.counters().since(&before);
    eprintln!(
        "{got_first} docs before the cut, {second} after ({} entries in the second session), \
         {total} in all for {docs} documents; {} B down over both sessions vs {} B for one \
         uninterrupted bootstrap",
        r.entries, both.down.delivered_bytes, full.down.delivered_bytes
    );
    assert_eq!(
        total, docs,
        "each document arrived exactly once over both sessions"
    );
    assert_eq!(r.entries, second);
    assert!(
        (both.down.delivered_bytes as f64) < 1.25 * full.down.delivered_bytes as f64,
        "the interrupted bootstrap cost {} B, an uninterrupted one {} B",
        both.down.delivered_bytes,
        full.down.delivered_bytes
    );
    let view = relay_view(relay.target(&token)).await.unwrap();
    converged(&[&fresh, &baseline, &office], &view).unwrap();
    eprintln!("bootstrap resume test took {:?}", t0.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_push_continues_and_never_starts_over() {
    harness::init_logging();
    let seed = seed_from_env(22);
    let t0 = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_with(&tmp.path().join("relay"), RelayOptions::for_faults(5))
        .await
        .unwrap();
    let emu = LinkEmulator::start(relay.addr, LinkProfile::parse("4g").unwrap(), seed)
        .await
        .unwrap();
    // Two handsets with the same amount of offline work: one pushes it uninterrupted,
    // the other loses its link a third of the way through.
    let mut phones = Vec::new();
    for name in ["baseline", "cut"] {
        let token = relay.enroll(name, &[GRID]).unwrap();
        let p = Phone::in_memory(name, emu.via(relay.target(&token)), SMALL_BATCHES).unwrap();
        let w = harness::small_workload(seed, GridSpec::urban_xinhua(), 60, 200, 10);
        harness::load_into(&p, &w).unwrap();
        phones.push(p);
    }
    let (baseline, cut) = (&phones[0], &phones[1]);
    let changes = cut.pending();
    let before = emu.counters();
    let r = baseline.client.sync_once().await.unwrap();
    assert_eq!(r.acknowledged, changes, "both handsets did the same work");
    let full = emu.counters().since(&before);

    let before = emu.counters();
    let client = cut.client.clone();
    let first = tokio::spawn(async move { client.sync_once().await });
    while cut.pending() > changes * 2 / 3 {
        assert!(
            !first.is_finished(),
            "the push finished before it could be cut"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    emu.cut();
    assert!(first.await.unwrap().is_err());
    let left = cut.pending();
    assert!(
        left > 0 && left < changes,
        "{left} of {changes} pending after the cut"
    );
    emu.restore();
    let r = cut
        .sync_until_ok(Instant::now() + Duration::from_secs(60))
        .await
        .unwrap();
    let both = emu.counters().since(&before);
    eprintln!(
        "{changes} changes: {} acknowledged before the cut, {} after; {} B up over both \
         sessions vs {} B uninterrupted",
        changes - left,
        r.acknowledged,
        both.up.delivered_bytes,
        full.up.delivered_bytes
    );
    assert_eq!(r.acknowledged, left, "only what was left was pushed again");
    assert_eq!(cut.pending(), 0);
    assert!(
        (both.up.delivered_bytes as f64) < 1.25 * full.up.delivered_bytes as f64,
        "the interrupted push cost {} B, an uninterrupted one {} B",
        both.up.delivered_bytes,
        full.up.delivered_bytes
    );
    let (log, hashes) = relay.log_counts().unwrap();
    assert_eq!((log as u64, hashes as u64), (2 * changes, 2 * changes));
    eprintln!("push resume test took {:?}", t0.elapsed());
}
