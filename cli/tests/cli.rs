//! The `gridsync` binary against temporary handset directories: offline record keeping,
//! refused case steps, due ordering, JSON output, one-line errors, two handsets syncing
//! through a real in-process relay over QUIC, and `gridsync demo`.

// A failed unwrap is a failed test, with its location: that is what tests want.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use support::{G1, Relay, beijing_days_ago, gridsync, json, offline_handset, ok, text};

const COMMUNITY: &str = "ankang/hanbin/laocheng/xinhua";

/// Runs a command that must fail with one `gridsync: …` line on stderr; returns that line.
fn fails(store: Option<&Path>, args: &[&str]) -> String {
    let out = gridsync(store, args);
    assert!(!out.status.success(), "gridsync {args:?} succeeded");
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err:?}");
    assert!(err.starts_with("gridsync: "), "{args:?}: {err:?}");
    assert!(
        text(&out.stdout).is_empty(),
        "{args:?} printed {:?}",
        text(&out.stdout)
    );
    err.trim_end().to_string()
}

fn str_of(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

fn add_household(dir: &Path, head: &str, tier: &str) -> String {
    support::add_household(
        dir,
        &["--head", head, "--tier", tier, "--address", "3栋/2单元/501"],
    )
}

#[test]
fn offline_households_visits_and_cases() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let d = &tmp.path().join("phone");
    // Enrolled for every role; one sync brings the grants, then all of it is offline.
    relay.handset(d, "wangfang", G1, "grid_worker");
    ok(d, &["sync"]);
    drop(relay);
    let h = json(
        d,
        &[
            "household",
            "add",
            "--head",
            "刘秀英",
            "--tier",
            "red",
            "--address",
            "3栋/2单元/501",
            "--phone",
            "13800001111",
            "--member",
            "刘秀英:1948:户主",
            "--member",
            "王小明:2013:孙子",
            "--tag",
            "留守老人",
        ],
    );
    let id = str_of(&h["id"]);
    assert_eq!(h["tier"], "Red");
    assert_eq!(
        h["contacts"][0], "wangfang",
        "the worker contacts by default"
    );
    ok(
        d,
        &[
            "household",
            "add",
            "--head",
            "赵丽",
            "--tier",
            "绿",
            "--rural",
            "四组/柳树湾/12号",
        ],
    );
    let list = ok(d, &["household", "list"]);
    assert!(
        list.contains("刘秀英") && list.contains("四组/柳树湾/12号") && list.contains("红"),
        "{list}"
    );
    assert_eq!(json(d, &["household", "list"]).as_array().unwrap().len(), 2);

    let prefix = &id[..8];
    let v = json(
        d,
        &[
            "visit",
            "log",
            "--household",
            prefix,
            "--notes",
            "老人腿脚不便，孙子放学后无人看管。",
            "--finding",
            "楼道堆放杂物",
            "--follow-up",
            "联系四点半课堂@2027-03-10",
            "--at",
            "2026-03-01 09:30",
        ],
    );
    assert_eq!(v["record"]["at"], 1_772_328_600_000_i64, "Beijing time");
    ok(
        d,
        &[
            "visit",
            "log",
            "--household",
            prefix,
            "--mode",
            "phone",
            "--notes",
            "电话回访",
        ],
    );
    let visits = json(d, &["visit", "list", "--household", &id]);
    assert_eq!(visits.as_array().unwrap().len(), 2);
    assert_eq!(visits[1]["open_follow_ups"], 1);
    let human = ok(d, &["visit", "list", "--household", prefix]);
    assert!(
        human.contains("2026-03-01 09:30") && human.contains("刘秀英"),
        "{human}"
    );

    ok(
        d,
        &[
            "household",
            "tier",
            prefix,
            "--tier",
            "yellow",
            "--reason",
            "孙子已由父母接走",
        ],
    );
    let shown = ok(d, &["household", "show", prefix]);
    for want in [
        "刘秀英",
        "王小明",
        "tier history",
        "孙子已由父母接走",
        "黄 关心户",
        "电话回访",
        "2026-03-01 09:30",
    ] {
        assert!(shown.contains(want), "{want:?} missing from\n{shown}");
    }
    let shown = json(d, &["household", "show", &id]);
    assert_eq!(
        shown["household"]["tier_history"].as_array().unwrap().len(),
        2
    );
    assert_eq!(shown["visits"].as_array().unwrap().len(), 2);
    assert_eq!(shown["conflicts"].as_array().unwrap().len(), 0);

    let c = json(
        d,
        &[
            "case",
            "report",
            "--title",
            "楼道堆放杂物",
            "--category",
            "环境卫生",
            "--household",
            prefix,
        ],
    );
    let case = str_of(&c["id"]);
    assert_eq!(c["grid"], G1, "the household's grid");
    // A grid worker may not accept: one line, non-zero exit, nothing written.
    let pending = json(d, &["status"])["pending"]["changes"].clone();
    let err = fails(Some(d), &["case", "act", &case, "accept"]);
    assert!(err.contains("grid_worker may not accept"), "{err}");
    assert_eq!(json(d, &["status"])["pending"]["changes"], pending);
    assert_eq!(
        json(d, &["case", "show", &case])["case"]["timeline"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let err = fails(
        Some(d),
        &["case", "act", &case, "triage", "--role", "community_staff"],
    );
    assert!(err.contains("--class"), "{err}");

    ok(
        d,
        &[
            "case",
            "act",
            &case[..8],
            "accept",
            "--role",
            "community_staff",
        ],
    );
    let c = json(
        d,
        &[
            "case",
            "act",
            &case,
            "triage",
            "--role",
            "community_staff",
            "--class",
            "small",
            "--assignee",
            "wangfang",
        ],
    );
    assert_eq!(c["state"]["status"], "Triaged");
    ok(d, &["case", "act", &case, "start"]);
    ok(d, &["case", "act", &case, "resolve", "--summary", "已清理"]);
    let shown = ok(d, &["case", "show", &case, "--role", "supervisor"]);
    for want in [
        "楼道堆放杂物",
        "办结 resolved",
        "triage",
        "小事 small",
        "you may now: evaluate, comment",
    ] {
        assert!(shown.contains(want), "{want:?} missing from\n{shown}");
    }
    let shown = json(d, &["case", "show", &case, "--role", "supervisor"]);
    assert_eq!(shown["allowed"], serde_json::json!(["evaluate", "comment"]));
    assert_eq!(
        json(d, &["case", "list", "--status", "resolved"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        json(d, &["case", "list", "--open"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        json(d, &["case", "list", "--review"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
    ok(
        d,
        &[
            "case",
            "act",
            &case,
            "evaluate",
            "--role",
            "supervisor",
            "--satisfied",
            "true",
        ],
    );
    assert_eq!(
        json(d, &["case", "list", "--open"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let status = json(d, &["status"]);
    assert_eq!(status["households"], 2);
    assert_eq!(status["grants"]["worker"], "wangfang");
    assert!(status["pending"]["changes"].as_u64().unwrap() >= 10);
}

#[test]
fn due_lists_the_most_urgent_first() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    offline_handset(d, "w1");
    let visited = [
        ("黄B", "yellow", Some(40)),
        ("绿C", "green", Some(95)),
        ("红A", "red", None),
        ("红D", "red", Some(2)),
        ("绿E", "green", Some(10)),
    ];
    for (head, tier, days_ago) in visited {
        let id = add_household(d, head, tier);
        if let Some(days) = days_ago {
            ok(
                d,
                &[
                    "visit",
                    "log",
                    "--household",
                    &id,
                    "--notes",
                    "走访",
                    "--at",
                    &beijing_days_ago(days),
                ],
            );
        }
    }
    let heads = |args: &[&str]| -> Vec<String> {
        json(d, args)
            .as_array()
            .unwrap()
            .iter()
            .map(|v| str_of(&v["head"]))
            .collect()
    };
    assert_eq!(heads(&["due"]), ["黄B", "绿C", "红A", "红D"]);
    assert_eq!(heads(&["due", "--days", "0"]), ["黄B", "绿C", "红A"]);
    assert_eq!(
        heads(&["due", "--worker", "someone-else"]),
        Vec::<String>::new()
    );
    let table = ok(d, &["due"]);
    let pos = |s: &str| {
        table
            .find(s)
            .unwrap_or_else(|| panic!("{s} missing from\n{table}"))
    };
    assert!(pos("黄B") < pos("绿C") && pos("绿C") < pos("红A") && pos("红A") < pos("红D"));
    assert!(table.contains("never") && table.contains("in "), "{table}");
}

#[test]
fn bad_input_gives_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    assert!(fails(Some(d), &["household", "list"]).contains("gridsync init"));
    assert!(fails(None, &["household", "list"]).contains("--store"));
    offline_handset(d, "w1");
    let id = add_household(d, "王芳", "red");
    assert!(fails(Some(d), &["init", "--offline"]).contains("--force"));
    let unknown = "h-0123456789abcdef0123456789abcdef";
    let e = fails(
        Some(d),
        &["visit", "log", "--household", unknown, "--notes", "x"],
    );
    assert!(e.contains("unknown household"), "{e}");
    assert!(fails(Some(d), &["household", "show", "h-ffff"]).contains("unknown household"));
    assert!(fails(Some(d), &["household", "show", "zzz"]).contains("not a household id"));
    let e = fails(
        Some(d),
        &["visit", "log", "--household", &id, "--notes", "   "],
    );
    assert!(e.contains("notes") && e.contains("empty"), "{e}");
    let e = fails(
        Some(d),
        &[
            "household",
            "add",
            "--head",
            "x",
            "--tier",
            "purple",
            "--address",
            "1/2/3",
        ],
    );
    assert!(
        e.contains("purple") && e.contains("red, yellow or green"),
        "{e}"
    );
    let e = fails(
        Some(d),
        &[
            "household",
            "add",
            "--head",
            "x",
            "--tier",
            "red",
            "--address",
            "1/2",
        ],
    );
    assert!(e.contains("BUILDING/UNIT/ROOM"), "{e}");
    let e = fails(
        Some(d),
        &[
            "visit",
            "log",
            "--household",
            &id,
            "--notes",
            "x",
            "--at",
            "2026-02-30 10:00",
        ],
    );
    assert!(e.contains("no day 30"), "{e}");
    let e = fails(
        Some(d),
        &["household", "add", "--head", "x", "--tier", "red"],
    );
    assert!(e.contains("--address"), "{e}");
    let e = fails(
        Some(d),
        &[
            "init",
            "--relay",
            "127.0.0.1:4433",
            "--token",
            "t",
            "--fingerprint",
            "abc",
            "--force",
        ],
    );
    assert!(e.contains("fingerprint"), "{e}");
    assert!(fails(Some(d), &["sync"]).contains("no relay configured"));
    // --json errors are a JSON object on stdout.
    let out = gridsync(Some(d), &["--json", "household", "show", unknown]);
    assert!(!out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON error");
    assert!(str_of(&v["error"]).contains("unknown household"), "{v}");
    assert_eq!(
        json(d, &["household", "list"]).as_array().unwrap().len(),
        1,
        "nothing was written"
    );
}

#[test]
fn two_cli_handsets_sync_through_a_real_relay() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (a, s) = (tmp.path().join("wangfang"), tmp.path().join("zhangmin"));
    // One starts offline and gets its relay later; the other is enrolled from the start.
    ok(
        &a,
        &["init", "--offline", "--worker", "wangfang", "--grid", G1],
    );
    let h = add_household(&a, "刘秀英", "red");
    ok(
        &a,
        &[
            "visit",
            "log",
            "--household",
            &h,
            "--notes",
            "入户走访，情况稳定。",
        ],
    );
    let case = str_of(
        &json(
            &a,
            &[
                "case",
                "report",
                "--title",
                "楼道堆放杂物",
                "--category",
                "环境卫生",
            ],
        )["id"],
    );
    relay.handset(&a, "wangfang", G1, "grid_worker");
    relay.handset(&s, "zhangmin", COMMUNITY, "community_staff");

    let report = json(&a, &["sync"]);
    assert_eq!(report["acknowledged"], 3, "{report}");
    assert_eq!(report["caught_up"], true);
    let human = ok(&s, &["sync"]);
    assert!(human.contains("3 record(s) changed"), "{human}");
    assert!(ok(&s, &["household", "list"]).contains("刘秀英"));
    assert_eq!(
        json(&s, &["visit", "list", "--household", &h])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Offline, staff accept and triage the case while the worker's handset (acting for
    // the community) rejects it, and both edit the household's phone.
    ok(&s, &["case", "act", &case, "accept"]);
    ok(&s, &["case", "act", &case, "triage", "--class", "small"]);
    ok(
        &a,
        &[
            "case",
            "act",
            &case,
            "reject",
            "--role",
            "community_staff",
            "--reason",
            "不属实",
        ],
    );
    ok(&s, &["household", "edit", &h, "--phone", "13800002222"]);
    ok(&a, &["household", "edit", &h, "--phone", "13900003333"]);
    for d in [&s, &a, &s] {
        ok(d, &["sync"]);
    }
    let (ca, cs) = (
        json(&a, &["case", "show", &case]),
        json(&s, &["case", "show", &case]),
    );
    assert_eq!(ca["case"], cs["case"], "the case converged");
    assert_eq!(ca["case"]["timeline"].as_array().map(Vec::len), Some(4));
    for d in [&a, &s] {
        assert_eq!(
            json(d, &["case", "list", "--review"])
                .as_array()
                .map(Vec::len),
            Some(1)
        );
        let shown = ok(d, &["case", "show", &case]);
        assert!(
            shown.contains("⚠") && shown.contains("did not apply"),
            "{shown}"
        );
    }
    for d in [&a, &s] {
        let shown = json(d, &["household", "show", &h]);
        let values = &shown["conflicts"][0]["values"];
        assert_eq!(values.as_array().map(Vec::len), Some(2), "{shown}");
        assert!(ok(d, &["household", "show", &h]).contains("conflicting edits"));
    }
    ok(
        &s,
        &[
            "household",
            "resolve",
            &h,
            "--field",
            "phone",
            "--choice",
            "1",
        ],
    );
    let status = json(&s, &["status"]);
    assert_eq!(status["pending"]["changes"], 1);

    // `sync --watch` on the worker's handset receives the staff's change live.
    let watch = Command::new(env!("CARGO_BIN_EXE_gridsync"))
        .env_remove("GRIDSYNC_STORE")
        .arg("--store")
        .arg(&a)
        .args(["sync", "--watch", "--seconds", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    ok(&s, &["sync"]);
    let out = watch.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = text(&out.stdout);
    assert!(
        lines.contains("Live") && lines.contains("⇣") && lines.contains("刘秀英"),
        "{lines}"
    );
    let shown = json(&a, &["household", "show", &h]);
    assert_eq!(
        shown["conflicts"].as_array().map(Vec::len),
        Some(0),
        "{shown}"
    );
    assert_eq!(json(&a, &["status"])["pending"]["changes"], 0);
    drop(relay);
}

#[test]
fn demo_converges_and_exits_zero() {
    let out = gridsync(None, &["--json", "demo"]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["checks"].as_array().unwrap().len() >= 8);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = gridsync(None, &["demo", "--dir", dir.to_str().unwrap()]);
    let story = text(&out.stdout);
    assert!(
        out.status.success() && story.contains("checks held"),
        "{story}{}",
        text(&out.stderr)
    );
    assert!(!story.contains('✗'), "{story}");
    let list = ok(&dir.join("handsets/zhangmin"), &["household", "list"]);
    assert!(list.contains("孙桂兰") && list.contains("刘秀英"), "{list}");
}
