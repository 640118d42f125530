//! Faults of relay nodes on one PostgreSQL database (issue 17): a node `kill -9`'d in the
//! middle of a push (the handset, given both nodes' addresses, fails over by itself), and
//! PostgreSQL itself restarted while handsets sync. Skipped without
//! a server (`GRIDSYNC_TEST_PG`), failed in CI.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use gridsync_tests::netem::harness::{self, Phone, PhoneOptions, doc_heads};
use gridsync_tests::ops_client::OpsClient;
use gridsync_tests::pg::{Nodes, assert_log_dense, moved, phone};
use gridsync_tests::workload::GridSpec;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_mid_push_loses_nothing_and_logs_nothing_twice() {
    harness::init_logging();
    let tmp = tempfile::tempdir().unwrap();
    let Some(mut nodes) = Nodes::start(tmp.path(), 2).unwrap() else {
        return;
    };
    let token = nodes.enroll("phone").unwrap();
    let opts = PhoneOptions {
        backoff: Some(harness::quick_backoff(Duration::from_millis(300))),
        // Small pushes, each acknowledged on its own: the kill lands between and inside them.
        batch: Some((4 * 1024, 64 * 1024)),
    };
    // The handset knows both nodes and picks one itself (by its device id).
    let mut target = nodes.nodes[0].target(&token);
    target.other_nodes = vec![nodes.nodes[1].addr];
    let p = Phone::on_disk(&tmp.path().join("phone"), "phone", target, opts).unwrap();
    let w = harness::small_workload(11, GridSpec::rural_dongmu(), 60, 400, 20);
    let changes = harness::load_into(&p, &w).unwrap();
    let client = p.client.clone();
    // Synced as an app does: a failed attempt is retried, on the next node.
    let pushing = tokio::spawn(async move {
        let mut failed = 0;
        loop {
            match client.sync_once().await {
                Ok(report) => return (report, failed),
                Err(e) => {
                    failed += 1;
                    assert!(failed < 50, "still failing: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    });
    harness::eventually(Duration::from_secs(30), || {
        anyhow::ensure!(p.pending() < changes, "nothing acknowledged yet");
        Ok(())
    })
    .await
    .unwrap();
    // Kill the node it is pushing through.
    let serving = (0..2)
        .find(|&i| {
            let ops = OpsClient::new(nodes.nodes[i].http.unwrap());
            ops.metrics()
                .unwrap()
                .get("gridsync_relay_connections_open")
                > 0.0
        })
        .expect("no node holds the handset's connection");
    nodes.nodes[serving].sigkill().unwrap();
    let left = p.pending();
    eprintln!("node {serving} killed with {left} of {changes} changes unacknowledged");
    assert!(left > 0, "the push finished before the kill");
    let (report, failed) = pushing.await.unwrap();
    eprintln!(
        "after {failed} failed attempt(s) the other node acknowledged {} more",
        report.acknowledged
    );
    assert!(failed >= 1, "the kill went unnoticed");
    let survivor = 1 - serving;
    let on_node1 = &p;
    assert_eq!(on_node1.pending(), 0);
    let store = nodes.store().unwrap();
    assert_log_dense(&store).unwrap();
    // Each change logged once: as many log entries as the handset made changes.
    let logged = gridsync_core::store::Store::len(&store, "log").unwrap() as u64;
    assert_eq!(logged, changes);
    // Everything it holds reads back from the relay, as a new handset sees it.
    let checker_token = nodes.enroll_on(survivor, "checker").unwrap();
    let checker = phone(
        tmp.path(),
        "checker",
        &nodes.nodes[survivor],
        &checker_token,
    )
    .unwrap();
    checker.client.sync_once().await.unwrap();
    assert_eq!(
        doc_heads(&checker.replica).unwrap(),
        doc_heads(&p.replica).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restarted_during_a_run_and_everything_converges() {
    harness::init_logging();
    let Ok(pg_dir) = std::env::var("GRIDSYNC_TEST_PG_DIR") else {
        gridsync_tests::pg::require_or_skip("GRIDSYNC_TEST_PG_DIR (the server's directory)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let Some(nodes) = Nodes::start(tmp.path(), 2).unwrap() else {
        return;
    };
    let tokens = nodes.enroll_phones(4).unwrap();
    let opts = PhoneOptions {
        backoff: Some(harness::quick_backoff(Duration::from_millis(300))),
        batch: Some((4 * 1024, 64 * 1024)),
    };
    let phones: Vec<Phone> = (0..4)
        .map(|i| {
            let name = format!("phone-{i}");
            let target = nodes.nodes[i % 2].target(&tokens[i]);
            Phone::on_disk(&tmp.path().join(&name), &name, target, opts).unwrap()
        })
        .collect();
    for (i, p) in phones.iter().enumerate() {
        let w = harness::small_workload(20 + i as u64, GridSpec::rural_dongmu(), 20, 150, 5);
        harness::load_into(p, &w).unwrap();
    }
    // PostgreSQL restarts while the four push.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/pg/server.sh");
    let restart = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let out = std::process::Command::new("bash")
            .args([script, "restart", &pg_dir])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    let refs: Vec<&Phone> = phones.iter().collect();
    let (rounds, failures) = harness::sync_until_converged(&refs, Duration::from_secs(120))
        .await
        .unwrap();
    restart.join().unwrap();
    eprintln!("converged in {rounds} rounds, {failures} attempts failed across the restart");
    assert_log_dense(&nodes.store().unwrap()).unwrap();
    // And the nodes serve on: a moved handset finds nothing new, a new visit crosses.
    let again = moved(&phones[0], &nodes.nodes[1], &tokens[0]).unwrap();
    assert_eq!(again.client.sync_once().await.unwrap().entries, 0);
}
