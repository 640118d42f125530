//! The operator's web console, in a real browser against the real `gridsync-relay`
//! binary: a handset syncs, the page (Debian's Chromium driven by playwright-core,
//! `tests/browser/console.test.mjs`) shows its row with lag and app, counts the grid's
//! changes for today, and revokes the device through its own confirm dialog, wipes a
//! second and rescopes a third; then the revoked handset is cut off, the wiped one erases
//! itself, the rescoped one gets its new grid, and each action is in the relay's log as an
//! HTTP admin action.
//!
//! Needs `node`, `/usr/bin/chromium` and `tests/browser/node_modules`: `bash
//! tests/browser/run.sh` installs them and runs this test. Without them it fails, unless
//! `GRIDSYNC_SKIP_BROWSER=1` (then it says it skipped).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gridsync_tests::netem::harness::{self, Phone, PhoneOptions};
use gridsync_tests::ops_client::OpsClient;
use gridsync_tests::relay_process::{ProcessOptions, RelayProcess, relay_binary, target_dir};
use gridsync_tests::workload::GridSpec;

const GRID: &str = "ankang/ziyang/haoping/dongmu/g02";
/// Where the page moves `other-phone`.
const NEW_GRID: &str = "ankang/ziyang/haoping/dongmu/g03";
const CHROMIUM: &str = "/usr/bin/chromium";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// `Ok(true)`: the browser test can run; `Ok(false)`: skipped on purpose; `Err`: what is
/// missing.
fn browser_ready() -> Result<bool, String> {
    if std::env::var("GRIDSYNC_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("GRIDSYNC_SKIP_BROWSER=1: skipped the browser test of the console");
        return Ok(false);
    }
    let mut missing = Vec::new();
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        missing.push("node".to_string());
    }
    if !Path::new(CHROMIUM).is_file() {
        missing.push(CHROMIUM.to_string());
    }
    let modules = browser_dir().join("node_modules/playwright-core");
    if !modules.is_dir() {
        missing.push(modules.display().to_string());
    }
    if missing.is_empty() {
        Ok(true)
    } else {
        Err(format!(
            "the console's browser test needs {}: run `bash tests/browser/run.sh` (installs \
             them and runs this test), or set GRIDSYNC_SKIP_BROWSER=1 to skip it",
            missing.join(", ")
        ))
    }
}

/// The page and its assets: typed, never cached.
fn check_assets(http: std::net::SocketAddr) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    for (path, ty) in [
        ("/", "text/html"),
        ("/console.js", "text/javascript"),
        ("/console.css", "text/css"),
    ] {
        let r = agent.get(format!("http://{http}{path}")).call().unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let header = |h: &str| r.headers()[h].to_str().unwrap().to_string();
        assert!(header("content-type").starts_with(ty), "{path}");
        assert_eq!(header("cache-control"), "no-store", "{path}");
    }
}

/// `/api/activity`: behind the token, `days` checked, today's count is every change.
fn check_activity_api(ops: &OpsClient, admin: &OpsClient, changes: u64) {
    assert_eq!(ops.get("/api/activity").unwrap().status, 401);
    assert_eq!(ops.get("/api/activity?days=x").unwrap().status, 401);
    for bad in ["0", "91", "x"] {
        let a = admin.get(&format!("/api/activity?days={bad}")).unwrap();
        assert_eq!(a.status, 400, "days={bad}: {}", a.body);
        assert_eq!(a.json().unwrap()["ok"], "error");
    }
    let a = admin.get("/api/activity?days=1").unwrap().json().unwrap();
    assert_eq!(a["ok"], "activity");
    let days = a["days"].as_array().unwrap();
    assert_eq!(days.len(), 1, "{a}");
    assert_eq!(days[0]["grid"], GRID);
    assert_eq!(days[0]["changes"].as_u64(), Some(changes), "{a}");
    let default = admin.get("/api/activity").unwrap().json().unwrap();
    assert_eq!(default["days"], a["days"]);
}

/// What the page is checked against: the handsets and what they pushed.
struct Synced {
    /// The device the page revokes.
    phone: Phone,
    /// Another device of the grid, rescoped in the page.
    other: Phone,
    /// A third device of the grid, wiped in the page.
    lost: Phone,
    /// Changes the relay accepted, all told (all today).
    changes: u64,
    /// What `other` pushed after `phone` last pulled: `phone`'s lag.
    lag: u64,
}

/// The phone pushes its offline work; another phone then adds visits the first has not
/// pulled, so the first lags by exactly those.
async fn sync_phones(relay: &RelayProcess, tokens: [&str; 3]) -> Synced {
    let [phone_token, other_token, lost_token] = tokens;
    let phone = Phone::in_memory(
        "console-phone",
        relay.target(phone_token),
        PhoneOptions::default(),
    )
    .unwrap();
    let w = harness::small_workload(11, GridSpec::rural_dongmu(), 4, 8, 1);
    let changes = harness::load_into(&phone, &w).unwrap();
    let report = phone.client.sync_once().await.unwrap();
    assert_eq!(report.acknowledged, changes);
    let other = Phone::in_memory(
        "other-phone",
        relay.target(other_token),
        PhoneOptions::default(),
    )
    .unwrap();
    other.client.sync_once().await.unwrap();
    for n in 0..3 {
        other
            .replica
            .log_visit(&other.call_visit(n).unwrap())
            .unwrap();
    }
    let lag = other.client.sync_once().await.unwrap().acknowledged;
    assert!(lag >= 3, "{lag}");
    let lost = Phone::in_memory(
        "lost-phone",
        relay.target(lost_token),
        PhoneOptions::default(),
    )
    .unwrap();
    lost.client.sync_once().await.unwrap();
    Synced {
        phone,
        other,
        lost,
        changes: changes + lag,
        lag,
    }
}

