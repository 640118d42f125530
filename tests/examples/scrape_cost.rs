//! What watching the relay costs it: relay CPU per `/metrics` scrape, measured on the
//! real release binary with 100 devices enrolled and the benchmark's bootstrap grid loaded
//! (so the store gauges read a real store). Prometheus scrapes every 15 s; the issue's
//! bound is one scrape a second within 5% of ingest.
//! `cargo build --release -p gridsync-server --bin gridsync-relay &&
//!  cargo run --release -p gridsync-tests --example scrape_cost [SCRAPES]`.

use std::time::Instant;

use gridsync_tests::ops_client::OpsClient;
use gridsync_tests::relay::Handset;
use gridsync_tests::relay_process::{ProcessOptions, RelayProcess};
use gridsync_tests::workload::{Workload, WorkloadConfig};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let scrapes: u32 = std::env::args().nth(1).map_or(Ok(2000), |s| s.parse())?;
    let exe = std::env::current_exe()?
        .parent()
        .and_then(|d| d.parent())
        .map(|d| d.join("gridsync-relay"))
        .ok_or_else(|| anyhow::anyhow!("no target directory"))?;
    anyhow::ensure!(exe.is_file(), "{} not found: build it first", exe.display());
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("relay");
    let cfg = WorkloadConfig::bootstrap();
    let grid = cfg.grids[0].path.to_string();
    for i in 0..100 {
        RelayProcess::enroll_with(&exe, &data, &format!("phone-{i}"), &[&grid])?;
    }
    let seeder_token = RelayProcess::enroll_with(&exe, &data, "seeder", &[&grid])?;
    let relay = RelayProcess::spawn(&exe, &data, ProcessOptions::default())?;
    let mut w = Workload::generate(&cfg);
    for v in &mut w.visits {
        v.worker = "seeder".into();
    }
    for c in &mut w.cases {
        c.case.reporter = "seeder".into();
    }
    let seeder = Handset::open(
        &tmp.path().join("seeder"),
        "seeder",
        relay.target(&seeder_token),
    )?;
    seeder
        .replica
        .store_grants(&gridsync_tests::relay::all_roles("seeder", &[&grid])?)?;
    let (_, end) = w.period();
    gridsync_tests::load::load(&seeder.replica, &w, end, "seeder")?;
    let r = seeder.client.sync_once().await?;
    let ops = OpsClient::new(
        relay
            .http
            .ok_or_else(|| anyhow::anyhow!("no HTTP listener"))?,
    );
    let size = ops.get("/metrics")?.body.len();
    let (cpu0, t0) = (relay.cpu_seconds(), Instant::now());
    for _ in 0..scrapes {
        anyhow::ensure!(ops.get("/metrics")?.status == 200, "scrape failed");
    }
    let (cpu, wall) = (relay.cpu_seconds() - cpu0, t0.elapsed().as_secs_f64());
    println!(
        "{} changes loaded; {scrapes} scrapes of {size} bytes in {wall:.2} s: relay CPU {:.3} ms per scrape, {:.3} ms wall",
        r.acknowledged,
        cpu * 1000.0 / f64::from(scrapes),
        wall * 1000.0 / f64::from(scrapes)
    );
    Ok(())
}
