//! Backup and restore of a real `gridsync-relay` process (ADR 0012): a backup taken with
//! `gridsync-relay backup` while 20 handsets push, restored with `gridsync-relay restore`
//! into a fresh data directory after the handsets went on working past it. The restored
//! relay keeps its certificate and devices (the handsets reconnect with the tokens and the
//! pinned fingerprint they have), and once they sync, every change any of them ever had
//! acknowledged is on it again: the handsets saw from the new log generation that it went
//! back in time and pushed what it lost. A damaged or cut-short backup restores nothing.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gridsync_core::DocId;
use gridsync_core::model::{Address, NewHousehold, Tier};
use gridsync_core::sync::RelayBackend;
use gridsync_tests::netem::harness::{self, Phone, PhoneOptions, doc_ids, relay_has_doc};
use gridsync_tests::relay_process::{ProcessOptions, RelayProcess, relay_binary};

const PHONES: usize = 20;
const GRIDS: usize = 4;

fn grid(i: usize) -> String {
    format!("ankang/hanbin/laocheng/g{:02}", i % GRIDS)
}

/// Runs a relay command with `--json`; returns its JSON answer, or its error text.
fn relay_cmd(exe: &Path, data: &Path, args: &[&str]) -> Result<serde_json::Value, String> {
    let out = Command::new(exe)
        .arg("--data-dir")
        .arg(data)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap_or_default();
    if out.status.success() {
        Ok(v)
    } else {
        Err(format!(
            "{}{}",
            v["error"],
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn household(i: usize) -> NewHousehold {
    NewHousehold {
        grid: gridsync_core::GridPath::parse(&grid(i)).unwrap(),
        address: Address::Urban {
            building: format!("{i}栋"),
            unit: "1单元".into(),
            room: "101".into(),
        },
        head: format!("户主{i}"),
        members: vec![],
        phone: String::new(),
        tier: Tier::Green,
        tags: vec![],
        contacts: vec![],
    }
}

/// Logs visits on every phone and syncs, each phone on its own task, until `stop`.
fn writers(phones: &[Arc<Phone>], stop: &Arc<AtomicBool>) -> Vec<tokio::task::JoinHandle<u64>> {
    phones
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (p, stop) = (p.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let v = p.call_visit(1_000 * i as i64 + n as i64).unwrap();
                    p.replica.log_visit(&v).unwrap();
                    n += 1;
                    let _ = p.client.sync_once().await;
                }
                n
            })
        })
        .collect()
}

async fn sync_all(phones: &[Arc<Phone>]) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut resent = 0;
    for p in phones {
        let report = p.sync_until_ok(deadline).await.unwrap();
        resent += report.resent_after_restore;
        assert_eq!(p.pending(), 0, "{} still has work pending", p.name);
    }
    resent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_restored_from_an_older_backup_gets_back_every_acknowledged_change() {
    harness::init_logging();
    let exe = relay_binary().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("relay");
    let tokens: Vec<String> = (0..PHONES)
        .map(|i| {
            RelayProcess::enroll_with(&exe, &data, &format!("phone-{i:02}"), &[&grid(i)]).unwrap()
        })
        .collect();
    let mut relay = RelayProcess::spawn(&exe, &data, ProcessOptions::default()).unwrap();
    let opts = PhoneOptions {
        backoff: Some(harness::quick_backoff(Duration::from_millis(300))),
        batch: None,
    };
    let phones: Vec<Arc<Phone>> = (0..PHONES)
        .map(|i| {
            let name = format!("phone-{i:02}");
            let dir = tmp.path().join(&name);
            let p = Phone::on_disk(&dir, &name, relay.target(&tokens[i]), opts).unwrap();
            p.replica.register_household(&household(i), &name).unwrap();
            Arc::new(p)
        })
        .collect();
    sync_all(&phones).await;

    // The backup, taken through the running relay while every phone pushes.
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = writers(&phones, &stop);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let backup = tmp.path().join("relay.bak");
    let to = backup.to_str().unwrap().to_string();
    let taken = tokio::task::spawn_blocking({
        let (exe, data) = (exe.clone(), data.clone());
        move || relay_cmd(&exe, &data, &["backup", "--to", &to])
    })
    .await
    .unwrap()
    .unwrap();
    let backup_head = taken["head"].as_u64().unwrap();
    eprintln!("backup while pushing: {taken}");
    // The phones go on past the backup, then everything they did is acknowledged.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::SeqCst);
    let mut visits = 0;
    for t in tasks {
        visits += t.await.unwrap();
    }
    sync_all(&phones).await;
    relay.terminate(Duration::from_secs(10)).unwrap();
    let head_before = relay.open_store().unwrap().head().unwrap();
    assert!(
        head_before > backup_head,
        "nothing happened after the backup"
    );
    eprintln!("{visits} visits logged; backup at head {backup_head} of {head_before}");

    // Restore into a fresh directory; not over a store, not from a damaged file.
    let restored = tmp.path().join("restored");
    let from = backup.to_str().unwrap();
    let summary = relay_cmd(&exe, &restored, &["restore", "--from", from]).unwrap();
    assert_eq!(summary["head"].as_u64(), Some(backup_head), "{summary}");
    assert_ne!(
        summary["generation"], summary["from_generation"],
        "{summary}"
    );
    let again = relay_cmd(&exe, &restored, &["restore", "--from", from]).unwrap_err();
    assert!(again.contains("already holds a relay store"), "{again}");
    let bytes = std::fs::read(&backup).unwrap();
    let cut = tmp.path().join("cut.bak");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let scratch = tmp.path().join("scratch");
    let refused = relay_cmd(
        &exe,
        &scratch,
        &["restore", "--from", cut.to_str().unwrap()],
    );
    assert!(refused.is_err(), "a cut-short backup restored: {refused:?}");
    assert!(
        !scratch.join("store").exists(),
        "a failed restore left a store"
    );

    // The restored relay on the old address: same certificate, same devices.
    let options = ProcessOptions {
        listen: relay.addr,
        ..ProcessOptions::default()
    };
    let mut back = RelayProcess::spawn(&exe, &restored, options).unwrap();
    assert_eq!(
        back.fingerprint, relay.fingerprint,
        "the identity came back"
    );
    let resent = sync_all(&phones).await;
    // A second round: each phone also pulls what the others pushed again.
    sync_all(&phones).await;
    back.terminate(Duration::from_secs(10)).unwrap();
    assert!(resent > 0, "no phone pushed anything again");
    eprintln!("{resent} acknowledged changes pushed again after the restore");

    let hub = back.open_store().unwrap();
    let mut checked = 0;
    for p in &phones {
        for id in doc_ids(&p.replica).unwrap() {
            relay_has_doc(&hub, &p.replica, &DocId::parse(&id).unwrap()).unwrap();
            checked += 1;
        }
    }
    eprintln!("{checked} documents on the phones, every change of each on the restored relay");
    assert!(checked as u64 >= visits + PHONES as u64);
}