/// Runs `console.test.mjs` against the console at `http`; panics with what it said when
/// it fails.
async fn run_browser(http: std::net::SocketAddr, admin_token: &str, synced: &Synced) {
    let screenshot = std::env::var_os("GRIDSYNC_CONSOLE_SCREENSHOT").map_or_else(
        || target_dir().unwrap().join("relay-console.png"),
        PathBuf::from,
    );
    let mut node = Command::new("node");
    node.arg(browser_dir().join("console.test.mjs"))
        .current_dir(browser_dir())
        .env("CONSOLE_URL", format!("http://{http}/"))
        .env("ADMIN_TOKEN", admin_token)
        .env("DEVICE_NAME", &synced.phone.name)
        .env("EXPECT_LAG", synced.lag.to_string())
        .env("EXPECT_CHANGES", synced.changes.to_string())
        .env("WIPE_DEVICE", &synced.lost.name)
        .env("RESCOPE_DEVICE", &synced.other.name)
        .env("RESCOPE_TO", NEW_GRID)
        .env("SCREENSHOT", &screenshot);
    let t = Instant::now();
    let out = tokio::task::spawn_blocking(move || node.output())
        .await
        .unwrap()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the browser test failed:\n{said}");
    eprintln!(
        "browser test passed in {:?}; screenshot {}\n{said}",
        t.elapsed(),
        screenshot.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_devices_and_activity_and_revokes_wipes_and_rescopes() {
    match browser_ready() {
        Ok(true) => {}
        Ok(false) => return,
        Err(why) => panic!("{why}"),
    }
    harness::init_logging();
    let exe = relay_binary().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("relay");
    let phone_token = RelayProcess::enroll_with(&exe, &data, "console-phone", &[GRID]).unwrap();
    let other_token = RelayProcess::enroll_with(&exe, &data, "other-phone", &[GRID]).unwrap();
    let lost_token = RelayProcess::enroll_with(&exe, &data, "lost-phone", &[GRID]).unwrap();
    let options = ProcessOptions {
        log_to_file: true,
        log_filter: "info",
        ..ProcessOptions::default()
    };
    let relay = RelayProcess::spawn(&exe, &data, options).unwrap();
    let http = relay.http.unwrap();
    let synced = sync_phones(&relay, [&phone_token, &other_token, &lost_token]).await;

    let ops = OpsClient::new(http);
    let token = RelayProcess::admin_token_with(&exe, &data).unwrap();
    let admin = ops.with_token(&token);
    check_assets(http);
    check_activity_api(&ops, &admin, synced.changes);
    let shown = admin.get("/api/devices/console-phone").unwrap();
    let shown = shown.json().unwrap();
    assert_eq!(shown["device"]["lag"].as_u64(), Some(synced.lag), "{shown}");
    let device_id = shown["device"]["id"].as_str().unwrap().to_string();

    run_browser(http, &token, &synced).await;

    // Revoked in the page: the handset is cut off. Wiped: the handset erases itself at
    // its next contact. Rescoped: the handset gets its new grid. The log says each was
    // done over HTTP.
    assert!(
        synced.phone.client.sync_once().await.is_err(),
        "the device revoked in the console still syncs"
    );
    let wiped = synced.lost.client.sync_once().await.unwrap_err();
    assert_eq!(wiped, gridsync_core::Error::Wiped, "{wiped}");
    let lost = admin
        .get("/api/devices/lost-phone")
        .unwrap()
        .json()
        .unwrap();
    assert!(lost["device"]["wiped_at"].is_i64(), "{lost}");
    synced.other.client.sync_once().await.unwrap();
    let grants = synced.other.replica.grants().unwrap().unwrap();
    assert_eq!(grants.scope_names(), NEW_GRID);
    let log_path = relay.log.clone().unwrap();
    harness::eventually(Duration::from_secs(10), || {
        let log = std::fs::read_to_string(&log_path)?;
        anyhow::ensure!(
            log.lines().any(|l| l.contains("admin action")
                && l.contains("action=\"revoke\"")
                && l.contains("via=\"http\"")
                && l.contains(&device_id)),
            "no revoke over HTTP in the log:\n{log}"
        );
        for action in ["wipe", "rescope"] {
            anyhow::ensure!(
                log.lines().any(|l| l.contains("admin action")
                    && l.contains(&format!("action=\"{action}\""))
                    && l.contains("via=\"http\"")),
                "no {action} over HTTP in the log:\n{log}"
            );
        }
        Ok(())
    })
    .await
    .unwrap();
}
