//! Relay nodes on one PostgreSQL database (issue 17): real `gridsync-relay serve`
//! processes sharing a fresh schema of the test server and one TLS identity, handsets
//! spread over them. Skipped without a server (`GRIDSYNC_TEST_PG`), failed in CI.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use gridsync_tests::netem::harness::{self, Phone, doc_heads};
use gridsync_tests::pg::{Nodes, assert_log_dense, moved, phone};
use gridsync_tests::workload::GridSpec;
use tokio::sync::Notify;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_serve_any_handset_and_a_cursor_moves_between_them() {
    harness::init_logging();
    let tmp = tempfile::tempdir().unwrap();
    let Some(nodes) = Nodes::start(tmp.path(), 3).unwrap() else {
        return;
    };
    let tokens = nodes.enroll_phones(3).unwrap();
    let phones: Vec<Phone> = (0..3)
        .map(|i| {
            phone(
                tmp.path(),
                &format!("phone-{i}"),
                &nodes.nodes[i],
                &tokens[i],
            )
            .unwrap()
        })
        .collect();
    for (i, p) in phones.iter().enumerate() {
        let w = harness::small_workload(7 + i as u64, GridSpec::rural_dongmu(), 6, 20, 2);
        harness::load_into(p, &w).unwrap();
    }
    let refs: Vec<&Phone> = phones.iter().collect();
    let (rounds, failures) = harness::sync_until_converged(&refs, Duration::from_secs(60))
        .await
        .unwrap();
    eprintln!("converged over 3 nodes in {rounds} rounds ({failures} failed attempts)");
    assert_log_dense(&nodes.store().unwrap()).unwrap();

    // Phone 0's cursor from node 0 is valid on node 1: nothing to fetch again...
    let on_node1 = moved(&phones[0], &nodes.nodes[1], &tokens[0]).unwrap();
    let again = on_node1.client.sync_once().await.unwrap();
    assert_eq!(again.entries, 0, "a moved cursor fetched entries again");
    // ...and what phone 2 writes on node 2 arrives there once, nothing skipped.
    let visit = phones[2].call_visit(1).unwrap();
    phones[2].replica.log_visit(&visit).unwrap();
    phones[2].client.sync_once().await.unwrap();
    let next = on_node1.client.sync_once().await.unwrap();
    assert_eq!((next.entries, next.documents_changed), (1, 1));
    assert_eq!(
        doc_heads(&phones[0].replica).unwrap(),
        doc_heads(&phones[2].replica).unwrap()
    );
    assert_log_dense(&nodes.store().unwrap()).unwrap();
}

/// Median of three measurements.
fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn live_changes_and_revocations_cross_nodes_within_a_second() {
    harness::init_logging();
    let tmp = tempfile::tempdir().unwrap();
    let Some(nodes) = Nodes::start(tmp.path(), 2).unwrap() else {
        return;
    };
    let (writer_token, reader_token) = (
        nodes.enroll("writer").unwrap(),
        nodes.enroll("reader").unwrap(),
    );
    let writer = phone(tmp.path(), "writer", &nodes.nodes[0], &writer_token).unwrap();
    let reader = Arc::new(phone(tmp.path(), "reader", &nodes.nodes[1], &reader_token).unwrap());
    let w = harness::small_workload(3, GridSpec::rural_dongmu(), 3, 0, 0);
    harness::load_into(&writer, &w).unwrap();
    writer.client.sync_once().await.unwrap();
    reader.client.sync_once().await.unwrap();
    let stop = Arc::new(Notify::new());
    let live = {
        let (reader, stop) = (reader.clone(), stop.clone());
        tokio::spawn(async move { reader.client.run(stop).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;

    // A visit pushed on node 0 reaches the reader, live on node 1.
    let mut arrivals = Vec::new();
    for n in 0..3 {
        let before = reader
            .received_docs
            .load(std::sync::atomic::Ordering::SeqCst);
        writer
            .replica
            .log_visit(&writer.call_visit(n).unwrap())
            .unwrap();
        let pushed = Instant::now();
        writer.client.sync_once().await.unwrap();
        harness::eventually(Duration::from_secs(10), || {
            let now = reader
                .received_docs
                .load(std::sync::atomic::Ordering::SeqCst);
            anyhow::ensure!(now > before, "not arrived");
            Ok(())
        })
        .await
        .unwrap();
        arrivals.push(pushed.elapsed());
    }
    eprintln!("live across nodes: {arrivals:?}");
    assert!(median(arrivals) <= Duration::from_secs(1));

    // Revoked through node 0, the reader is cut off on node 1.
    let out = std::process::Command::new(&nodes.exe)
        .arg("--data-dir")
        .arg(&nodes.nodes[0].data_dir)
        .args(["device", "revoke", "reader"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let revoked = Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(10), live).await;
    let took = revoked.elapsed();
    stop.notify_waiters();
    let result = ended.expect("the reader was not cut off").unwrap();
    assert!(
        matches!(result, Err(gridsync_core::Error::Denied { .. })),
        "{result:?}"
    );
    eprintln!("revocation across nodes: {took:?}");
    assert!(took <= Duration::from_secs(1), "cut off after {took:?}");
}
