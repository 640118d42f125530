//! Fuzzing what a replica loads, in CI form (proptest, well under a minute): random and
//! mutated automerge changes through `Replica::apply_changes`, mutated snapshots through
//! `Replica::apply_batch`, mutated documents written into the `docs` tree and read back
//! through a fresh `Replica`, and a sled store directory with damaged files opened again.
//! Every one must be an error or a clean result, never a panic (or a hang).
//!
//! Mutations are structure-aware: half the time the automerge chunk checksum is fixed up
//! after mutating, so the input reaches the parser instead of stopping at the checksum.
//! A panicking input is saved under `$CARGO_TARGET_TMPDIR/crashers` for
//! `tests/fixtures/crashers/`, which `fuzz_crashers.rs` replays. Replay a run with
//! `PROPTEST_RNG_SEED=<n>`.
//!
//! The three mutation fuzzers of automerge bytes reach panics inside automerge 0.12 within
//! a few hundred cases (the crashers in `tests/fixtures/crashers/`); core contains them
//! (`core::untrusted` catches the unwind around automerge calls on foreign bytes), so
//! they run in CI and assert an error, not a panic. Still ignored: the flipped-bit store
//! test below, a sled finding (a damaged log is truncated silently) that issue 12 owns.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use gridsync_core::model::{NewVisit, VisitMode};
use gridsync_core::{DocKind, Replica};
use gridsync_tests::netem::fuzz::{self, Mutation, fix_checksums, fixture_doc, mutate, mutation};
use proptest::prelude::*;
use proptest::test_runner::Config;

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

fn crashers() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("crashers")
}

fn kind() -> impl Strategy<Value = DocKind> {
    prop_oneof![
        Just(DocKind::Household),
        Just(DocKind::Visit),
        Just(DocKind::Case)
    ]
}

/// Mutates `seed` and fixes the chunk checksums if asked.
fn mutated(seed: &[u8], ms: &[Mutation], fix: bool) -> Vec<u8> {
    let mut b = seed.to_vec();
    for m in ms {
        mutate(&mut b, m);
    }
    if fix {
        fix_checksums(&mut b);
    }
    b
}

proptest! {
    #![proptest_config(config(192))]

    #[test]
    fn mutated_changes_never_panic(
        kind in kind(),
        which in any::<usize>(),
        ms in prop::collection::vec(mutation(), 1..5),
        fix in any::<bool>(),
    ) {
        let d = fixture_doc(kind);
        let bytes = mutated(&d.changes[which % d.changes.len()], &ms, fix);
        let name = fuzz::store_target_name("change", kind);
        fuzz::guarded(&crashers(), &name, &bytes, || fuzz::change_target(kind, &bytes).unwrap());
    }

    #[test]
    fn random_changes_never_panic(
        kind in kind(),
        body in prop::collection::vec(any::<u8>(), 0..600),
        chunk_type in 0u8..4,
    ) {
        // A chunk header with a valid checksum around random content.
        let mut bytes = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, chunk_type];
        let mut n = body.len();
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 { bytes.push(b); break; }
            bytes.push(b | 0x80);
        }
        bytes.extend_from_slice(&body);
        fix_checksums(&mut bytes);
        let name = fuzz::store_target_name("change", kind);
        fuzz::guarded(&crashers(), &name, &bytes, || fuzz::change_target(kind, &bytes).unwrap());
    }

    #[test]
    fn mutated_snapshots_never_panic(
        kind in kind(),
        ms in prop::collection::vec(mutation(), 1..5),
        fix in any::<bool>(),
        compressed in any::<bool>(),
    ) {
        let d = fixture_doc(kind);
        let seed = if compressed { &d.saved } else { &d.snapshot };
        let bytes = mutated(seed, &ms, fix);
        let name = fuzz::store_target_name("snapshot", kind);
        fuzz::guarded(&crashers(), &name, &bytes, || fuzz::snapshot_target(kind, &bytes).unwrap());
    }

    #[test]
    fn mutated_stored_documents_never_panic(
        kind in kind(),
        ms in prop::collection::vec(mutation(), 1..5),
        fix in any::<bool>(),
        compressed in any::<bool>(),
    ) {
        let d = fixture_doc(kind);
        let seed = if compressed { &d.saved } else { &d.snapshot };
        let bytes = mutated(seed, &ms, fix);
        let name = fuzz::store_target_name("doc", kind);
        fuzz::guarded(&crashers(), &name, &bytes, || fuzz::doc_target(kind, &bytes).unwrap());
    }
}

// ---- sled directories ------------------------------------------------------------------

const DEVICE: &str = "fuzz-phone";

/// A sled store with some records, made once; cases copy it and damage the copy.
fn template() -> &'static Path {
    static T: OnceLock<tempfile::TempDir> = OnceLock::new();
    T.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let r = Replica::open(dir.path(), DEVICE).unwrap();
        let w = gridsync_tests::netem::harness::small_workload(
            9,
            gridsync_tests::workload::GridSpec::rural_dongmu(),
            5,
            12,
            2,
        );
        gridsync_tests::load::load(&r, &w, w.period().1, DEVICE).unwrap();
        drop(r);
        dir
    })
    .path()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

