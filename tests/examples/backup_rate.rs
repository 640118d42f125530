//! Backup and restore rates of a grid-year (300 households, 6,000 visits, 1,000 cases) in a
//! relay store, in-process (no QUIC): records (documents) per second for `Hub::backup` and
//! `backup::restore`, three runs each, with the backup's size.
//! `cargo run --release -p gridsync-tests --example backup_rate`.

use std::sync::Arc;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("relay");
    let hub = Arc::new(gridsync_server::open_hub(&data, 64)?);
    let cfg = gridsync_tests::workload::WorkloadConfig::grid_year();
    let w = gridsync_tests::workload::Workload::generate(&cfg);
    let grid = cfg.grids[0].path.clone();
    gridsync_tests::load::seed_hub(&hub, &w, &grid)?;
    let records = (w.households.len() + w.visits.len() + w.cases.len()) as f64;
    let (mut backups, mut restores) = (Vec::new(), Vec::new());
    for run in 0..3 {
        let file = tmp.path().join(format!("relay-{run}.bak"));
        let t = Instant::now();
        let s = hub.backup(&file, &|_| {})?;
        let secs = t.elapsed().as_secs_f64();
        anyhow::ensure!(s.documents == records as u64, "{s:?}");
        backups.push(records / secs);
        let into = tmp.path().join(format!("restored-{run}"));
        let t = Instant::now();
        let r = gridsync_server::backup::restore(&file, &into, 64, &|_| {})?;
        restores.push(records / t.elapsed().as_secs_f64());
        anyhow::ensure!(r.head == s.head, "{r:?}");
        println!(
            "run {run}: {records} records, {} changes, backup {} bytes in {secs:.2} s",
            s.changes, s.bytes
        );
    }
    println!(
        "backup: runs {:.0} / {:.0} / {:.0} records/s, median {:.0}",
        backups[0],
        backups[1],
        backups[2],
        median(backups.clone())
    );
    println!(
        "restore: runs {:.0} / {:.0} / {:.0} records/s, median {:.0}",
        restores[0],
        restores[1],
        restores[2],
        median(restores.clone())
    );
    Ok(())
}
