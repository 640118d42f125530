//! Replays every crasher in `tests/fixtures/crashers/` through the fuzz target its name
//! names (`<target>-<kind>-<label>.bin`, see `gridsync_tests::netem::fuzz::replay`): each
//! must now come back as an error, not a panic.
//!
//! The crashers there today are automerge 0.12 panics (in `hexane`, `op_set2` and
//! `change_graph`) on malformed documents and changes, reached through
//! `Replica::apply_changes`, `Replica::apply_batch` and reading a stored document. Core
//! contains them (`core::untrusted` catches the unwind around automerge calls on foreign
//! bytes, so the replica lock is not poisoned either), and the replay guards that.
//!
//! `collect_new_crashers` (ignored, a tool) keeps the smallest input per panic site of
//! what the fuzzers saved under `target/tmp/crashers/` and copies it here.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use gridsync_tests::netem::fuzz;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/crashers")
}

fn bins(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "bin"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Runs `f`, returning where it panicked (file:line) if it did, quietly.
fn panic_site(f: impl FnOnce()) -> Option<String> {
    let site: Arc<Mutex<Option<String>>> = Arc::default();
    let s = site.clone();
    let old = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let loc = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        *s.lock().unwrap() = Some(format!("{loc}: {msg}"));
    }));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(old);
    r.err()
        .map(|_| site.lock().unwrap().clone().unwrap_or_default())
}

#[test]
fn crashers_replay_without_panics() {
    let files = bins(&fixtures());
    let mut failures = Vec::new();
    for f in &files {
        match panic_site(|| fuzz::replay(f).unwrap()) {
            None => eprintln!("ok     {}", f.display()),
            Some(site) => {
                eprintln!("PANIC  {}: {site}", f.display());
                failures.push(f.file_name().unwrap().to_string_lossy().to_string());
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} crashers still panic: {failures:?}",
        failures.len(),
        files.len()
    );
}

/// A tool: groups what the fuzzers saved by panic site, keeps the smallest input of each
/// and copies it to `tests/fixtures/crashers/<target>-<site>.bin`.
#[test]
#[ignore = "a tool for maintainers, not a test"]
fn collect_new_crashers() {
    let saved = Path::new(env!("CARGO_TARGET_TMPDIR")).join("crashers");
    let mut best: BTreeMap<(String, String), (usize, PathBuf, String)> = BTreeMap::new();
    for f in bins(&saved) {
        let name = f.file_stem().unwrap().to_string_lossy().to_string();
        let target = name
            .rsplit_once('-')
            .map_or(name.as_str(), |(t, _)| t)
            .to_string();
        let Some(site) = panic_site(|| fuzz::replay(&f).unwrap()) else {
            continue;
        };
        // file:line of the first frame, without the registry path.
        let short = site
            .split(": ")
            .next()
            .unwrap_or("")
            .rsplit("/src/")
            .next()
            .unwrap_or("")
            .replace(['/', '.', ':'], "_");
        let len = std::fs::metadata(&f).unwrap().len() as usize;
        // One input per way in (change, snapshot, doc, frame) and panic site.
        let way = target.split('-').next().unwrap_or("").to_string();
        let key = (way, short);
        if best.get(&key).is_none_or(|(l, _, _)| len < *l) {
            best.insert(key, (len, f.clone(), target));
        }
    }
    std::fs::create_dir_all(fixtures()).unwrap();
    for ((_, site), (len, f, target)) in best {
        let dest = fixtures().join(format!("{target}-{site}.bin"));
        std::fs::copy(&f, &dest).unwrap();
        eprintln!("{} ({len} B) <- {}", dest.display(), f.display());
    }
}
