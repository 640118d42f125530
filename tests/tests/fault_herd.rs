//! A thundering herd: 200 handsets connect at the same moment, then the relay restarts
//! under them and all 200 reconnect at once. The relay must stay up and every handset must
//! converge (its grid's documents, nothing pending), with every change logged once.
//! In-memory handset stores keep it cheap; the link is the emulator's `loopback`.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use gridsync_core::GridPath;
use gridsync_core::model::{Address, NewHousehold, NewVisit, Tier, VisitMode};
use gridsync_tests::netem::harness::{self, Phone, PhoneOptions, doc_ids};
use gridsync_tests::netem::{LinkEmulator, LinkProfile, seed_from_env};
use gridsync_tests::relay::{RelayOptions, TestRelay};
use tokio::sync::Notify;

const HANDSETS: usize = 200;
const GRIDS: usize = 10;

fn grid(i: usize) -> String {
    format!("ankang/hanbin/laocheng/xinhua/g{:02}", i % GRIDS)
}

fn household(i: usize) -> NewHousehold {
    NewHousehold {
        grid: GridPath::parse(&grid(i)).unwrap(),
        address: Address::Urban {
            building: format!("{}栋", i / 20 + 1),
            unit: "2单元".into(),
            room: format!("{}", 101 + i),
        },
        head: format!("住户{i}"),
        members: vec![],
        phone: String::new(),
        tier: Tier::Green,
        tags: vec![],
        contacts: vec![format!("w{i}")],
    }
}

fn visit(p: &Phone, h: &gridsync_core::DocId, n: i64) {
    p.replica
        .log_visit(&NewVisit {
            household: h.clone(),
            worker: p.name.clone(),
            at: 1_704_700_800_000 + n,
            mode: VisitMode::DoorToDoor,
            notes: format!("第{n}次入户走访，家中一切正常。"),
            findings: vec![],
            follow_ups: vec![],
            geo: None,
        })
        .unwrap();
}

/// Every handset holds `per_grid` documents of its grid and nothing pending.
fn all_converged(phones: &[Phone], per_grid: usize) -> anyhow::Result<()> {
    let mut behind = Vec::new();
    for p in phones {
        let n = doc_ids(&p.replica)?.len();
        if n != per_grid || p.pending() != 0 {
            behind.push(format!("{} ({n} docs, {} pending)", p.name, p.pending()));
        }
    }
    anyhow::ensure!(
        behind.is_empty(),
        "{} handsets behind, e.g. {:?}",
        behind.len(),
        &behind[..behind.len().min(5)]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_handsets_reconnecting_at_once() {
    harness::init_logging();
    let seed = seed_from_env(31);
    let t0 = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_with(&tmp.path().join("relay"), RelayOptions::for_faults(30))
        .await
        .unwrap();
    let emu = LinkEmulator::start(relay.addr, LinkProfile::loopback(), seed)
        .await
        .unwrap();
    let opts = PhoneOptions {
        backoff: Some(harness::quick_backoff(Duration::from_secs(2))),
        batch: None,
    };
    let mut phones = Vec::new();
    let mut households = Vec::new();
    for i in 0..HANDSETS {
        let name = format!("phone-{i:03}");
        let token = relay.enroll(&name, &[&grid(i)]).unwrap();
        let p = Phone::in_memory(&name, emu.via(relay.target(&token)), opts).unwrap();
        let h = p.replica.register_household(&household(i), &name).unwrap();
        visit(&p, &h, 0);
        households.push(h);
        phones.push(p);
    }
    let per_grid = HANDSETS / GRIDS;
    eprintln!("{HANDSETS} handsets set up in {:?}", t0.elapsed());

    // All connect at the same moment.
    let t = Instant::now();
    let stop = Arc::new(Notify::new());
    let mut runs = Vec::new();
    for p in &phones {
        let (client, stop) = (p.client.clone(), stop.clone());
        runs.push(tokio::spawn(async move { client.run(stop).await }));
    }
    let took = harness::eventually(Duration::from_secs(120), || {
        all_converged(&phones, 2 * per_grid)
    })
    .await
    .unwrap();
    eprintln!(
        "{HANDSETS} handsets connecting at once converged in {took:?} ({:?} since start)",
        t.elapsed()
    );
    assert_eq!(relay.hub.document_count().unwrap(), 2 * HANDSETS);

    // The relay restarts under them; while it is down each handset logs another visit.
    let t = Instant::now();
    let relay = {
        let addr = relay.addr;
        let restarting = tokio::spawn(relay.restart());
        for (p, h) in phones.iter().zip(&households) {
            visit(p, h, 1);
            p.client.local_change();
        }
        let relay = restarting.await.unwrap().unwrap();
        assert_eq!(relay.addr, addr);
        relay
    };
    eprintln!("relay restarted in {:?}", t.elapsed());
    let took = harness::eventually(Duration::from_secs(120), || {
        all_converged(&phones, 3 * per_grid)
    })
    .await
    .unwrap();
    eprintln!(
        "{HANDSETS} handsets reconnecting at once converged in {took:?} after the restart; link {}",
        emu.counters()
    );
    assert!(relay.is_running(), "the relay went down under the herd");
    assert_eq!(relay.hub.document_count().unwrap(), 3 * HANDSETS);
    let (log, hashes) = relay.log_counts().unwrap();
    // A household, a visit, and a visit logged while the relay was down.
    assert_eq!(
        (log, hashes),
        (3 * HANDSETS, 3 * HANDSETS),
        "each change logged once"
    );

    // Every handset of a grid holds the same documents and heads as the relay.
    let token = relay.enroll("auditor", &["ankang"]).unwrap();
    stop.notify_waiters();
    for r in runs {
        let _ = tokio::time::timeout(Duration::from_secs(5), r).await;
    }
    let view = harness::relay_view(relay.target(&token)).await.unwrap();
    assert_eq!(view.len(), 3 * HANDSETS);
    for p in &phones {
        for (id, heads) in harness::doc_heads(&p.replica).unwrap() {
            assert_eq!(view.get(&id), Some(&heads), "{}: {id}", p.name);
        }
    }
    eprintln!("herd test took {:?}", t0.elapsed());
    relay.stop().await;
}
