//! Export rate of a grid-year (300 households, 6,000 visits, 1,000 cases) from a relay
//! store, in-process (no QUIC): records per second for CSV and JSONL, three runs each.
//! `cargo run --release -p gridsync-tests --example export_rate`.

use std::sync::Arc;
use std::time::Instant;

use gridsync_server::export::ExportFormat;
use gridsync_tests::workload::{Workload, WorkloadConfig};

fn main() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let hub = Arc::new(gridsync_server::open_hub(&tmp.path().join("relay"), 64)?);
    let cfg = WorkloadConfig::grid_year();
    let w = Workload::generate(&cfg);
    let grid = cfg.grids[0].path.clone();
    gridsync_tests::load::seed_hub(&hub, &w, &grid)?;
    let records = (w.households.len() + w.visits.len() + w.cases.len()) as f64;
    for format in [ExportFormat::Csv, ExportFormat::Jsonl] {
        let mut rates = Vec::new();
        for run in 0..3 {
            let dir = tmp.path().join(format!("{format:?}-{run}"));
            let t = Instant::now();
            let c = hub.export(&grid, format, &dir, &|_| {})?;
            let s = t.elapsed().as_secs_f64();
            anyhow::ensure!(c.households + c.visits + c.cases == records as u64, "{c:?}");
            rates.push(records / s);
        }
        let mut sorted = rates.clone();
        sorted.sort_by(f64::total_cmp);
        println!(
            "{format:?}: {records} records, runs {:.0} / {:.0} / {:.0} records/s, median {:.0}",
            rates[0], rates[1], rates[2], sorted[1]
        );
    }
    Ok(())
}
