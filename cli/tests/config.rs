//! `gridsync config show|set` and `init --force`, which never deletes a relay's settings
//! and enrollment token without being told so.

// A failed unwrap is a failed test, with its location: that is what tests want.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use support::{G1, fails, gridsync, json, ok, text};

const G2: &str = "ankang/hanbin/laocheng/xinhua/g02";
const FP: &str = "sha256:abababababababababababababababababababababababababababababababab";

fn relay_handset(d: &Path) {
    ok(
        d,
        &[
            "init",
            "--relay",
            "127.0.0.1:4433",
            "--token",
            "gst_secret",
            "--fingerprint",
            FP,
            "--worker",
            "wangfang",
            "--grid",
            G1,
        ],
    );
}

fn settings(d: &Path) -> String {
    std::fs::read_to_string(d.join("gridsync-cli.toml")).unwrap()
}

#[test]
fn config_show_hides_the_token_and_set_changes_one_setting() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    relay_handset(d);
    let shown = ok(d, &["config", "show"]);
    assert!(
        shown.contains("127.0.0.1:4433") && shown.contains(G1),
        "{shown}"
    );
    assert!(!shown.contains("gst_secret"), "{shown}");
    let v = json(d, &["config", "show"]);
    assert_eq!(v["worker"], "wangfang");
    assert_eq!(v["relay"]["addr"], "127.0.0.1:4433");
    assert!(!v.to_string().contains("gst_secret"), "{v}");

    ok(d, &["config", "set", "grid", G2]);
    ok(d, &["config", "set", "worker", "zhangmin"]);
    ok(d, &["config", "set", "role", "网格长"]);
    ok(d, &["config", "set", "relay", "127.0.0.1:5544"]);
    let v = json(d, &["config", "show"]);
    assert_eq!(v["grid"], G2);
    assert_eq!(v["worker"], "zhangmin");
    assert_eq!(v["role"], "grid_leader");
    assert_eq!(v["relay"]["addr"], "127.0.0.1:5544");
    assert_eq!(v["relay"]["fingerprint"], FP);
    assert!(settings(d).contains("gst_secret"), "the token was kept");
    // New records go to the new default grid.
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
            "1栋/1单元/101",
        ],
    );
    assert_eq!(h["grid"], G2, "{h}");

    for (args, wanted) in [
        (&["config", "set", "grid", "a//b"][..], "grid"),
        (&["config", "set", "role", "mayor"], "role"),
        (&["config", "set", "colour", "red"], "unknown setting"),
        (&["config", "set", "device", "x"], "device"),
        (&["config", "set", "relay", "nowhere"], "HOST:PORT"),
    ] {
        let e = fails(d, args);
        assert!(e.contains(wanted), "{args:?}: {e}");
    }
    assert_eq!(json(d, &["config", "show"])["grid"], G2, "nothing changed");

    // An offline handset has no relay address to change.
    let off = tmp.path().join("offline");
    ok(&off, &["init", "--offline", "--worker", "w"]);
    assert!(fails(&off, &["config", "set", "relay", "127.0.0.1:1"]).contains("init --relay"));
    // The error that asks for a grid points at `config set`.
    let e = fails(
        &off,
        &[
            "household",
            "add",
            "--head",
            "x",
            "--tier",
            "red",
            "--address",
            "1栋/1单元/101",
        ],
    );
    assert!(e.contains("config set grid"), "{e}");
    ok(&off, &["config", "set", "grid", G1]);
    ok(
        &off,
        &[
            "household",
            "add",
            "--head",
            "x",
            "--tier",
            "red",
            "--address",
            "1栋/1单元/101",
        ],
    );
}

#[test]
fn init_force_never_drops_a_relay_token_silently() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    relay_handset(d);
    // Without --force: pointed at `config set`.
    let e = fails(d, &["init", "--offline", "--grid", G2]);
    assert!(e.contains("config set"), "{e}");
    // With --force but without --drop-relay: refused, and nothing changes.
    let e = fails(d, &["init", "--offline", "--force", "--grid", G2]);
    assert!(e.contains("token") && e.contains("config set grid"), "{e}");
    assert!(e.contains("--drop-relay"), "{e}");
    assert!(settings(d).contains("gst_secret") && settings(d).contains(G1));
    // Explicitly: done, and said on stderr.
    let out = gridsync(
        Some(d),
        &["init", "--offline", "--force", "--drop-relay", "--grid", G2],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("token were deleted"),
        "{}",
        text(&out.stderr)
    );
    assert!(!settings(d).contains("gst_secret"));
    assert!(json(d, &["config", "show"])["relay"].is_null());
    // --drop-relay means nothing without --offline.
    assert!(
        !gridsync(Some(d), &["init", "--drop-relay", "--force"])
            .status
            .success()
    );
}
