//! Profiling aid for issue 16: a handset on a sled store (as shipped) applying pulled
//! batches of new documents, without QUIC or a relay: the supervisor's side of a city
//! reconnect. `cargo run --release -p gridsync-tests --example apply_rate [households]
//! [visits] [per-batch]` prints documents/s for the households (day 0) and the visits.

use std::sync::Arc;
use std::time::Instant;

use gridsync_core::replica::{Replica, ReplicaConfig};
use gridsync_core::store::MemoryStore;
use gridsync_core::sync::wire::{Cursor, Entry};
use gridsync_tests::workload::{Workload, WorkloadConfig};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let households: usize = args.next().map_or(Ok(2_000), |a| a.parse())?;
    let visits: usize = args.next().map_or(Ok(5_000), |a| a.parse())?;
    let per: usize = args.next().map_or(Ok(250), |a| a.parse())?;
    let mut cfg = WorkloadConfig::bootstrap();
    cfg.households_per_grid = households;
    cfg.visits = visits;
    cfg.cases = 0;
    let w = Workload::generate(&cfg);
    // The worker's handset types everything; its outbox is what the relay would send.
    let writer = Replica::open_with(
        Arc::new(MemoryStore::new()),
        "writer",
        ReplicaConfig::default(),
    )?;
    let loaded = gridsync_tests::load::load(&writer, &w, w.period().1, "writer")?;
    let entries: Vec<Entry> = writer
        .outbox_after(None, usize::MAX)?
        .into_iter()
        .map(|i| Entry::from(i.change))
        .collect();
    let (day0, field) = entries.split_at(loaded.households.len());
    let tmp = tempfile::tempdir()?;
    let reader = Replica::open(&tmp.path().join("supervisor"), "supervisor")?;
    let mut seq = 0u64;
    for (name, part) in [("households", day0), ("visits", field)] {
        let t = Instant::now();
        for batch in part.chunks(per) {
            seq += batch.len() as u64;
            reader.apply_batch(batch, &Cursor::Log { after: seq })?;
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "{name}: {} documents in batches of {per}: {s:.2} s, {:.0} documents/s",
            part.len(),
            part.len() as f64 / s
        );
    }
    Ok(())
}
