//! Issue 15, a worker at the command line: output piped into `head`, households found by
//! their head's name, visit id prefixes, the Chinese forms a worker types, conflicts and
//! pending records marked in `household list` and `status`, and a refused enrollment
//! explained once with the commands that fix it.

// A failed unwrap is a failed test, with its location: that is what tests want.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::{G1, Relay, date_in, json, offline_handset, ok, text};

fn cmd(store: &Path, args: &[&str]) -> Command {
    let mut c = support::command(Some(store));
    c.args(args).stdin(Stdio::null());
    c
}

fn run(store: &Path, args: &[&str]) -> Output {
    support::gridsync(Some(store), args)
}

/// Runs a command that must fail with one `gridsync: …` line on stderr; returns that line.
fn fails(store: &Path, args: &[&str]) -> String {
    let out = run(store, args);
    assert!(!out.status.success(), "gridsync {args:?} succeeded");
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err:?}");
    assert!(err.starts_with("gridsync: "), "{args:?}: {err:?}");
    err.trim_end().to_string()
}

fn add(dir: &Path, head: &str, address: &str) -> String {
    support::add_household(
        dir,
        &["--head", head, "--tier", "red", "--address", address],
    )
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    offline_handset(d, "wangfang");
    let id = add(d, "王秀英", "1栋/1单元/101");
    for args in [
        vec!["household", "list"],
        vec!["household", "show", &id],
        vec!["--json", "household", "list"],
        vec!["status"],
    ] {
        // The reader is gone before gridsync writes: its first write meets a closed pipe.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = cmd(d, &args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {err}");
        assert!(out.status.success(), "{args:?}: {:?} {err}", out.status);
    }
}

#[test]
fn households_are_found_by_the_heads_name() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    offline_handset(d, "wangfang");
    let wang = add(d, "王秀英", "1栋/1单元/101");
    let li = add(d, "李建国", "1栋/1单元/102");
    let li2 = add(d, "李建国", "2栋/1单元/301");
    let shown = json(d, &["household", "show", "王秀英"]);
    assert_eq!(shown["household"]["id"], wang.as_str());
    // Part of a name, when it names one household.
    assert_eq!(
        json(d, &["household", "show", "秀英"])["household"]["id"],
        wang.as_str()
    );
    // Other commands take the name too.
    json(
        d,
        &["visit", "log", "--household", "王秀英", "--notes", "在家"],
    );
    // Two households of that name: both listed with their ids, and a pick asked for.
    let e = fails(d, &["household", "show", "李建国"]);
    assert!(e.contains("2 households match"), "{e}");
    assert!(e.contains(&li[..10]) && e.contains(&li2[..10]), "{e}");
    assert!(e.contains("pick one by its id"), "{e}");
    let e = fails(d, &["household", "show", "赵六"]);
    assert!(
        e.contains("no household on this handset has a head named so"),
        "{e}"
    );
}

#[test]
fn visit_show_and_done_take_a_unique_id_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    offline_handset(d, "wangfang");
    let h = add(d, "王秀英", "1栋/1单元/101");
    let v = json(
        d,
        &[
            "visit",
            "log",
            "--household",
            &h,
            "--notes",
            "血压偏高",
            "--follow-up",
            &format!("送药上门@{}", date_in(10)),
        ],
    );
    let id = v["id"].as_str().unwrap().to_string();
    let prefix = &id[..8];
    let shown = json(d, &["visit", "show", prefix]);
    assert_eq!(shown["id"], id.as_str());
    assert!(ok(d, &["visit", "show", prefix]).contains("血压偏高"));
    let done = json(d, &["visit", "done", prefix, "0"]);
    assert_eq!(done["record"]["follow_ups"][0]["done"], true, "{done}");
    let e = fails(d, &["visit", "show", "v-0000"]);
    assert!(e.contains("unknown visit v-0000"), "{e}");
}

