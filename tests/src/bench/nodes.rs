//! `gridsync-bench --scenario nodes` (issue 17): the relay load (100 handsets pushing 50
//! visits each at once, as `--scenario load`) against relay processes on sled, on
//! PostgreSQL with 1, 2 and 3 nodes (handsets spread over the nodes), and on PostgreSQL
//! with 20,000 other devices enrolled. Each PostgreSQL setup gets a schema of its own on
//! the server given; relay CPU is summed over the nodes.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, ensure};
use gridsync_core::GridPath;
use gridsync_core::net::SyncClient;
use gridsync_server::pg::PgStore;
use serde::Serialize;

use crate::ops_client::OpsClient;
use crate::pg::{in_new_schema, spawn_nodes, store_url};
use crate::relay::all_roles;
use crate::relay_process::{ProcessOptions, RelayProcess, leak, stat_cpu_seconds};

use super::sync::{fill_load_handset, load_workload, mem_replica};

/// One setup's figures.
#[derive(Debug, Clone, Serialize)]
pub struct NodesFigures {
    /// `sled` or `PostgreSQL`.
    pub store: String,
    /// Relay processes.
    pub nodes: usize,
    /// Devices enrolled besides the load's handsets.
    pub other_devices: usize,
    /// Visits pushed.
    pub visits: u64,
    /// From the first push to the last acknowledgement, seconds.
    pub wall_s: f64,
    /// Visits acknowledged per second.
    pub visits_per_s: f64,
    /// CPU of every relay process meanwhile, seconds.
    pub relay_cpu_s: f64,
    /// Relay CPU per visit, milliseconds.
    pub cpu_ms_per_visit: f64,
    /// CPU of the machine's PostgreSQL processes meanwhile, seconds (about 0 on sled).
    pub db_cpu_s: f64,
    /// Pushes numbered again because another node committed first.
    pub push_conflicts: f64,
}

/// The setups, in order: (PostgreSQL, nodes, other devices).
const SETUPS: [(bool, usize, usize); 5] = [
    (false, 1, 0),
    (true, 1, 0),
    (true, 2, 0),
    (true, 3, 0),
    (true, 1, 20_000),
];

/// Runs every setup; `pg_url` is the PostgreSQL server the PostgreSQL setups use.
pub async fn run(
    exe: &Path,
    pg_url: &str,
    handsets: usize,
    per: usize,
    seed: u64,
    say: &dyn Fn(&str),
) -> Result<Vec<NodesFigures>> {
    let mut out = Vec::new();
    for (pg, nodes, others) in SETUPS {
        say(&format!(
            "{} with {nodes} node(s), {others} other devices",
            if pg { "PostgreSQL" } else { "sled" }
        ));
        let dir = tempfile::tempdir()?;
        let store = match pg {
            true => {
                let target = in_new_schema(pg_url, "bench");
                let store = PgStore::open(&target)?;
                if others > 0 {
                    enroll_others(&target, dir.path(), others)?;
                    // As autovacuum leaves it in time: the load is not timed against it.
                    store.vacuum_analyze()?;
                }
                drop(store);
                Some(leak(store_url(&target)))
            }
            false => None,
        };
        let relays = start_nodes(exe, dir.path(), nodes, store)?;
        let mut f = load(&relays, handsets, per, seed).await?;
        f.store = if pg { "PostgreSQL" } else { "sled" }.into();
        f.other_devices = others;
        say(&format!("{:.0} visits/s", f.visits_per_s));
        out.push(f);
    }
    Ok(out)
}

/// A `--store` URL for a relay on the server at `url`, in a new schema (made here).
pub fn fresh_store(url: &str) -> Result<&'static str> {
    let target = in_new_schema(url, "bench");
    drop(PgStore::open(&target)?);
    Ok(leak(store_url(&target)))
}

/// `n` relay processes in `dir` on `store` (sled when `None`), sharing one identity.
fn start_nodes(
    exe: &Path,
    dir: &Path,
    n: usize,
    store: Option<&'static str>,
) -> Result<Vec<RelayProcess>> {
    let options = ProcessOptions {
        store,
        ..ProcessOptions::default()
    };
    spawn_nodes(exe, dir, n, options)
}

