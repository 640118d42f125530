//! Bit rot on a handset's store (issue 12, item 3): one byte flipped, in turn, at offsets
//! spread over every file of a real sled store (the database's header and first segment,
//! its later segments, its configuration and snapshot files, the witness). After each
//! flip the store is opened and written to as an app would: no write may be acknowledged
//! and then missing after a reopen, and no record may be missing from a store that opened
//! without saying it is damaged. A store found damaged (or that does not open) is salvaged
//! and must then take writes that last. Prints how many flips were detected, recovered
//! and lost.

#![allow(clippy::unwrap_used)]

use gridsync_core::store::testing::{copy_dir, flip_byte};
use std::path::{Path, PathBuf};

use gridsync_core::model::{Address, Grants, NewHousehold, NewVisit, Role, Tier, VisitMode};
use gridsync_core::replica::Replica;
use gridsync_core::store::{SledOptions, StoreKey};
use gridsync_core::{DocId, Error, GridPath};

const GRID: &str = "c1/g05";
const VISITS: usize = 40;

thread_local! {
    /// The key the stores of this pass are sealed with (`None`: plaintext).
    static KEY: std::cell::RefCell<Option<StoreKey>> = const { std::cell::RefCell::new(None) };
}

fn key() -> Option<StoreKey> {
    KEY.with(|k| k.borrow().clone())
}

fn open(dir: &Path) -> Result<Replica, Error> {
    match key() {
        Some(k) => Replica::open_encrypted(dir, "dev-1", k),
        None => Replica::open(dir, "dev-1"),
    }
}

fn options() -> SledOptions {
    SledOptions {
        key: key(),
        ..SledOptions::default()
    }
}

fn grants() -> Grants {
    Grants {
        worker: "wang".into(),
        display_name: "王芳".into(),
        roles: vec![Role::GridWorker],
        scopes: vec![GridPath::parse(GRID).unwrap()],
    }
}

fn visit(household: &DocId, n: usize) -> NewVisit {
    NewVisit {
        household: household.clone(),
        worker: "wang".into(),
        at: 1_704_700_800_000 + n as i64 * 60_000,
        mode: VisitMode::DoorToDoor,
        notes: format!("入户走访第{n}次，老人身体尚好，需关注用药"),
        findings: vec![],
        follow_ups: vec![],
        geo: None,
    }
}

/// A store with a household and `VISITS` visits, each its own durable commit.
fn pristine(dir: &Path) -> (DocId, Vec<DocId>) {
    let r = open(dir).unwrap();
    r.store_grants(&grants()).unwrap();
    let h = r
        .register_household(
            &NewHousehold {
                grid: GridPath::parse(GRID).unwrap(),
                address: Address::Urban {
                    building: "3栋".into(),
                    unit: "2单元".into(),
                    room: "501".into(),
                },
                head: "李桂英".into(),
                members: vec![],
                phone: String::new(),
                tier: Tier::Yellow,
                tags: vec![],
                contacts: vec![],
            },
            "wang",
        )
        .unwrap();
    let visits = (0..VISITS)
        .map(|n| r.log_visit(&visit(&h, n)).unwrap())
        .collect();
    (h, visits)
}

/// Every file of the store with the offsets to flip in it: the first 20 bytes of each
/// (headers), then 24 offsets spread over the rest.
fn flips(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let len = e.metadata().unwrap().len();
        if !e.file_type().unwrap().is_file() || len == 0 {
            continue;
        }
        let name = PathBuf::from(e.file_name());
        let mut at: Vec<u64> = (0..len.min(20)).collect();
        at.extend((1..=24).map(|i| len * i / 25));
        at.sort_unstable();
        at.dedup();
        out.extend(at.into_iter().map(|o| (name.clone(), o)));
    }
    out.sort();
    out
}

#[derive(Debug, Default)]
struct Tally {
    flips: usize,
    unnoticed_harmless: usize,
    refused_at_open: usize,
    found_damaged: usize,
    failed_on_read: usize,
    salvaged: usize,
    unsalvageable: usize,
    silently_missing: usize,
    acknowledged_lost: usize,
    records_recovered: usize,
    records_expected: usize,
}

/// The visits of `ids` a store still reads.
fn readable(r: &Replica, ids: &[DocId]) -> usize {
    ids.iter().filter(|id| r.visit(id).is_ok()).count()
}

