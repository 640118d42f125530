//! Two handsets change one household's tier offline: after a sync through a real relay
//! both see the conflict (in `household show`, `household list`, `due` and `status`),
//! and once one settles it with `household resolve --field 等级` neither does, with every
//! change kept in the tier history.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use serde_json::Value;
use support::*;

fn tier_conflicts(shown: &Value) -> Vec<Value> {
    shown["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["field"] == "Tier")
        .cloned()
        .collect()
}

fn reasons(shown: &Value) -> Vec<String> {
    shown["household"]["tier_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["reason"].as_str().unwrap().to_string())
        .collect()
}

fn sync_all(order: &[&Path]) {
    for d in order {
        ok(d, &["sync"]);
    }
}

#[test]
fn two_handsets_change_one_households_tier_offline_and_both_see_the_conflict() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (a, b) = (tmp.path().join("wangfang"), tmp.path().join("lijun"));
    relay.handset(&a, "wangfang", G1, "grid_worker");
    relay.handset(&b, "lijun", G1, "grid_worker");
    let added = json(
        &a,
        &[
            "household",
            "add",
            "--head",
            "刘秀英",
            "--tier",
            "yellow",
            "--address",
            "1栋/1单元/101",
        ],
    );
    let h = added["id"].as_str().unwrap().to_string();
    sync_all(&[&a, &b]);

    // Offline, each handset re-tiers the household its own way.
    ok(
        &a,
        &[
            "household",
            "tier",
            &h,
            "--tier",
            "red",
            "--reason",
            "独居老人摔伤",
        ],
    );
    ok(
        &b,
        &[
            "household",
            "tier",
            &h,
            "--tier",
            "绿",
            "--reason",
            "子女返乡照料",
        ],
    );
    sync_all(&[&a, &b, &a]);

    let mut in_force = Vec::new();
    for d in [&a, &b] {
        let shown = json(d, &["household", "show", &h]);
        let tc = tier_conflicts(&shown);
        assert_eq!(tc.len(), 1, "{shown}");
        let mut values: Vec<String> = tc[0]["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["Tier"].as_str().unwrap().to_string())
            .collect();
        values.sort();
        assert_eq!(values, ["Green", "Red"], "{shown}");
        assert_eq!(reasons(&shown), ["登记", "独居老人摔伤", "子女返乡照料"]);
        in_force.push(shown["household"]["tier"].clone());

        let human = ok(d, &["household", "show", &h]);
        assert!(human.contains("conflicting edits"), "{human}");
        assert!(
            human.contains("tier     [0]") && human.contains("tier     [1]"),
            "{human}"
        );
        assert!(
            human.contains("红 连心户") && human.contains("绿 放心户"),
            "{human}"
        );
        assert!(
            human.contains("⚠ changed on two handsets at once"),
            "{human}"
        );
        let list = ok(d, &["household", "list"]);
        assert!(list.contains("⚠ tier"), "{list}");
        let due = ok(d, &["due", "--days", "120"]);
        assert!(due.contains("⚠ tier changed on two handsets"), "{due}");
        assert_eq!(json(d, &["status"])["households_with_conflicts"], 1);
    }
    assert_eq!(in_force[0], in_force[1], "one tier in force on both");

    // The community settles on red, by the field's Chinese name.
    let shown = json(&b, &["household", "show", &h]);
    let red = tier_conflicts(&shown)[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .position(|v| v["Tier"] == "Red")
        .unwrap()
        .to_string();
    let out = ok(
        &b,
        &[
            "household",
            "resolve",
            &h,
            "--field",
            "等级",
            "--choice",
            &red,
        ],
    );
    assert!(out.contains("tier of"), "{out}");
    sync_all(&[&b, &a]);
    for d in [&a, &b] {
        let shown = json(d, &["household", "show", &h]);
        assert!(tier_conflicts(&shown).is_empty(), "{shown}");
        assert_eq!(shown["household"]["tier"], "Red");
        let r = reasons(&shown);
        assert_eq!(r.len(), 4, "both changes and the choice: {r:?}");
        assert_eq!(r[3], "resolved conflict: red chosen over green");
        assert!(!ok(d, &["household", "list"]).contains('⚠'));
    }
    // Nothing is left to settle.
    let err = fails(
        &a,
        &[
            "household",
            "resolve",
            &h,
            "--field",
            "tier",
            "--choice",
            "0",
        ],
    );
    assert!(err.contains("no conflict to settle"), "{err}");
    drop(relay);
}
