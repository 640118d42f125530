//! `kill -9` of the relay (the real `gridsync-relay` binary, a separate process) at random
//! moments while handsets push through the link emulator: every change a handset saw
//! acknowledged is in the relay's store after each kill, the relay restarts on the same
//! data and port, and in the end every handset converges with nothing lost or logged twice.
//! `NETEM_SEED` replays the kill times and the link's random draws.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gridsync_core::DocId;
use gridsync_core::model::{NewVisit, VisitMode};
use gridsync_tests::netem::harness::{self, Phone, PhoneOptions, converged, doc_ids, relay_view};
use gridsync_tests::netem::{LinkEmulator, LinkProfile, seed_from_env};
use gridsync_tests::relay::{RELAY_HASHES_TREE, RELAY_LOG_TREE};
use gridsync_tests::relay_process::{ProcessOptions, RelayProcess, relay_binary};
use gridsync_tests::workload::GridSpec;
use rand::{Rng, SeedableRng};
use tokio::sync::Notify;

const GRID: &str = "ankang/ziyang/haoping/dongmu/g02";
/// The relay drops silent connections after 2 s, so handsets notice a dead relay quickly
/// (the writers keep every connection busy, so live ones are never silent that long).
const IDLE_SECS: u64 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_sigkilled_mid_push_loses_nothing_acknowledged() {
    harness::init_logging();
    let seed = seed_from_env(41);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let t0 = Instant::now();
    let exe = relay_binary().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("relay");
    let names = ["phone-0", "phone-1", "phone-2"];
    let tokens: Vec<String> = names
        .iter()
        .map(|n| RelayProcess::enroll_with(&exe, &data, n, &[GRID]).unwrap())
        .collect();
    let auditor = RelayProcess::enroll_with(&exe, &data, "auditor", &[GRID]).unwrap();
    let mut relay =
        RelayProcess::spawn(&exe, &data, ProcessOptions::for_faults(IDLE_SECS)).unwrap();
    eprintln!("relay pid {:?} on {}", relay.pid(), relay.addr);
    let emu = LinkEmulator::start(relay.addr, LinkProfile::parse("4g").unwrap(), seed)
        .await
        .unwrap();

    // Handsets with offline work, pushing in small chunks (each acknowledged on its own),
    // live, while a writer keeps logging visits on each.
    let opts = PhoneOptions {
        backoff: Some(harness::quick_backoff(Duration::from_millis(500))),
        batch: Some((4 * 1024, 64 * 1024)),
    };
    let mut phones = Vec::new();
    let mut changes = 0;
    for (i, (name, token)) in names.iter().zip(&tokens).enumerate() {
        let p = Phone::on_disk(
            &tmp.path().join(name),
            name,
            emu.via(relay.target(token)),
            opts,
        )
        .unwrap();
        let w = harness::small_workload(seed + i as u64, GridSpec::rural_dongmu(), 8, 30, 3);
        changes += harness::load_into(&p, &w).unwrap();
        phones.push(Arc::new(p));
    }
    let written: Vec<Arc<Mutex<Vec<DocId>>>> = phones
        .iter()
        .map(|p| {
            let ids = doc_ids(&p.replica).unwrap();
            Arc::new(Mutex::new(
                ids.iter().map(|d| DocId::parse(d).unwrap()).collect(),
            ))
        })
        .collect();
    let initial_docs: usize = written.iter().map(|w| w.lock().unwrap().len()).sum();
    let stop = Arc::new(Notify::new());
    let writing = Arc::new(AtomicBool::new(true));
    let mut tasks = Vec::new();
    let mut writers = Vec::new();
    for (p, w) in phones.iter().zip(&written) {
        let (client, stop) = (p.client.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let _ = client.run(stop).await;
        }));
        let (p, w, writing) = (p.clone(), w.clone(), writing.clone());
        writers.push(tokio::spawn(async move {
            let h = p.replica.list_households(None).unwrap()[0].id.clone();
            let mut n = 0;
            while writing.load(Ordering::SeqCst) {
                let id = p
                    .replica
                    .log_visit(&NewVisit {
                        household: h.clone(),
                        worker: p.name.clone(),
                        at: 1_704_700_800_000 + n,
                        mode: VisitMode::Phone,
                        notes: format!("电话回访第{n}次，情况稳定。"),
                        findings: vec![],
                        follow_ups: vec![],
                        geo: None,
                    })
                    .unwrap();
                w.lock().unwrap().push(id);
                p.client.local_change();
                n += 1;
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        }));
    }

    let kills = 8;
    let mut checked = 0;
    let mut mid_push = 0;
    let mut started = 0;
    for round in 0..kills {
        // Wait until every handset has had an acknowledgement from this relay process,
        // then kill at a random moment of their pushing.
        let all: Vec<&Phone> = phones.iter().map(|p| p.as_ref()).collect();
        harness::eventually(Duration::from_secs(60), || {
            let synced = all
                .iter()
                .filter(|p| p.replica.last_sync().ok().flatten() > Some(started))
                .count();
            anyhow::ensure!(
                synced == all.len(),
                "{synced} handsets synced since the start"
            );
            Ok(())
        })
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..800))).await;
        let pending: u64 = phones.iter().map(|p| p.pending()).sum();
        relay.sigkill().unwrap();
        if pending > 0 {
            mid_push += 1;
        }
        // What every handset saw acknowledged must be in the dead relay's store.
        let hub = relay.open_store().unwrap();
        let mut acked = 0;
        for (p, w) in phones.iter().zip(&written) {
            let docs = w.lock().unwrap().clone();
            for d in harness::acknowledged(&p.replica, &docs).unwrap() {
                harness::relay_has_doc(&hub, &p.replica, &d)
                    .unwrap_or_else(|e| panic!("kill {round} (seed {seed}): {}: {e}", p.name));
                acked += 1;
            }
        }
        drop(hub);
        eprintln!(
            "kill {round} at {:?}: {acked} acknowledged documents all on the relay; {pending} \
             changes were pending",
            t0.elapsed()
        );
        checked += acked;
        relay.restart().unwrap();
        started = now_ms();
    }

    // Stop writing, and wait for each writer to finish the visit it may be logging, so
    // the count of documents made is final; everything must converge through the
    // restarted relay.
    writing.store(false, Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }
    let t = Instant::now();
    let all: Vec<&Phone> = phones.iter().map(|p| p.as_ref()).collect();
    let made: usize = written.iter().map(|w| w.lock().unwrap().len()).sum();
    let took = harness::eventually(Duration::from_secs(90), || {
        let first = harness::doc_heads(&all[0].replica)?;
        anyhow::ensure!(first.len() == made, "{} of {made} documents", first.len());
        converged(&all, &first)
    })
    .await
    .unwrap();
    eprintln!(
        "converged {took:?} after the last restart ({:?} since)",
        t.elapsed()
    );
    stop.notify_waiters();
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    let view = relay_view(relay.target(&auditor)).await.unwrap();
    converged(&all, &view).unwrap();
    assert_eq!(view.len(), made);
    // Nothing logged twice: one log entry per distinct change made (the workloads'
    // changes, and one per visit the writers logged).
    relay.terminate(Duration::from_secs(15)).unwrap();
    let hub = relay.open_store().unwrap();
    let log = hub.store().len(RELAY_LOG_TREE).unwrap() as u64;
    let hashes = hub.store().len(RELAY_HASHES_TREE).unwrap() as u64;
    assert_eq!(log, hashes, "a change was logged twice");
    let expected = changes + (made - initial_docs) as u64;
    assert_eq!(
        log, expected,
        "the relay logged {log} changes; the handsets made {expected}"
    );
    assert_eq!(hub.document_count().unwrap(), made);
    assert!(
        mid_push >= kills / 2,
        "only {mid_push} of {kills} kills hit a push"
    );
    eprintln!(
        "{kills} kills ({mid_push} with changes in flight), {checked} acknowledged-document checks, {made} documents, {log} changes; \
         took {:?}; link {}",
        t0.elapsed(),
        emu.counters()
    );
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
