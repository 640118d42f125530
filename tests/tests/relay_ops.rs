//! The relay's operations listener, against the real `gridsync-relay` binary: `/metrics`
//! counters move by exactly what a sync did; the admin API refuses a missing or wrong
//! admin token, enrols, rotates and revokes (cutting the device off), and every action is
//! in the log; `/readyz` is not ready while another relay holds the store and turns ready
//! when it lets go; `--log-format json` writes one JSON object per line.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gridsync_tests::netem::harness::{self, Phone, PhoneOptions};
use gridsync_tests::ops_client::OpsClient;
use gridsync_tests::relay_process::{ProcessOptions, RelayProcess, relay_binary};
use gridsync_tests::workload::GridSpec;
use serde_json::json;
use tokio::sync::Notify;

const GRID: &str = "ankang/ziyang/haoping/dongmu/g02";

fn options() -> ProcessOptions {
    ProcessOptions {
        log_to_file: true,
        log_filter: "info",
        ..ProcessOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_by_what_a_sync_did() {
    harness::init_logging();
    let exe = relay_binary().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("relay");
    let writer_token = RelayProcess::enroll_with(&exe, &data, "writer", &[GRID]).unwrap();
    let reader_token = RelayProcess::enroll_with(&exe, &data, "reader", &[GRID]).unwrap();
    let relay = RelayProcess::spawn(&exe, &data, options()).unwrap();
    let ops = OpsClient::new(relay.http.unwrap());
    assert_eq!(ops.get("/healthz").unwrap().status, 200);
    assert_eq!(ops.get("/readyz").unwrap().status, 200);
    let m0 = ops.metrics().unwrap();
    assert_eq!(m0.get("gridsync_relay_devices"), 2.0);

    // A writer pushes its offline work: exactly that many changes ingested, none refused.
    let writer = Phone::in_memory(
        "writer",
        relay.target(&writer_token),
        PhoneOptions::default(),
    )
    .unwrap();
    let w = harness::small_workload(7, GridSpec::rural_dongmu(), 6, 20, 2);
    let changes = harness::load_into(&writer, &w).unwrap();
    let report = writer.client.sync_once().await.unwrap();
    assert_eq!(report.acknowledged, changes);
    let m1 = ops.metrics().unwrap();
    assert_eq!(
        m1.delta(&m0, "gridsync_relay_changes_ingested_total"),
        changes as f64
    );
    assert!(m1.delta(&m0, "gridsync_relay_pushes_total") >= 1.0);
    assert_eq!(m1.delta(&m0, "gridsync_relay_logins_total"), 1.0);
    assert_eq!(
        m1.delta(&m0, "gridsync_relay_connections_accepted_total"),
        1.0
    );
    assert_eq!(m1.delta(&m0, "gridsync_relay_handshakes_total"), 1.0);
    for reason in ["malformed", "scope", "admission"] {
        let series = format!("gridsync_relay_changes_refused_total{{reason=\"{reason}\"}}");
        assert_eq!(m1.get(&series), 0.0, "{series}");
    }
    assert_eq!(m1.get("gridsync_relay_durable_head"), changes as f64);
    assert!(m1.get("gridsync_relay_push_ack_seconds_count") >= 1.0);
    assert!(m1.get("gridsync_relay_group_commit_pushes_count") >= 1.0);
    assert!(m1.get("gridsync_relay_store_bytes") > 0.0);

    // A reader bootstraps: pull bytes move; then it stays live and a new visit reaches it
    // in a live batch, timed from the durable head.
    let reader = Arc::new(
        Phone::in_memory(
            "reader",
            relay.target(&reader_token),
            PhoneOptions::default(),
        )
        .unwrap(),
    );
    reader.client.sync_once().await.unwrap();
    let m2 = ops.metrics().unwrap();
    assert!(m2.delta(&m1, "gridsync_relay_batch_bytes_total{kind=\"pull\"}") > 0.0);
    let stop = Arc::new(Notify::new());
    let live = {
        let (client, stop) = (reader.client.clone(), stop.clone());
        tokio::spawn(async move { client.run(stop).await })
    };
    harness::eventually(Duration::from_secs(20), || {
        let m = ops.metrics()?;
        anyhow::ensure!(
            m.get("gridsync_relay_connections_open") >= 1.0,
            "reader not connected"
        );
        Ok(())
    })
    .await
    .unwrap();
    let before_live = ops.metrics().unwrap();
    writer
        .replica
        .log_visit(&writer.call_visit(1).unwrap())
        .unwrap();
    writer.client.sync_once().await.unwrap();
    harness::eventually(Duration::from_secs(20), || {
        let m = ops.metrics()?;
        anyhow::ensure!(
            m.delta(
                &before_live,
                "gridsync_relay_batch_bytes_total{kind=\"live\"}"
            ) > 0.0,
            "no live bytes yet"
        );
        anyhow::ensure!(
            m.delta(&before_live, "gridsync_relay_live_fanout_seconds_count") >= 1.0,
            "no fan-out timed"
        );
        Ok(())
    })
    .await
    .unwrap();

    // The device list shows the reader online with its lag, the writer seen.
    let admin = OpsClient::new(relay.http.unwrap())
        .with_token(&RelayProcess::admin_token_with(&exe, &data).unwrap());
    let list = admin.get("/api/devices").unwrap().json().unwrap();
    let devices = list["devices"].as_array().unwrap();
    let by_name = |n: &str| devices.iter().find(|d| d["name"] == n).unwrap().clone();
    assert_eq!(by_name("reader")["online"], true);
    assert_eq!(by_name("writer")["online"], false);
    assert!(
        by_name("writer")["activity"]["last_seen"]
            .as_i64()
            .is_some()
    );
    assert!(
        by_name("writer")["activity"]["agent"]
            .as_str()
            .is_some_and(|a| !a.is_empty())
    );
    assert_eq!(by_name("writer")["stuck"], false);
    // The writer reported its outbox at login; all of it was accepted on that connection.
    let writer = by_name("writer");
    assert_eq!(writer["activity"]["pending"], 0, "{writer}");
    assert!(
        writer["activity"]["pending_bytes"].as_u64() > Some(0),
        "{writer}"
    );
    harness::eventually(Duration::from_secs(10), || {
        let list = admin.get("/api/devices")?.json()?;
        let reader = list["devices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "reader")
            .unwrap()
            .clone();
        anyhow::ensure!(reader["lag"] == 0, "reader lag {}", reader["lag"]);
        Ok(())
    })
    .await
    .unwrap();
    stop.notify_waiters();
    let _ = tokio::time::timeout(Duration::from_secs(10), live).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_wants_the_token_and_logs_every_action() {
    harness::init_logging();
    let exe = relay_binary().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("relay");
    let kept = RelayProcess::enroll_with(&exe, &data, "kept", &[GRID]).unwrap();
    let relay = RelayProcess::spawn(&exe, &data, options()).unwrap();
    let ops = OpsClient::new(relay.http.unwrap());

    // No admin token made yet: the admin API is off. Then missing and wrong tokens.
    assert_eq!(ops.get("/api/devices").unwrap().status, 403);
    let token = RelayProcess::admin_token_with(&exe, &data).unwrap();
    assert_eq!(ops.get("/api/devices").unwrap().status, 401);
    assert_eq!(
        ops.with_token("gsa_wrong")
            .get("/api/devices")
            .unwrap()
            .status,
        401
    );
    let refused_add = ops
        .with_token("gsa_wrong")
        .post(
            "/api/devices",
            Some(json!({"name": "x", "worker": "x", "roles": ["grid_worker"], "scopes": [GRID]})),
        )
        .unwrap();
    assert_eq!(refused_add.status, 401);
    let admin = ops.with_token(&token);
    assert_eq!(
        admin.get("/api/devices").unwrap().json().unwrap()["devices"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "the refused add enrolled something"
    );

    // Enrol over the API; the handset syncs with the token it got.
    let added = admin.post("/api/devices", Some(json!({"name": "api-phone", "worker": "w-api", "roles": ["网格员"], "scopes": [GRID]}))).unwrap();
    assert_eq!(added.status, 201, "{}", added.body);
    let added = added.json().unwrap();
    let phone_token = added["token"].as_str().unwrap().to_string();
    let phone =
        Phone::in_memory("w-api", relay.target(&phone_token), PhoneOptions::default()).unwrap();
    phone.client.sync_once().await.unwrap();
    let bad = admin
        .post(
            "/api/devices",
            Some(json!({"name": "", "worker": "w", "roles": ["grid_worker"], "scopes": [GRID]})),
        )
        .unwrap();
    assert_eq!(bad.status, 400, "{}", bad.body);
    let bad_grid = admin
        .post(
            "/api/devices/api-phone/rescope",
            Some(json!({"scopes": ["ankang/../x"]})),
        )
        .unwrap();
    assert_eq!(bad_grid.status, 400, "{}", bad_grid.body);
    let shown = admin.get("/api/devices/api-phone").unwrap().json().unwrap();
    assert_eq!(shown["device"]["name"], "api-phone");
    assert!(shown["device"]["activity"]["last_seen"].as_i64().is_some());

    // Rotating a token: the old one logs in no more, the new one does.
    let rotated = admin
        .post("/api/devices/kept/token", None)
        .unwrap()
        .json()
        .unwrap();
    let new_kept = rotated["token"].as_str().unwrap().to_string();
    let old = Phone::in_memory("kept", relay.target(&kept), PhoneOptions::default()).unwrap();
    assert!(
        old.client.sync_once().await.is_err(),
        "the rotated-out token still logs in"
    );
    let new = Phone::in_memory("kept", relay.target(&new_kept), PhoneOptions::default()).unwrap();
    new.client.sync_once().await.unwrap();

    // Revoking over the API cuts the device off.
    let revoked = admin.post("/api/devices/api-phone/revoke", None).unwrap();
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert!(
        phone.client.sync_once().await.is_err(),
        "a revoked device still syncs"
    );
    assert_eq!(
        admin
            .post("/api/devices/api-phone/explode", None)
            .unwrap()
            .status,
        404
    );

    // Every action and every refusal is in the log, with where it came from.
    let log = std::fs::read_to_string(relay.log.as_ref().unwrap()).unwrap();
    let actions: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("admin action") && l.contains("via=\"http\""))
        .collect();
    for action in ["add", "rotate_token", "revoke"] {
        assert!(
            actions
                .iter()
                .any(|l| l.contains(&format!("action=\"{action}\""))),
            "no {action} in the log:\n{log}"
        );
    }
    assert!(
        log.lines()
            .filter(|l| l.contains("admin request refused"))
            .count()
            >= 4,
        "{log}"
    );
    assert!(
        log.contains("admin action failed"),
        "the bad requests are not logged:\n{log}"
    );
}

/// A free TCP port on loopback (bound and let go: good enough on a test machine).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_waits_for_the_store_and_json_logs_are_json() {
    harness::init_logging();
    let exe = relay_binary().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("relay");
    let token = RelayProcess::enroll_with(&exe, &data, "p", &[GRID]).unwrap();
    let mut first = RelayProcess::spawn(&exe, &data, options()).unwrap();

    // A second relay on the same data (a restart before the old one let go): alive, not
    // ready, saying why, in JSON lines.
    let http = format!("127.0.0.1:{}", free_port());
    let log_path = tmp.path().join("second.log");
    let mut second = Command::new(&exe)
        .arg("--data-dir")
        .arg(&data)
        .args([
            "--json",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--http",
            &http,
            "--log-format",
            "json",
            "--log",
            "info",
        ])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let ops = OpsClient::new(http.parse().unwrap());
    harness::eventually(Duration::from_secs(20), || {
        anyhow::ensure!(ops.get("/healthz")?.status == 200, "not alive");
        Ok(())
    })
    .await
    .unwrap();
    let not_ready = ops.get("/readyz").unwrap();
    assert_eq!(not_ready.status, 503, "{}", not_ready.body);
    assert!(not_ready.body.contains("not open"), "{}", not_ready.body);
    assert_eq!(ops.get("/metrics").unwrap().status, 503);

    harness::eventually(Duration::from_secs(20), || {
        let log = std::fs::read_to_string(&log_path)?;
        anyhow::ensure!(
            log.contains("store is in use"),
            "no word of the held store yet"
        );
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(ops.get("/readyz").unwrap().status, 503);

    // The first lets go: the second opens the store, turns ready and serves handsets.
    first.terminate(Duration::from_secs(15)).unwrap();
    let t = Instant::now();
    harness::eventually(Duration::from_secs(20), || {
        anyhow::ensure!(ops.get("/readyz")?.status == 200, "not ready");
        Ok(())
    })
    .await
    .unwrap();
    eprintln!(
        "second relay ready {:?} after the first stopped",
        t.elapsed()
    );
    let m = ops.metrics().unwrap();
    assert_eq!(m.get("gridsync_relay_devices"), 1.0);
    let mut said = String::new();
    let stdout = second.stdout.take().unwrap();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut said).unwrap();
    let said: serde_json::Value = serde_json::from_str(&said).unwrap();
    let target = gridsync_tests::relay::target(
        said["listening"].as_str().unwrap().parse().unwrap(),
        said["fingerprint"].as_str().unwrap(),
        &token,
    );
    let phone = Phone::in_memory("p", target, PhoneOptions::default()).unwrap();
    phone.client.sync_once().await.unwrap();
    let _ = second.kill();
    let _ = second.wait();
    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines.iter().any(|v| v["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("store is in use"))),
        "{log}"
    );
    assert!(!log.contains('\u{1b}'), "ANSI codes in a JSON log");
}
