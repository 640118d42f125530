//! The handset at rest with the `gridsync` binary (issue 14): the store is encrypted with a
//! key file `init` makes (owner-only) or a key in the environment; a plaintext handset is
//! encrypted at its next command; `erase` signs out and leaves nothing readable; a remote
//! wipe through a real relay erases the handset at its next `sync`.

// A failed unwrap is a failed test, with its location: that is what tests want.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};

use support::{G1, Relay, command, fails, gridsync, ok, text};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

fn on_disk(dir: &Path, needle: &str) -> bool {
    files(dir).iter().any(|p| {
        std::fs::read(p)
            .unwrap_or_default()
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    })
}

fn add(dir: &Path, head: &str) -> String {
    support::add_household(
        dir,
        &[
            "--head",
            head,
            "--tier",
            "red",
            "--address",
            "3栋/2单元/501",
            "--phone",
            "13612345678",
        ],
    )
}

#[test]
fn init_makes_an_owner_only_key_and_the_store_holds_nothing_readable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("phone");
    ok(&dir, &["init", "--offline", "--worker", "w1", "--grid", G1]);
    let key = dir.join("store.key");
    assert!(key.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let id = add(&dir, "欧阳春花");
    assert!(ok(&dir, &["household", "show", &id]).contains("欧阳春花"));
    for needle in ["欧阳春花", "13612345678", "3栋"] {
        assert!(!on_disk(&dir.join("store"), needle), "{needle} on disk");
    }
    // Without its key file the store does not open, and says why.
    let saved = std::fs::read(&key).unwrap();
    std::fs::remove_file(&key).unwrap();
    let err = fails(&dir, &["household", "list"]);
    assert!(err.contains("store.key is missing"), "{err}");
    assert!(!key.exists(), "a new key was made for an encrypted store");
    std::fs::write(
        &key,
        b"00000000000000000000000000000000000000000000000000000000000000ff\n",
    )
    .unwrap();
    let err = fails(&dir, &["household", "list"]);
    assert!(err.contains("wrong key"), "{err}");
    std::fs::write(&key, &saved).unwrap();
    // The key may come from the environment instead.
    let hex_key = String::from_utf8(saved).unwrap();
    std::fs::remove_file(&key).unwrap();
    let out = command(Some(&dir))
        .env("GRIDSYNC_STORE_KEY", hex_key.trim())
        .args(["household", "show", &id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("欧阳春花"));
    assert!(
        !key.exists(),
        "a key from the environment is not written to a file"
    );
    let bad = command(Some(&dir))
        .env("GRIDSYNC_STORE_KEY", "1234")
        .args(["household", "list"])
        .output()
        .unwrap();
    assert!(text(&bad.stderr).contains("64 hex digits"));
}

#[test]
fn erase_asks_first_then_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("phone");
    ok(&dir, &["init", "--offline", "--worker", "w1", "--grid", G1]);
    add(&dir, "司马秋月");
    let err = fails(&dir, &["erase"]);
    assert!(err.contains("--yes") && err.contains("1 changes"), "{err}");
    assert!(
        dir.join("store").exists(),
        "erase without --yes removed something"
    );
    let out = ok(&dir, &["erase", "--yes"]);
    assert!(out.contains("erased"), "{out}");
    assert!(files(&dir).is_empty(), "left behind: {:?}", files(&dir));
    let err = fails(&dir, &["household", "list"]);
    assert!(err.contains("gridsync init"), "{err}");
}

#[test]
fn a_remote_wipe_erases_the_handset_at_its_next_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let dir = tmp.path().join("phone");
    relay.handset(&dir, "lostphone", G1, "grid_worker");
    add(&dir, "诸葛明月");
    ok(&dir, &["sync"]);
    relay.hub.wipe_device("lostphone").unwrap();
    add(&dir, "慕容晓晓");
    let out = gridsync(Some(&dir), &["sync"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("wiped"), "{}", text(&out.stderr));
    assert!(files(&dir).is_empty(), "left behind: {:?}", files(&dir));
    let device = relay.hub.list_devices().unwrap().remove(0);
    assert!(device.wiped_at.is_some(), "{device:?}");
}