#[test]
fn chinese_forms_are_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    offline_handset(d, "wangfang");
    let id = add(d, "王秀英", "1栋／1单元／１０１");
    let h = json(d, &["household", "show", &id]);
    assert_eq!(h["household"]["address"]["Urban"]["room"], "101", "{h}");
    assert_eq!(h["household"]["address"]["Urban"]["unit"], "1单元", "{h}");
    let m = json(
        d,
        &[
            "household",
            "edit",
            &id,
            "--member",
            "王小明：２０１２：孙子",
        ],
    );
    assert_eq!(m["members"][0]["birth_year"], 2012, "{m}");
    // Chinese field names are known (settling a real conflict by 电话: the marks test).
    for field in [
        "电话", "户主", "姓名", "地址", "成员", "等级", "分级", "phone", "tier",
    ] {
        let out = run(
            d,
            &[
                "household",
                "resolve",
                &id,
                "--field",
                field,
                "--choice",
                "0",
            ],
        );
        let e = text(&out.stderr);
        assert!(!e.contains("unknown field"), "{field}: {e}");
    }
    let e = fails(
        d,
        &[
            "household",
            "resolve",
            &id,
            "--field",
            "年龄",
            "--choice",
            "0",
        ],
    );
    assert!(
        e.contains("unknown field") && e.contains("电话") && e.contains("等级"),
        "{e}"
    );
}

/// Sets up a handset in `dir` enrolled with `token` (a new device's when `None`).
fn handset(relay: &Relay, dir: &Path, name: &str, token: Option<&str>) {
    let token = token.map_or_else(|| relay.token(name, G1), str::to_string);
    relay.init_with_token(dir, name, &token, None);
}

#[test]
fn an_unknown_token_is_explained_once_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let d = tmp.path().join("h");
    handset(&relay, &d, "wangfang", Some("not-a-token-the-relay-knows"));
    // The relay's refusal must arrive as the denial every time (it once raced the relay
    // dropping the stream's receiving side and showed up as a network error).
    let e = fails(&d, &["sync"]);
    assert_eq!(e.matches("access denied").count(), 1, "{e}");
    assert!(e.contains("gridsync init --force --relay"), "{e}");
    assert!(e.contains("--token NEW_TOKEN"), "{e}");
    assert!(e.contains("gridsync-relay"), "{e}");
    assert!(e.contains("device add"), "{e}");
}

#[test]
fn conflicts_and_pending_records_are_marked_in_list_and_status() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    handset(&relay, &a, "wangfang", None);
    handset(&relay, &b, "zhangmin", None);
    let id = add(&a, "王秀英", "1栋/1单元/101");
    let listed = json(&a, &["household", "list"]);
    assert_eq!(listed[0]["pending"], true, "{listed}");
    assert!(ok(&a, &["household", "list"]).contains('↑'));
    assert_eq!(json(&a, &["status"])["households_pending"], 1);
    ok(&a, &["sync"]);
    ok(&b, &["sync"]);
    let listed = json(&a, &["household", "list"]);
    assert_eq!(listed[0]["pending"], false, "{listed}");
    assert_eq!(listed[0]["conflicts"], serde_json::json!([]), "{listed}");
    // Both edit the phone offline, then sync: the field holds two values.
    ok(&a, &["household", "edit", &id, "--phone", "13800000001"]);
    ok(&b, &["household", "edit", &id, "--phone", "13900000002"]);
    ok(&a, &["sync"]);
    ok(&b, &["sync"]);
    let listed = json(&b, &["household", "list"]);
    assert_eq!(
        listed[0]["conflicts"],
        serde_json::json!(["phone"]),
        "{listed}"
    );
    let table = ok(&b, &["household", "list"]);
    assert!(table.contains("⚠ phone"), "{table}");
    let status = json(&b, &["status"]);
    assert_eq!(status["households_with_conflicts"], 1, "{status}");
    assert!(ok(&b, &["status"]).contains("1 household(s) with fields to settle"));
    ok(
        &b,
        &[
            "household",
            "resolve",
            &id,
            "--field",
            "电话",
            "--choice",
            "0",
        ],
    );
    assert_eq!(json(&b, &["status"])["households_with_conflicts"], 0);
}
