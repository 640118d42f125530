//! `kill -9` in the middle of writes: every visit whose call returned is there after
//! reopening, and the store opens cleanly, over 50 kills at random moments.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use gridsync_core::{DocId, Replica};
use rand::{Rng, SeedableRng};

#[test]
fn sigkill_loses_no_acknowledged_visit() {
    let dir = tempfile::tempdir().unwrap();
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261122);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut acknowledged: Vec<DocId> = Vec::new();
    let kills = 50;
    for round in 0..kills {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crash-writer"))
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let mut ready = false;
            let mut ids = Vec::new();
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                if line == "READY" {
                    ready = true;
                } else if let Some(id) = line.strip_prefix("V ") {
                    ids.push(DocId::parse(id).unwrap());
                }
            }
            (ready, ids)
        });
        // Kill anywhere from during open to well into the writing loop.
        std::thread::sleep(Duration::from_millis(rng.random_range(5..120)));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let (_ready, ids) = reader.join().unwrap();
        acknowledged.extend(ids);

        let replica = Replica::open(dir.path(), "crash-phone")
            .unwrap_or_else(|e| panic!("round {round} (seed {seed}): store did not reopen: {e}"));
        for id in &acknowledged {
            let v = replica
                .visit(id)
                .unwrap_or_else(|e| panic!("round {round} (seed {seed}): visit {id} lost: {e}"));
            assert_eq!(v.record.worker, "w-crash");
        }
        if let Some(h) = replica.list_households(None).unwrap().first() {
            let indexed = replica.visits_of(&h.id, usize::MAX).unwrap().len();
            assert!(
                indexed >= acknowledged.len(),
                "round {round}: index holds {indexed} < {} acknowledged",
                acknowledged.len()
            );
            assert_eq!(
                replica.pending().unwrap().changes as usize,
                indexed + 1,
                "outbox matches documents"
            );
        }
    }
    eprintln!(
        "{kills} kills, {} acknowledged visits all present (seed {seed})",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() > kills,
        "the writer barely wrote anything: the test proved little"
    );
}