/// The visits of `ids` a store says it does not hold (not an error reading them: gone).
fn gone(r: &Replica, ids: &[DocId]) -> usize {
    (ids.iter())
        .filter(|id| matches!(r.visit(id), Err(Error::NotFound { .. })))
        .count()
}

/// Writes one visit and checks, after a reopen, that an acknowledged write is there.
fn write_then_reopen(dir: &Path, h: &DocId, n: usize, t: &mut Tally) -> Result<(), Error> {
    let r = open(dir)?;
    let written = r.log_visit(&visit(h, n));
    drop(r);
    if let Ok(id) = written {
        let again = open(dir)?;
        if again.visit(&id).is_err() {
            t.acknowledged_lost += 1;
        }
    }
    Ok(())
}

/// Salvages the store and checks it takes a write that lasts.
fn salvage(dir: &Path, h: &DocId, visits: &[DocId], t: &mut Tally) {
    match Replica::salvage(dir, options()) {
        Ok(_) => {
            t.salvaged += 1;
            match open(dir) {
                Ok(r) => {
                    t.records_recovered += readable(&r, visits);
                    assert_eq!(r.store().damage(), None, "a salvaged store is not damaged");
                    drop(r);
                    write_then_reopen(dir, h, 900, t).unwrap();
                }
                Err(_) => t.unsalvageable += 1,
            }
        }
        Err(_) => t.unsalvageable += 1,
    }
    t.records_expected += visits.len();
}

fn one_flip(dir: &Path, h: &DocId, visits: &[DocId], t: &mut Tally) {
    let r = match open(dir) {
        Ok(r) => r,
        Err(_) => {
            t.refused_at_open += 1;
            return salvage(dir, h, visits, t);
        }
    };
    let damaged = r.store().damage().is_some();
    let seen = readable(&r, visits);
    if !damaged && gone(&r, visits) > 0 {
        t.silently_missing += 1;
    }
    let write = r.log_visit(&visit(h, 500));
    drop(r);
    if damaged {
        t.found_damaged += 1;
        assert!(
            matches!(write, Err(Error::StoreDamaged { .. })),
            "{write:?}"
        );
        return salvage(dir, h, visits, t);
    }
    if seen < visits.len() {
        // Opened as if whole: a record that does not read is an error on reading it.
        t.failed_on_read += 1;
    }
    if let Ok(id) = write {
        let kept = open(dir).is_ok_and(|again| again.visit(&id).is_ok());
        if !kept {
            t.acknowledged_lost += 1;
        }
    }
    if seen == visits.len() {
        t.unnoticed_harmless += 1;
    }
}

#[test]
fn no_flipped_byte_loses_an_acknowledged_write() {
    for sealed in [false, true] {
        KEY.with(|k| *k.borrow_mut() = sealed.then(StoreKey::generate));
        let t = flip_everywhere();
        println!(
            "{} store, {} flips: {} refused at open, {} found damaged (read-only), {} salvaged \
             ({} of {} records recovered, {} unsalvageable), {} read errors, {} harmless; \
             acknowledged writes lost {}, records silently missing {}",
            if sealed { "encrypted" } else { "plaintext" },
            t.flips,
            t.refused_at_open,
            t.found_damaged,
            t.salvaged,
            t.records_recovered,
            t.records_expected,
            t.unsalvageable,
            t.failed_on_read,
            t.unnoticed_harmless,
            t.acknowledged_lost,
            t.silently_missing
        );
        assert_eq!(t.acknowledged_lost, 0, "{t:#?}");
        assert_eq!(t.silently_missing, 0, "{t:#?}");
        assert!(t.found_damaged > 0, "the witness found nothing: {t:#?}");
    }
}

/// One pass over every flip of a fresh pristine store.
fn flip_everywhere() -> Tally {
    let root = tempfile::tempdir().unwrap();
    let clean = root.path().join("clean");
    let (h, visits) = pristine(&clean);
    let mut t = Tally::default();
    for (i, (file, at)) in flips(&clean).into_iter().enumerate() {
        let dir = root.path().join(format!("flip-{i}"));
        copy_dir(&clean, &dir).unwrap();
        flip_byte(&dir.join(&file), at as usize, 0x5a).unwrap();
        t.flips += 1;
        one_flip(&dir, &h, &visits, &mut t);
        std::fs::remove_dir_all(&dir).unwrap();
    }
    t
}