/// Opens the store and reads through it, on a thread with a deadline (a hang is a
/// finding too). Returns what happened: "opened", "error: ..." or a panic message.
fn open_and_read(dir: &Path) -> Result<String, String> {
    let dir = dir.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(|| match Replica::open(&dir, DEVICE) {
            Err(e) => format!("error: {e}"),
            Ok(r) => {
                let hs = r.list_households(None);
                if let Ok(hs) = &hs {
                    for h in hs {
                        let _ = r.household(&h.id);
                        let _ = r.visits_of(&h.id, 100);
                    }
                    if let Some(h) = hs.first() {
                        let _ = r.log_visit(&NewVisit {
                            household: h.id.clone(),
                            worker: "w".into(),
                            at: 1_704_787_200_000,
                            mode: VisitMode::Phone,
                            notes: "电话回访。".into(),
                            findings: vec![],
                            follow_ups: vec![],
                            geo: None,
                        });
                    }
                }
                let _ = r.pending();
                let _ = r.cursor();
                format!("opened ({} households)", hs.map_or(0, |h| h.len()))
            }
        });
        let _ = tx.send(outcome.map_err(|p| {
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into())
        }));
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(r) => r,
        Err(_) => Err("hung for 20 s".into()),
    }
}

#[derive(Debug, Clone)]
enum Damage {
    /// Mutations of the file's bytes.
    Bytes(Vec<Mutation>),
    /// Zeroes from a position to the end (a torn write).
    ZeroTail(usize),
    /// The file removed.
    Remove,
    /// The file emptied.
    Empty,
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        6 => prop::collection::vec(mutation(), 1..8).prop_map(Damage::Bytes),
        2 => any::<usize>().prop_map(Damage::ZeroTail),
        1 => Just(Damage::Remove),
        1 => Just(Damage::Empty),
    ]
}

proptest! {
    #![proptest_config(config(40))]

    #[test]
    fn damaged_sled_directories_open_cleanly_or_fail_cleanly(
        which in any::<usize>(),
        damage in damage(),
    ) {
        let template = template();
        let all = files(template);
        let victim_rel = all[which % all.len()].strip_prefix(template).unwrap().to_path_buf();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("store");
        copy_dir(template, &dir);
        let victim = dir.join(&victim_rel);
        match &damage {
            Damage::Remove => std::fs::remove_file(&victim).unwrap(),
            Damage::Empty => std::fs::write(&victim, b"").unwrap(),
            Damage::ZeroTail(at) => {
                let mut b = std::fs::read(&victim).unwrap();
                let len = b.len();
                let at = if len == 0 { 0 } else { at % len };
                b[at..].fill(0);
                std::fs::write(&victim, b).unwrap();
            }
            Damage::Bytes(ms) => {
                let mut b = std::fs::read(&victim).unwrap();
                for m in ms {
                    mutate(&mut b, m);
                }
                std::fs::write(&victim, b).unwrap();
            }
        }
        let outcome = open_and_read(&dir);
        prop_assert!(
            outcome.is_ok(),
            "damaging {} with {:?}: {}",
            victim_rel.display(),
            damage,
            outcome.unwrap_err()
        );
    }
}

/// One flipped bit early in sled's `db` file: the store must fail to open (a clear
/// `Corrupt` error the app can act on) or hold everything it held.
///
/// FINDING (core/src/store/sled_store.rs with sled 0.34): sled's recovery treats the first
/// message whose checksum fails as the end of its log, so the store opens without an
/// error and silently holds only what came before the flipped bit: here 1 of 5 households
/// and 1 of 22 unsynced changes; any single flipped bit loses everything written after it,
/// acknowledged outbox entries included, and nobody is told. Ignored until core detects
/// it (e.g. a commit counter kept outside sled and compared at open):
/// `cargo test -p gridsync-tests --test fuzz_store -- --ignored flipped`.
#[test]
#[ignore = "finding: sled opens a damaged log by truncating it, silently losing records"]
fn a_flipped_bit_in_the_store_is_an_error_not_silent_loss() {
    // Count on one copy (opening rewrites the files), damage another, as last written.
    let template = template();
    let tmp = tempfile::tempdir().unwrap();
    let counted = tmp.path().join("counted");
    copy_dir(template, &counted);
    let before = Replica::open(&counted, DEVICE).unwrap();
    let households = before.list_households(None).unwrap().len();
    let pending = before.pending().unwrap().changes;
    drop(before);
    let dir = tmp.path().join("store");
    copy_dir(template, &dir);
    let db = dir.join("db");
    let mut bytes = std::fs::read(&db).unwrap();
    let at = bytes.len() / 40;
    eprintln!(
        "db is {} bytes; {households} households, {pending} pending; flipping byte {at}",
        bytes.len()
    );
    bytes[at] ^= 0x10;
    std::fs::write(&db, bytes).unwrap();
    match Replica::open(&dir, DEVICE) {
        Err(e) => eprintln!("damaged store refused: {e}"),
        Ok(r) => {
            let now = (
                r.list_households(None).unwrap().len(),
                r.pending().unwrap().changes,
            );
            assert_eq!(
                now,
                (households, pending),
                "a bit flipped at byte {at} of db: the store opened without an error holding \
                 {} of {households} households and {} of {pending} unsynced changes",
                now.0,
                now.1
            );
        }
    }
}