/// Enrolls `n` devices straight into the database, from 4 threads.
fn enroll_others(target: &gridsync_server::pg::PgTarget, dir: &Path, n: usize) -> Result<()> {
    let hub = Arc::new(gridsync_server::open_pg_hub(target, dir)?);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let hub = hub.clone();
            std::thread::spawn(move || -> Result<()> {
                for i in (t..n).step_by(4) {
                    let name = format!("other-{i}");
                    let scope = format!("othertown/street/community/g{:04}", i % 5000);
                    hub.add_device(&name, &all_roles(&name, &[&scope])?)?;
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join()
            .map_err(|_| anyhow::anyhow!("an enrolling thread panicked"))??;
    }
    Ok(())
}

/// The load against `nodes`: handset `i` on node `i % n`, all pushing at once.
async fn load(
    nodes: &[RelayProcess],
    handsets: usize,
    per: usize,
    seed: u64,
) -> Result<NodesFigures> {
    let w = load_workload(handsets, per, seed);
    let mut handset = Vec::new();
    for i in 0..handsets {
        let name = format!("load-{i}");
        let grid = GridPath::parse(&format!("loadtest/street/community/g{i:03}"))?;
        let node = &nodes[i % nodes.len()];
        let token = nodes[0].enroll(&name, &[grid.as_str()])?;
        let replica = mem_replica(&name)?;
        let client = Arc::new(SyncClient::new(replica.clone(), node.target(&token))?);
        client.sync_once().await?;
        fill_load_handset(&replica, &w, i, &grid, per)?;
        handset.push((replica, client));
    }
    let conflicts = || -> Result<f64> {
        let mut sum = 0.0;
        for n in nodes.iter().filter_map(|n| n.http) {
            sum += OpsClient::new(n)
                .metrics()?
                .get("gridsync_relay_push_conflicts_total");
        }
        Ok(sum)
    };
    let (cpu0, db0, conflicts0) = (cpu(nodes), postgres_cpu(), conflicts()?);
    let t = Instant::now();
    let tasks: Vec<_> = handset
        .iter()
        .map(|(_, c)| {
            let c = c.clone();
            tokio::spawn(async move { c.sync_once().await })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let wall_s = t.elapsed().as_secs_f64();
    let relay_cpu_s = cpu(nodes) - cpu0;
    let db_cpu_s = postgres_cpu() - db0;
    for (replica, _) in &handset {
        let p = replica.pending()?;
        ensure!(p.changes == 0 && p.refused == 0, "a handset has {p:?} left");
    }
    let visits = (handsets * per) as u64;
    Ok(NodesFigures {
        store: String::new(),
        nodes: nodes.len(),
        other_devices: 0,
        visits,
        wall_s,
        visits_per_s: visits as f64 / wall_s,
        relay_cpu_s,
        cpu_ms_per_visit: relay_cpu_s * 1e3 / visits as f64,
        db_cpu_s,
        push_conflicts: conflicts()? - conflicts0,
    })
}

fn cpu(nodes: &[RelayProcess]) -> f64 {
    nodes.iter().map(RelayProcess::cpu_seconds).sum()
}

/// CPU seconds of every `postgres` process on the machine (the server's backends).
fn postgres_cpu() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    let mut total = 0.0;
    for entry in dir.flatten() {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let postgres = stat
            .rsplit_once(')')
            .is_some_and(|(head, _)| head.ends_with("(postgres"));
        if postgres {
            total += stat_cpu_seconds(&stat);
        }
    }
    total
}

/// The figures as a Markdown table.
pub fn table(figures: &[NodesFigures]) -> String {
    let mut out = String::from(
        "| store | nodes | other devices | visits | wall | visits/s | relay CPU | relay CPU/visit | PostgreSQL CPU | push conflicts |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for f in figures {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.2} s | {:.0} | {:.2} s | {:.3} ms | {:.2} s | {:.0} |\n",
            f.store,
            f.nodes,
            f.other_devices,
            f.visits,
            f.wall_s,
            f.visits_per_s,
            f.relay_cpu_s,
            f.cpu_ms_per_visit,
            f.db_cpu_s,
            f.push_conflicts
        ));
    }
    out
}
