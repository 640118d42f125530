//! `gridsync sync --watch` leaves the handset usable by other commands, and `sync` says
//! early that a relay does not answer, without mixing progress into `--json` output.

// A failed unwrap is a failed test, with its location: that is what tests want.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{G1, Relay, command, json, ok, text};

/// Adds a household on `dir`; returns its id.
fn add_household(dir: &std::path::Path, head: &str) -> String {
    support::add_household(
        dir,
        &[
            "--head",
            head,
            "--tier",
            "yellow",
            "--address",
            "3栋/2单元/501",
        ],
    )
}

#[test]
fn other_commands_use_the_handset_while_sync_watch_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (a, b) = (tmp.path().join("wangfang"), tmp.path().join("zhangmin"));
    relay.handset(&a, "wangfang", G1, "grid_worker");
    relay.handset(&b, "zhangmin", G1, "grid_worker");
    let mut watch = command(Some(&a))
        .args(["sync", "--watch", "--seconds", "30", "--every", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));

    // While the watch runs, the same handset takes new records and lists them.
    add_household(&a, "刘秀英");
    assert!(ok(&a, &["household", "list"]).contains("刘秀英"));
    assert_eq!(
        json(&a, &["household", "list"]).as_array().unwrap().len(),
        1
    );

    // The watch pushes it: the other handset gets it from the relay.
    let started = Instant::now();
    loop {
        ok(&b, &["sync"]);
        if ok(&b, &["household", "list"]).contains("刘秀英") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the household never reached the relay"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // And it still receives live: a household added on the other handset shows up.
    add_household(&b, "孙桂兰");
    ok(&b, &["sync"]);
    let started = Instant::now();
    while !ok(&a, &["household", "list"]).contains("孙桂兰") {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the watch stopped receiving"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(watch.try_wait().unwrap().is_none(), "the watch ended early");
    watch.kill().unwrap();
    let out = watch.wait_with_output().unwrap();
    let lines = text(&out.stdout);
    assert!(
        lines.contains("⇡ 1 change(s)") && lines.contains("⇣") && lines.contains("孙桂兰"),
        "{lines}{}",
        text(&out.stderr)
    );
    drop(relay);
}

#[test]
fn sync_against_a_silent_relay_says_so_early_and_keeps_json_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("phone");
    // A UDP port that takes packets and never answers: a relay that is down.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let fp = format!("sha256:{}", "ab".repeat(32));
    ok(
        &d,
        &[
            "init",
            "--relay",
            &addr,
            "--token",
            "gst_x",
            "--fingerprint",
            &fp,
            "--worker",
            "w",
        ],
    );
    let started = Instant::now();
    let out = command(Some(&d))
        .args(["--json", "sync", "--timeout", "5"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(12));
    assert!(!out.status.success());
    let stdout = text(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not pure JSON: {stdout:?}: {e}"));
    assert!(v["error"].as_str().unwrap().contains("5 s"), "{v}");
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(stderr.contains("not answering yet"), "{stderr:?}");
    assert!(stderr.contains(&addr), "{stderr:?}");

    // Without --json and with the default 60 s timeout, the line comes within seconds.
    let started = Instant::now();
    let mut sync = command(Some(&d))
        .arg("sync")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let stderr = sync.stderr.take().unwrap();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stderr), &mut first).unwrap();
    let waited = started.elapsed();
    let still_running = sync.try_wait().unwrap().is_none();
    sync.kill().unwrap();
    let out = sync.wait_with_output().unwrap();
    assert!(first.contains("not answering yet"), "{first:?}");
    assert!(waited < Duration::from_secs(8), "told after {waited:?}");
    assert!(still_running, "sync ended instead of trying on");
    assert!(text(&out.stdout).is_empty(), "{:?}", text(&out.stdout));
    drop(silent);
}

#[test]
fn a_command_waits_for_a_watch_round_that_holds_the_handset() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("phone");
    // Against a silent relay each round holds the store for its 5 s connect budget.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let fp = format!("sha256:{}", "ab".repeat(32));
    ok(
        &d,
        &[
            "init",
            "--relay",
            &addr,
            "--token",
            "gst_x",
            "--fingerprint",
            &fp,
            "--worker",
            "w",
            "--grid",
            G1,
        ],
    );
    let mut watch = command(Some(&d))
        .args(["sync", "--watch", "--seconds", "20"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    let started = Instant::now();
    add_household(&d, "刘秀英");
    assert!(
        started.elapsed() > Duration::from_millis(1500),
        "the store was free: nothing was waited for"
    );
    assert!(watch.try_wait().unwrap().is_none(), "the watch ended");
    watch.kill().unwrap();
    let out = watch.wait_with_output().unwrap();
    assert!(
        text(&out.stdout).contains("no answer from the relay"),
        "{}",
        text(&out.stdout)
    );
    drop(silent);
}
