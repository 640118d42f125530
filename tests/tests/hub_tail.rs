//! Live pulls read the hub's in-memory tail of the log instead of scanning every grid log
//! in the scopes (issue 16). Whatever the scopes, cursor and batch size, a hub answering
//! from its tail hands out exactly what a hub over the same store that must read the grid
//! logs (opened afterwards, so its tail starts at the head) hands out.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use gridsync_core::replica::{Replica, ReplicaConfig};
use gridsync_core::store::{MemoryStore, Store};
use gridsync_core::sync::CheckedChange;
use gridsync_core::sync::backend::RelayBackend;
use gridsync_core::sync::wire::{Cursor, Payload};
use gridsync_core::{GridPath, Timestamp};
use gridsync_server::Hub;
use gridsync_tests::relay::all_roles;
use gridsync_tests::workload::{GridSpec, START_2024, Workload, WorkloadConfig};

const GRIDS: [&str; 3] = ["c/s/a/g1", "c/s/a/g2", "c/s/b/g1"];

/// A hub whose log holds a workload spread over three grids, ingested in small pushes so
/// that the grids' changes interleave in the log.
fn seeded(store: &Arc<MemoryStore>) -> Hub {
    let dyn_store: Arc<dyn Store> = store.clone();
    let hub = Hub::open(dyn_store).unwrap();
    let grids: Vec<GridSpec> = GRIDS
        .iter()
        .map(|g| GridSpec {
            path: GridPath::parse(g).unwrap(),
            rural: false,
        })
        .collect();
    let w = Workload::generate(&WorkloadConfig {
        seed: 5,
        grids,
        households_per_grid: 5,
        visits: 60,
        cases: 6,
        start: START_2024,
        days: 10,
        conflicts: 0,
    });
    let grants = all_roles("w", &GRIDS).unwrap();
    let phone = Replica::open_with(
        Arc::new(MemoryStore::new()),
        "phone",
        ReplicaConfig::default(),
    )
    .unwrap();
    phone.store_grants(&grants).unwrap();
    let end: Timestamp = w.period().1;
    gridsync_tests::load::load(&phone, &w, end, "w").unwrap();
    let grant = hub
        .authenticate(&hub.add_device("phone", &grants).unwrap().token)
        .unwrap();
    let changes: Vec<_> = phone
        .outbox_after(None, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|i| CheckedChange::check(&grant, i.change).unwrap())
        .collect();
    for part in changes.chunks(7) {
        assert!(hub.ingest(&grant, part).unwrap().iter().all(|o| o.is_ok()));
    }
    hub
}

/// Every batch a pull from `after` hands out until the head, as (docs, next, more).
fn walk(
    hub: &Hub,
    scopes: &[GridPath],
    after: u64,
    max: usize,
) -> Vec<(Vec<String>, Cursor, bool)> {
    let mut out = Vec::new();
    let mut cursor = Cursor::Log { after };
    loop {
        let b = hub.pull(scopes, &cursor, max).unwrap();
        let docs = b
            .entries
            .iter()
            .map(|e| {
                assert!(matches!(e.payload, Payload::Change(_)));
                e.doc.to_string()
            })
            .collect();
        out.push((docs, b.next.clone(), b.more));
        if !b.more {
            return out;
        }
        cursor = b.next;
    }
}

#[test]
fn a_pull_from_the_tail_hands_out_what_the_grid_logs_hold() {
    let store = Arc::new(MemoryStore::new());
    let live = seeded(&store);
    let head = live.head().unwrap();
    assert!(head > 80, "the workload logged {head} changes");
    // Opened over the same store now: its tail starts at the head, so every pull below
    // reads the grid logs.
    let dyn_store: Arc<dyn Store> = store.clone();
    let reopened = Hub::open(dyn_store).unwrap();
    let g = |s: &str| GridPath::parse(s).unwrap();
    let scope_sets = [
        vec![g("c/s/a")],
        vec![g("c/s/a/g1")],
        vec![g("c/s/b"), g("c/s/a/g2")],
        vec![g("c")],
        vec![g("c/s/x")],
    ];
    for scopes in &scope_sets {
        for after in (0..=head).step_by(17).chain([head - 1, head]) {
            for max in [1usize, 4 << 10, 1 << 20] {
                let from_tail = walk(&live, scopes, after, max);
                let from_logs = walk(&reopened, scopes, after, max);
                let docs = |w: &[(Vec<String>, Cursor, bool)]| -> Vec<String> {
                    w.iter().flat_map(|b| b.0.clone()).collect()
                };
                assert_eq!(
                    docs(&from_tail),
                    docs(&from_logs),
                    "scopes {scopes:?}, after {after}, max {max}"
                );
                let end = |w: &[(Vec<String>, Cursor, bool)]| w.last().map(|b| b.1.clone());
                assert_eq!(end(&from_tail), Some(Cursor::Log { after: head }));
                assert_eq!(end(&from_logs), Some(Cursor::Log { after: head }));
            }
        }
    }
}
