//! A change the relay refuses, end to end with the `gridsync` binary and a real relay over
//! QUIC: `sync` exits non-zero and names the record by id and kind; the next sync does not
//! send it again; `refused list` shows it; `refused discard` removes it only when
//! confirmed; every other record is untouched and still syncs.

// A failed unwrap is a failed test, with its location: that is what tests want.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use serde_json::Value;
use support::{G1, Relay, fails, gridsync, json, ok, text};

/// A grid of the same community the handset is not granted.
const G2: &str = "ankang/hanbin/laocheng/xinhua/g02";

fn add_household(dir: &Path, head: &str, grid: &str) -> String {
    let args = [
        "--head",
        head,
        "--tier",
        "yellow",
        "--address",
        "3栋/2单元/501",
        "--grid",
        grid,
    ];
    support::add_household(dir, &args)
}

/// Runs `gridsync --json sync`, which must fail; returns the JSON it printed.
fn failing_json_sync(dir: &Path) -> Value {
    let out = gridsync(Some(dir), &["--json", "sync"]);
    assert!(
        !out.status.success(),
        "sync succeeded: {}",
        text(&out.stdout)
    );
    serde_json::from_str(&text(&out.stdout)).unwrap()
}

fn household_ids(dir: &Path) -> Vec<String> {
    (json(dir, &["household", "list"]).as_array().unwrap().iter())
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_refused_record_is_named_not_resent_listed_and_discarded_on_request() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (a, b) = (tmp.path().join("wangfang"), tmp.path().join("zhangmin"));
    // Set up offline to work in G2 while the enrollment grants only G1: the handset
    // accepts the write at the source (it has not yet heard its grants), the relay
    // refuses it.
    let token = relay.token("wangfang", G1);
    relay.init_in_grid(&a, "wangfang", &token, Some("grid_worker"), G2);
    relay.handset(&b, "zhangmin", G1, "grid_worker");
    let stray = add_household(&a, "越界户", G2);

    // The sync pushes it, the relay refuses it: non-zero, the record named.
    let first = failing_json_sync(&a);
    assert_eq!(first["pushed"], 1, "{first}");
    assert_eq!(first["acknowledged"], 0, "{first}");
    assert_eq!(
        first["refused"].as_array().map(Vec::len),
        Some(1),
        "{first}"
    );
    assert_eq!(first["refused"][0]["doc"], stray.as_str());
    assert_eq!(first["refused_records"][0]["doc"], stray.as_str());
    assert_eq!(first["refused_records"][0]["kind"], "Household");
    let error = first["error"].as_str().unwrap();
    assert!(error.contains(&format!("household {stray}")), "{error}");
    assert!(
        (relay.hub.store())
            .get("rdocs", stray.as_bytes())
            .unwrap()
            .is_none()
    );

    // Now holding its grants, the handset writes in G1; the next sync sends that work
    // and not the refused change again, and still fails while the record is refused.
    let kept = add_household(&a, "刘秀英", G1);
    ok(
        &a,
        &["visit", "log", "--household", &kept, "--notes", "入户走访"],
    );
    let second = failing_json_sync(&a);
    assert_eq!(
        (second["pushed"].clone(), second["acknowledged"].clone()),
        (2.into(), 2.into()),
        "the refused change was sent again: {second}"
    );
    // No new refusal; the refused record is still named, and sync keeps failing.
    assert_eq!(second["refused"].as_array().map(Vec::len), Some(0));
    assert_eq!(second["refused_records"][0]["doc"], stray.as_str());
    let err = fails(&a, &["sync"]);
    assert!(
        err.contains(&format!("household {stray}")) && err.contains("gridsync refused"),
        "{err}"
    );
    let status = json(&a, &["status"]);
    assert_eq!(status["refused_records"], 1, "{status}");
    assert_eq!(status["pending"]["refused"], 1);
    assert_eq!(status["pending"]["changes"], 0);
    assert!(ok(&a, &["status"]).contains("refused   1 change(s) in 1 record(s)"));

    // Listed, and marked in the household list, until discarded.
    let listed = ok(&a, &["refused", "list"]);
    let short = &stray[..10];
    assert!(
        listed.contains(short)
            && listed.contains("household")
            && listed.contains(G2)
            && listed.contains("outside"),
        "{listed}"
    );
    let rows = json(&a, &["refused", "list"]);
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    assert_eq!(rows[0]["whole_record"], true);
    assert!(ok(&a, &["household", "list"]).contains("✗"));

    // Without a terminal to confirm on, nothing is discarded without --yes.
    let err = fails(&a, &["refused", "discard", short]);
    assert!(err.contains("--yes") && err.contains("deletes it"), "{err}");
    assert_eq!(household_ids(&a).len(), 2);
    let gone = json(&a, &["refused", "discard", short, "--yes"]);
    assert_eq!(gone["deleted"], true, "{gone}");
    assert_eq!(household_ids(&a), vec![kept.clone()]);
    assert_eq!(
        json(&a, &["refused", "list"]).as_array().map(Vec::len),
        Some(0)
    );
    let err = fails(&a, &["household", "show", &stray]);
    assert!(err.contains("unknown household"), "{err}");

    // Everything else is untouched and still syncs.
    let clean = json(&a, &["sync"]);
    assert_eq!(clean["pushed"], 0, "{clean}");
    ok(&a, &["household", "edit", &kept, "--phone", "13800002222"]);
    let pushed = json(&a, &["sync"]);
    assert_eq!(
        (pushed["pushed"].clone(), pushed["acknowledged"].clone()),
        (1.into(), 1.into()),
        "{pushed}"
    );
    ok(&b, &["sync"]);
    assert_eq!(household_ids(&b), vec![kept.clone()]);
    let shown = json(&b, &["household", "show", &kept]);
    assert_eq!(shown["household"]["phone"], "13800002222", "{shown}");
    assert_eq!(
        json(&b, &["visit", "list", "--household", &kept])
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let status = json(&a, &["status"]);
    assert_eq!(
        (status["refused_records"].clone(), status["pending"].clone()),
        (
            0.into(),
            serde_json::json!({"changes": 0, "bytes": 0, "refused": 0})
        ),
        "{status}"
    );
    drop(relay);
}
