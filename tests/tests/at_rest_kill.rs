//! `kill -9` while the store's key changes and while a plaintext store is being encrypted
//! (issue 14): after every kill the store opens with the old key or the new one, and every
//! acknowledged write is there. 30 kills each, at random moments.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gridsync_core::model::{Address, NewHousehold, Role, Tier};
use gridsync_core::store::{KEY_FILE, SledOptions, SledStore, StoreKey};
use gridsync_core::{DocId, Error, GridPath, Replica, ReplicaConfig};
use rand::{Rng, SeedableRng};

const KILLS: usize = 30;
const GRID: &str = "ankang/hanbin/laocheng/xinhua/g03";

fn seed() -> u64 {
    std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261202)
}

fn household(i: usize) -> NewHousehold {
    NewHousehold {
        grid: GridPath::parse(GRID).unwrap(),
        address: Address::Rural {
            group: "四组".into(),
            courtyard: "柳树湾".into(),
            number: format!("{i}号"),
        },
        head: format!("户主{i}"),
        members: vec![],
        phone: format!("1390000{i:04}"),
        tier: Tier::Yellow,
        tags: vec!["低保".into()],
        contacts: vec!["w-crash".into()],
    }
}

/// Runs the writer with `args`, kills it after `after` unless it ended before, returns its
/// stdout lines.
fn run_and_kill(args: &[&str], after: Duration) -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_at-rest-writer"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let deadline = Instant::now() + after;
    while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = child.kill(); // SIGKILL on Unix; it may have finished already
    child.wait().unwrap();
    reader.join().unwrap()
}

/// Opens `dir` with key `a`, else `b`: exactly one of them must open it.
fn open_either(dir: &Path, a: &StoreKey, b: &StoreKey, round: usize) -> (Replica, char) {
    match Replica::open_encrypted(dir, "crash-phone", a.clone()) {
        Ok(r) => (r, 'A'),
        Err(Error::WrongKey { .. }) => match Replica::open_encrypted(dir, "crash-phone", b.clone())
        {
            Ok(r) => (r, 'B'),
            Err(e) => panic!("round {round}: neither key opens the store: {e}"),
        },
        Err(e) => panic!("round {round}: the store did not open: {e}"),
    }
}

#[test]
fn rekey_killed_at_random_moments_keeps_one_key_and_every_write() {
    let seed = seed();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (StoreKey::generate(), StoreKey::generate());
    let (ha, hb) = (hex::encode(a.as_bytes()), hex::encode(b.as_bytes()));
    {
        let r = Replica::open_encrypted(dir.path(), "crash-phone", a.clone()).unwrap();
        r.register_household(&household(0), "w-crash").unwrap();
    }
    let path = dir.path().to_string_lossy().into_owned();
    let mut acknowledged: Vec<DocId> = Vec::new();
    let mut rekeys = 0;
    let mut opened_with = [0usize; 2];
    for round in 0..KILLS {
        let after = Duration::from_millis(rng.random_range(20..250));
        let lines = run_and_kill(&["rekey", &path, &ha, &hb], after);
        for l in &lines {
            if let Some(id) = l.strip_prefix("V ") {
                acknowledged.push(DocId::parse(id).unwrap());
            } else if l.starts_with("K ") {
                rekeys += 1;
            }
        }
        let (replica, key) = open_either(dir.path(), &a, &b, round);
        opened_with[usize::from(key == 'B')] += 1;
        for id in &acknowledged {
            replica
                .visit(id)
                .unwrap_or_else(|e| panic!("round {round} (seed {seed}): visit {id} lost: {e}"));
        }
        assert!(!dir.path().join(format!("{KEY_FILE}.tmp")).exists());
    }
    eprintln!(
        "{KILLS} kills during rekey loops: {} acknowledged visits all present, {rekeys} rekeys returned, reopened {}x with key A and {}x with key B (seed {seed})",
        acknowledged.len(),
        opened_with[0],
        opened_with[1]
    );
    assert!(
        acknowledged.len() > KILLS && rekeys > KILLS,
        "the writer barely ran"
    );
    assert!(
        opened_with[0] > 0 && opened_with[1] > 0,
        "kills never left the other key"
    );
}

/// A plaintext store holding `n` households (written without per-commit fsync, flushed).
fn plaintext_template(dir: &Path, n: usize) -> Vec<DocId> {
    let store = Arc::new(
        SledStore::open(
            dir,
            SledOptions {
                flush_every_commit: false,
                ..SledOptions::default()
            },
        )
        .unwrap(),
    );
    let r = Replica::open_with(store.clone(), "crash-phone", ReplicaConfig::default()).unwrap();
    let grid = GridPath::parse(GRID).unwrap();
    r.set_setup_identity("w-crash", "陈网格", &[Role::GridWorker], &grid)
        .unwrap();
    let ids = (0..n)
        .map(|i| r.register_household(&household(i), "").unwrap())
        .collect();
    gridsync_core::store::Store::flush(store.as_ref()).unwrap();
    ids
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn encrypting_a_plaintext_store_killed_at_random_moments_loses_nothing() {
    let seed = seed();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let root = tempfile::tempdir().unwrap();
    let template = root.path().join("template");
    let ids = plaintext_template(&template, 1500);
    let key = StoreKey::generate();
    let hex_key = hex::encode(key.as_bytes());
    // How long an uninterrupted conversion takes, so kills spread over it.
    let probe = root.path().join("probe");
    copy_dir(&template, &probe);
    let t = Instant::now();
    let lines = run_and_kill(
        &["convert", &probe.to_string_lossy(), &hex_key],
        Duration::from_secs(60),
    );
    assert_eq!(lines, ["OPEN"]);
    let full = t.elapsed();
    let mut cut = 0;
    for round in 0..KILLS {
        let work = root.path().join(format!("r{round}"));
        copy_dir(&template, &work);
        let after = full.mul_f64(rng.random_range(0.05..1.1));
        let lines = run_and_kill(&["convert", &work.to_string_lossy(), &hex_key], after);
        if lines.is_empty() {
            cut += 1;
        }
        // Whatever the kill left, the next open with the key finishes the job.
        let r = Replica::open_encrypted(&work, "crash-phone", key.clone())
            .unwrap_or_else(|e| panic!("round {round} (seed {seed}): did not open: {e}"));
        assert_eq!(
            r.count_households(None).unwrap(),
            ids.len(),
            "round {round}"
        );
        for id in ids.iter().step_by(97) {
            r.household(id)
                .unwrap_or_else(|e| panic!("round {round}: household {id} lost: {e}"));
        }
        drop(r);
        assert!(work.join(KEY_FILE).exists(), "round {round}: not encrypted");
        let wrong = Replica::open_encrypted(&work, "crash-phone", StoreKey::generate());
        assert!(
            matches!(wrong, Err(Error::WrongKey { .. })),
            "round {round}"
        );
        std::fs::remove_dir_all(&work).unwrap();
    }
    eprintln!(
        "{KILLS} kills while encrypting a 1,500-household store (uninterrupted: {full:?}): {cut} cut before it finished, every household there after each (seed {seed})"
    );
    assert!(
        cut >= KILLS / 3,
        "too few kills landed mid-conversion ({cut})"
    );
}
