//! A handset whose store's files rot (issue 12, item 3), through the `gridsync` binary: one
//! byte flipped in turn at each of the first 20 offsets of `store/db` (where the issue saw
//! a visit acknowledged and then lost). Every `visit log` afterwards either fails with a
//! clear error or lasts across the next command; a store that says it is damaged refuses
//! the write (exit 1, naming `gridsync salvage`), and after `gridsync salvage` it takes a
//! visit that lasts.

#![allow(clippy::unwrap_used)]

mod support;

use gridsync_core::store::testing::{copy_dir, flip_byte};
use std::path::Path;

use support::{gridsync, json, offline_handset, ok, text};

fn log_visit(dir: &Path, household: &str, notes: &str) -> Result<String, String> {
    let out = gridsync(
        Some(dir),
        &[
            "--json",
            "visit",
            "log",
            "--household",
            household,
            "--notes",
            notes,
        ],
    );
    if out.status.success() {
        let v: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
        Ok(v["id"].as_str().unwrap().to_string())
    } else {
        Err(format!("{}{}", text(&out.stdout), text(&out.stderr)))
    }
}

fn lasts(dir: &Path, visit: &str) -> bool {
    gridsync(Some(dir), &["visit", "show", visit])
        .status
        .success()
}

#[test]
fn a_rotten_store_never_acknowledges_a_visit_it_then_loses_and_salvage_brings_it_back() {
    let tmp = tempfile::tempdir().unwrap();
    let clean = tmp.path().join("clean");
    offline_handset(&clean, "wangfang");
    let h = support::add_household(
        &clean,
        &[
            "--head",
            "李桂英",
            "--tier",
            "yellow",
            "--address",
            "3栋/2单元/501",
        ],
    );
    for n in 0..12 {
        log_visit(&clean, &h, &format!("入户走访第{n}次")).unwrap();
    }
    let (mut damaged, mut other_errors, mut lasted) = (0, 0, 0);
    for at in 0..20 {
        let dir = tmp.path().join(format!("flip-{at}"));
        copy_dir(&clean, &dir).unwrap();
        flip_byte(&dir.join("store").join("db"), at, 0x5a).unwrap();
        match log_visit(&dir, &h, "损坏后的走访") {
            Ok(id) => {
                assert!(
                    lasts(&dir, &id),
                    "flip at {at}: visit {id} acknowledged, then lost"
                );
                lasted += 1;
            }
            Err(e) if e.contains("damaged") => {
                assert!(e.contains("gridsync salvage"), "{e}");
                damaged += 1;
                let report = json(&dir, &["salvage"]);
                assert!(report["entries"].as_u64().unwrap() > 0, "{report}");
                let id = log_visit(&dir, &h, "抢救后的走访").unwrap();
                assert!(
                    lasts(&dir, &id),
                    "flip at {at}: visit {id} lost after salvage"
                );
                ok(&dir, &["status"]);
            }
            Err(e) => {
                assert!(
                    e.contains("gridsync: "),
                    "flip at {at}: not a clear error: {e}"
                );
                other_errors += 1;
            }
        }
    }
    eprintln!(
        "20 flips: {damaged} found damaged and salvaged, {other_errors} refused to open, {lasted} wrote and lasted"
    );
    assert!(
        damaged > 0,
        "no flip was found damaged: the salvage path was not exercised"
    );
}
