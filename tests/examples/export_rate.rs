//! Export rate of a grid-year (300 households, 6,000 visits, 1,000 cases) from a relay
//! store, in-process (no QUIC): records per second for CSV and JSONL, three runs each.
//! `cargo run --release -p gridsync-tests --example export_rate`.

use std::sync::Arc;
use std::time::Instant;

use gridsync_core::replica::{Replica, ReplicaConfig};
use gridsync_core::store::MemoryStore;
use gridsync_core::sync::CheckedChange;
use gridsync_core::sync::backend::RelayBackend;
use gridsync_server::export::ExportFormat;
use gridsync_tests::workload::{Workload, WorkloadConfig};

fn main() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let hub = Arc::new(gridsync_server::open_hub(&tmp.path().join("relay"), 64)?);
    let cfg = WorkloadConfig::grid_year();
    let w = Workload::generate(&cfg);
    let grid = cfg.grids[0].path.clone();
    let seeder = Replica::open_with(
        Arc::new(MemoryStore::new()),
        "seeder",
        ReplicaConfig::default(),
    )?;
    let grants = gridsync_tests::relay::all_roles("w-seed", &[grid.as_str()])?;
    seeder.store_grants(&grants)?;
    let (_, end) = w.period();
    gridsync_tests::load::load(&seeder, &w, end, "w-seed")?;
    let grant = hub.authenticate(&hub.add_device("seeder", &grants)?.token)?;
    let changes: Vec<_> = seeder
        .outbox_after(None, usize::MAX)?
        .into_iter()
        .map(|i| i.change)
        .collect();
    for part in changes.chunks(500) {
        let checked = part
            .iter()
            .map(|c| CheckedChange::check(&grant, c.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|r| anyhow::anyhow!("refused: {}", r.reason))?;
        anyhow::ensure!(hub.ingest(&grant, &checked)?.iter().all(|o| o.is_ok()));
    }
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
