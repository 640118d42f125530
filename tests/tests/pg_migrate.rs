//! `gridsync-relay migrate`: a sled relay copied into PostgreSQL keeps its sequence
//! numbers and generation, so handsets go on from their cursors without downloading
//! anything again; a database that holds a relay already is refused. Skipped without a
//! server (`GRIDSYNC_TEST_PG`), failed in CI.

#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::Duration;

use gridsync_server::pg::PgStore;
use gridsync_tests::netem::harness::{self, doc_heads};
use gridsync_tests::pg::{self, GRID, assert_log_dense, phone};
use gridsync_tests::relay_process::{ProcessOptions, RelayProcess, leak, relay_binary};
use gridsync_tests::workload::GridSpec;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_migrated_relay_keeps_every_cursor_valid() {
    harness::init_logging();
    let Some(target) = pg::fresh_target() else {
        return;
    };
    drop(PgStore::open(&target).unwrap());
    let url = leak(pg::store_url(&target));
    let exe = relay_binary().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("relay");
    let mut relay = RelayProcess::spawn(&exe, &data, ProcessOptions::default()).unwrap();
    let tokens: Vec<String> = (0..2)
        .map(|i| RelayProcess::enroll_with(&exe, &data, &format!("phone-{i}"), &[GRID]).unwrap())
        .collect();
    let phones: Vec<_> = (0..2)
        .map(|i| phone(tmp.path(), &format!("phone-{i}"), &relay, &tokens[i]).unwrap())
        .collect();
    for (i, p) in phones.iter().enumerate() {
        let w = harness::small_workload(30 + i as u64, GridSpec::rural_dongmu(), 10, 40, 4);
        harness::load_into(p, &w).unwrap();
    }
    let refs: Vec<_> = phones.iter().collect();
    harness::sync_until_converged(&refs, Duration::from_secs(60))
        .await
        .unwrap();
    relay.terminate(Duration::from_secs(10)).unwrap();

    let migrate = |to: &str| {
        Command::new(&exe)
            .args(["--json", "migrate", "--from"])
            .arg(&data)
            .args(["--to", to])
            .output()
            .unwrap()
    };
    let out = migrate(url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!("migrated: {done}");
    assert!(done["entries"].as_u64().unwrap() > 0);
    // A second run finds the database holding a relay and changes nothing.
    let again = migrate(url);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("already holds a relay"));

    // Without --store the data directory is refused, not opened as an empty sled relay.
    let list = Command::new(&exe)
        .arg("--data-dir")
        .arg(&data)
        .args(["device", "list"])
        .output()
        .unwrap();
    assert!(!list.status.success());
    let said = String::from_utf8_lossy(&list.stderr);
    assert!(said.contains("relay on PostgreSQL"), "{said}");

    // The relay on PostgreSQL, same data directory (certificate): cursors carry on.
    let options = ProcessOptions {
        listen: relay.addr,
        store: Some(url),
        ..ProcessOptions::default()
    };
    let on_pg = RelayProcess::spawn(&exe, &data, options).unwrap();
    assert_eq!(on_pg.fingerprint, relay.fingerprint);
    for p in &phones {
        let r = p.client.sync_once().await.unwrap();
        assert_eq!(
            (r.entries, r.resent_after_restore),
            (0, 0),
            "{} fetched again",
            p.name
        );
    }
    let visit = phones[1].call_visit(1).unwrap();
    phones[1].replica.log_visit(&visit).unwrap();
    phones[1].client.sync_once().await.unwrap();
    let r = phones[0].client.sync_once().await.unwrap();
    assert_eq!(r.entries, 1);
    assert_eq!(
        doc_heads(&phones[0].replica).unwrap(),
        doc_heads(&phones[1].replica).unwrap()
    );
    assert_log_dense(&PgStore::open(&target).unwrap()).unwrap();
}
