//! Profiling aid: the relay's hub ingesting pushes in-process, without QUIC, to separate
//! the hub's cost per change from the transport's. `cargo run --release -p gridsync-tests
//! --example hub_ingest [handsets] [visits]`.

use std::sync::Arc;
use std::time::Instant;

use gridsync_core::replica::{Replica, ReplicaConfig};
use gridsync_core::store::MemoryStore;
use gridsync_core::sync::CheckedChange;
#[allow(unused_imports)]
use gridsync_core::sync::backend::HandsetBackend as _;
use gridsync_core::sync::backend::RelayBackend;
use gridsync_tests::workload::{Workload, WorkloadConfig};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let handsets: usize = args.next().map_or(Ok(100), |a| a.parse())?;
    let per: usize = args.next().map_or(Ok(50), |a| a.parse())?;
    let tmp = tempfile::tempdir()?;
    let hub = Arc::new(gridsync_server::open_hub(tmp.path(), 64)?);
    let mut cfg = WorkloadConfig::bootstrap();
    cfg.households_per_grid = handsets;
    cfg.visits = handsets * per;
    cfg.cases = 0;
    let w = Workload::generate(&cfg);
    let mut pushes = Vec::new();
    for i in 0..handsets {
        let grid = gridsync_core::GridPath::parse(&format!("loadtest/street/community/g{i:03}"))?;
        let grants = gridsync_tests::relay::all_roles("w", &[grid.as_str()])?;
        let e = hub.add_device(&format!("load-{i}"), &grants)?;
        let grant = hub.authenticate(&e.token)?;
        let r = Replica::open_with(
            Arc::new(MemoryStore::new()),
            &format!("load-{i}"),
            ReplicaConfig::default(),
        )?;
        r.store_grants(&grant.grants)?;
        let mut h = w.households[i].clone();
        h.grid = grid;
        let hid = r.register_household(&h, "w")?;
        for v in w.visits.iter().take(per) {
            r.log_visit(&v.to_new_visit(hid.clone()))?;
        }
        let items = r.outbox_after(None, usize::MAX)?;
        let changes: Vec<_> = items.into_iter().map(|i| i.change).collect();
        pushes.push((grant, changes));
    }
    let n: usize = pushes.iter().map(|(_, c)| c.len()).sum();
    let threads = 2;
    let t = Instant::now();
    std::thread::scope(|s| -> anyhow::Result<()> {
        let workers: Vec<_> = pushes
            .chunks(pushes.len().div_ceil(threads))
            .map(|part| {
                let hub = hub.clone();
                s.spawn(move || -> anyhow::Result<()> {
                    for (grant, changes) in part {
                        // Parsed and scope-checked as a session does, inside the timing.
                        let checked = changes
                            .iter()
                            .map(|c| CheckedChange::check(grant, c.clone()))
                            .collect::<Result<Vec<_>, _>>()
                            .map_err(|r| anyhow::anyhow!("refused: {}", r.reason))?;
                        let out = hub.ingest(grant, &checked)?;
                        anyhow::ensure!(out.iter().all(|o| o.is_ok()), "a change was refused");
                    }
                    Ok(())
                })
            })
            .collect();
        for w in workers {
            w.join()
                .map_err(|_| anyhow::anyhow!("an ingest thread panicked"))??;
        }
        Ok(())
    })?;
    let took = t.elapsed();
    println!(
        "{n} changes from {handsets} handsets in {took:?}: {:.0} changes/s ({threads} threads)",
        n as f64 / took.as_secs_f64()
    );
    Ok(())
}
