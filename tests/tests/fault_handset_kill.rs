//! `kill -9` of a handset in the middle of a sync (the `sync-writer` binary: it logs visits
//! and syncs in a loop, through the link emulator, against a relay that already holds a
//! grid of documents, so early kills land mid-bootstrap and later ones mid-push or
//! mid-write). After every kill the handset's store reopens, holds every visit whose
//! `log_visit` returned, and everything it counts as acknowledged is on the relay. In the
//! end it converges with the relay, nothing lost or logged twice.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gridsync_core::sync::Cursor;
use gridsync_core::{DocId, Replica};
use gridsync_tests::netem::harness::{self, Phone, PhoneOptions, converged, relay_view};
use gridsync_tests::netem::{LinkEmulator, LinkProfile, seed_from_env};
use gridsync_tests::relay::{RelayOptions, TestRelay};
use gridsync_tests::workload::GridSpec;
use rand::{Rng, SeedableRng};

const GRID: &str = "ankang/hanbin/laocheng/xinhua/g03";
const DEVICE: &str = "sync-phone";

/// What one run of the writer printed before it was killed.
#[derive(Debug, Default)]
struct Printed {
    ready: bool,
    visits: Vec<DocId>,
    syncs: usize,
    errors: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handset_sigkilled_mid_sync_loses_nothing_acknowledged() {
    harness::init_logging();
    let seed = seed_from_env(51);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let t0 = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_with(&tmp.path().join("relay"), RelayOptions::for_faults(3))
        .await
        .unwrap();
    // A grid's worth of documents for the handset to bootstrap (in 4 KiB batches).
    let token = relay.enroll("office", &[GRID]).unwrap();
    let office = Phone::in_memory("office", relay.target(&token), PhoneOptions::default()).unwrap();
    let w = harness::small_workload(seed, GridSpec::urban_xinhua(), 80, 80, 10);
    harness::load_into(&office, &w).unwrap();
    office
        .sync_until_ok(Instant::now() + Duration::from_secs(30))
        .await
        .unwrap();
    let preloaded = relay.hub.document_count().unwrap();
    let emu = LinkEmulator::start(relay.addr, LinkProfile::parse("4g").unwrap(), seed)
        .await
        .unwrap();
    let token = relay.enroll(DEVICE, &[GRID]).unwrap();
    let target = emu.via(relay.target(&token));
    let store = tmp.path().join("handset");

    let kills = 12;
    let mut visits: Vec<DocId> = Vec::new();
    let mut syncs = 0;
    let mut mid_bootstrap = 0;
    for round in 0..kills {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sync-writer"))
            .arg(&store)
            .arg(DEVICE)
            .arg(target.addr.to_string())
            .arg(relay.fingerprint.clone())
            .arg(&token)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut p = Printed::default();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line == "READY" {
                    p.ready = true;
                } else if let Some(id) = line.strip_prefix("V ") {
                    p.visits.push(DocId::parse(id).unwrap());
                } else if line.starts_with("S ") {
                    p.syncs += 1;
                } else if let Some(e) = line.strip_prefix("E ") {
                    p.errors.push(e.to_string());
                }
            }
            p
        });
        // From during the store's opening to a few syncs in.
        let wait = rng.random_range(50..1500);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        child.kill().unwrap();
        child.wait().unwrap();
        let printed = reader.join().unwrap();
        visits.extend(printed.visits.iter().cloned());
        syncs += printed.syncs;

        let replica = Replica::open(&store, DEVICE).unwrap_or_else(|e| {
            panic!("round {round} (seed {seed}): the store did not reopen: {e}")
        });
        for id in &visits {
            replica
                .visit(id)
                .unwrap_or_else(|e| panic!("round {round} (seed {seed}): visit {id} lost: {e}"));
        }
        let mine: Vec<DocId> = harness::doc_ids(&replica)
            .unwrap()
            .iter()
            .map(|d| DocId::parse(d).unwrap())
            .filter(|d| !office_has(&office, d))
            .collect();
        let acked = harness::acknowledged(&replica, &mine).unwrap();
        for d in &acked {
            harness::relay_has_doc(&relay.hub, &replica, d)
                .unwrap_or_else(|e| panic!("round {round} (seed {seed}): {e}"));
        }
        let cursor = replica.cursor().unwrap();
        if matches!(cursor, Cursor::Snapshot { .. }) {
            mid_bootstrap += 1;
        }
        eprintln!(
            "kill {round} after {wait} ms: {} visits printed ({} in all), {} syncs, {} of its {} \
             documents acknowledged and on the relay, cursor {cursor:?}, errors {:?}",
            printed.visits.len(),
            visits.len(),
            printed.syncs,
            acked.len(),
            mine.len(),
            printed.errors
        );
        drop(replica);
    }

    // The handset, reopened in this process, syncs until nothing is left.
    let phone = Phone::on_disk(&store, DEVICE, target, PhoneOptions::default()).unwrap();
    for _ in 0..5 {
        phone
            .sync_until_ok(Instant::now() + Duration::from_secs(30))
            .await
            .unwrap();
        if phone.pending() == 0 {
            break;
        }
    }
    office
        .sync_until_ok(Instant::now() + Duration::from_secs(30))
        .await
        .unwrap();
    let view = relay_view(relay.target(&token)).await.unwrap();
    converged(&[&phone, &office], &view).unwrap();
    for id in &visits {
        assert!(
            view.contains_key(id.as_str()),
            "visit {id} never reached the relay"
        );
    }
    let made: BTreeSet<&String> = view.keys().collect();
    assert_eq!(made.len(), relay.hub.document_count().unwrap());
    let (log, hashes) = relay.log_counts().unwrap();
    assert_eq!(log, hashes, "a change was logged twice");
    assert!(
        syncs > 0 && mid_bootstrap > 0,
        "the kills should land both mid-bootstrap ({mid_bootstrap}) and after syncs ({syncs})"
    );
    eprintln!(
        "{kills} kills ({mid_bootstrap} mid-bootstrap), {} visits, {syncs} completed syncs, \
         {preloaded} preloaded documents, {} in the end, {log} changes logged; took {:?}",
        visits.len(),
        view.len(),
        t0.elapsed()
    );
}

/// Whether `doc` was made by the office handset (preloaded), not by the writer.
fn office_has(office: &Phone, doc: &DocId) -> bool {
    office.replica.heads(doc).is_ok()
}
