//! `gridsync-relay device …` administers a relay's data directory and nothing else: a
//! missing or misspelled `--data-dir` (or the default where no relay ran) is an error that
//! names the directory and the fix, and creates nothing; a stopped relay's directory, or an
//! empty one made ready before the relay's first start, still takes enrolments.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use gridsync_tests::relay_process::{ProcessOptions, RelayProcess, relay_binary};

/// Runs the relay binary in `cwd` with `args`.
fn relay(cwd: &Path, args: &[&str]) -> Output {
    Command::new(relay_binary().unwrap())
        .current_dir(cwd)
        .env_remove("GRIDSYNC_RELAY_DATA")
        .env_remove("GRIDSYNC_RELAY_CONFIG")
        .args(args)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts `out` failed, naming `dir` and saying how to fix it.
fn assert_refused(out: &Output, dir: &str) {
    let e = stderr(out);
    assert!(!out.status.success(), "succeeded: {e}");
    assert!(e.contains(dir), "does not name {dir}: {e}");
    assert!(
        e.contains("--data-dir") && e.contains("serve"),
        "no fix: {e}"
    );
}

const ADD: [&str; 10] = [
    "device",
    "add",
    "--name",
    "p",
    "--worker",
    "w-p",
    "--role",
    "grid_worker",
    "--scope",
    "ankang/g03",
];

#[test]
fn administering_a_missing_data_dir_is_an_error_and_creates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("relya");
    let m = missing.to_str().unwrap();
    for args in [
        vec!["--data-dir", m, "device", "list"],
        [&["--data-dir", m][..], &ADD[..]].concat(),
        vec!["--data-dir", m, "device", "revoke", "p"],
        vec!["--data-dir", m, "fingerprint"],
    ] {
        let out = relay(tmp.path(), &args);
        assert_refused(&out, m);
        assert!(!missing.exists(), "{args:?} created {m}");
    }
    // No --data-dir where no relay ran: the default directory is named, and not made.
    for args in [&ADD[..], &["device", "list"][..]] {
        let out = relay(tmp.path(), args);
        assert_refused(&out, "gridsync-relay-data");
        assert!(stderr(&out).contains("default"), "{}", stderr(&out));
    }
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "created files"
    );
}

#[test]
fn a_directory_of_other_files_is_not_a_relay() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "not a relay").unwrap();
    let d = tmp.path().to_str().unwrap();
    for args in [
        vec!["--data-dir", d, "device", "list"],
        [&["--data-dir", d][..], &ADD[..]].concat(),
    ] {
        assert_refused(&relay(tmp.path(), &args), d);
    }
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "created files"
    );
}

#[test]
fn list_on_an_empty_directory_is_an_error_but_enrolling_before_the_first_start_works() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    assert_refused(&relay(tmp.path(), &["--data-dir", d, "device", "list"]), d);
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "list created files"
    );
    let out = relay(tmp.path(), &[&["--data-dir", d][..], &ADD[..]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    let out = relay(tmp.path(), &["--data-dir", d, "device", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(" p "));
}

#[test]
fn device_add_on_a_stopped_relays_directory_still_works() {
    let exe = relay_binary().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("relay");
    let mut running = RelayProcess::spawn(&exe, &data, ProcessOptions::for_faults(30)).unwrap();
    running.terminate(Duration::from_secs(10)).unwrap();
    let d = data.to_str().unwrap();
    let out = relay(
        tmp.path(),
        &[&["--data-dir", d, "--json"][..], &ADD[..]].concat(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["token"].as_str().unwrap().starts_with("gst_"), "{v}");
    let out = relay(tmp.path(), &["--data-dir", d, "device", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(" p "));
}

#[test]
fn wipe_and_revoke_are_distinct_and_device_list_shows_them() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    for name in ["p", "q"] {
        let mut add = ADD.to_vec();
        add[3] = name;
        let out = relay(tmp.path(), &[&["--data-dir", d][..], &add[..]].concat());
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = relay(tmp.path(), &["--data-dir", d, "device", "wipe", "p"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("wipe requested for p"));
    let out = relay(tmp.path(), &["--data-dir", d, "device", "revoke", "q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list = relay(tmp.path(), &["--data-dir", d, "device", "list"]);
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    let line = |name: &str| {
        list.lines()
            .find(|l| l.contains(&format!(" {name} ")))
            .unwrap_or_else(|| panic!("{name} not listed: {list}"))
            .to_string()
    };
    assert!(line("p").contains("wipe pending since 20"), "{list}");
    assert!(
        line("q").contains("revoked") && !line("q").contains("wipe"),
        "{list}"
    );
    // A revoked device is never let in to hear a wipe: wiping it is refused.
    let out = relay(tmp.path(), &["--data-dir", d, "device", "wipe", "q"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no active device"),
        "{}",
        stderr(&out)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(tmp.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "the data directory is not owner-only");
    }
}
