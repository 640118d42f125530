//! The city scenario (issue 16) against a real `gridsync-relay` process: a worker handset
//! per grid and a community supervisor holding every grid ([`super::city_plan`]), all on
//! sled stores. Day 0 the workers register their households and sync, and the supervisor
//! bootstraps; then every handset works the field days offline, and all reconnect at
//! once. Reported: the time until every handset and the relay hold the same documents,
//! bytes, relay CPU and peak memory, and the supervisor's apply rate.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use gridsync_core::net::{SyncClient, SyncReport};
use gridsync_core::store::MemoryStore;
use gridsync_core::{Replica, ReplicaConfig};
use serde::{Deserialize, Serialize};

use super::city_plan::{COMMUNITY, City, CityConfig, FieldWork, SUPERVISOR, worker};
use crate::netem::harness::checks::{DocHeads, diff, doc_heads};
use crate::relay_process::{ProcessOptions, RelayProcess};

/// Rounds of reconnects after which a city that has not converged is an error.
const MAX_ROUNDS: usize = 10;

/// What a city run measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CityFigures {
    /// What the city holds at the end.
    pub records: String,
    /// Day 0: from the workers' first sync until the supervisor held every household, ms.
    pub setup_ms: f64,
    /// Of which the supervisor's bootstrap, ms.
    pub supervisor_bootstrap_ms: f64,
    /// The reconnect after the field days: from everyone reconnecting at once until the
    /// end of the last round of syncs that moved anything, ms (a further round confirms
    /// that nothing is left).
    pub reconnect_ms: f64,
    /// Rounds of `sync_once` on every handset until one moved nothing.
    pub rounds: usize,
    /// Frame bytes handsets → relay in the reconnect.
    pub bytes_up: u64,
    /// Frame bytes relay → handsets in the reconnect.
    pub bytes_down: u64,
    /// Relay CPU seconds in the reconnect.
    pub relay_cpu_s: f64,
    /// Relay peak resident memory over the whole run, MiB.
    pub relay_peak_mib: f64,
    /// Documents the supervisor applied in the reconnect.
    pub supervisor_documents: u64,
    /// Messages the supervisor received in the reconnect (almost all pulled batches).
    pub supervisor_messages: u64,
    /// Time the supervisor spent handling pulled batches in the reconnect, s.
    pub supervisor_apply_s: f64,
    /// `supervisor_documents / supervisor_apply_s`.
    pub supervisor_docs_per_s: f64,
    /// After the reconnect, a fresh handset bootstraps one grid, ms.
    pub grid_bootstrap_ms: f64,
}

/// A handset of the city.
#[derive(Clone)]
struct Handset {
    name: String,
    replica: Arc<Replica>,
    client: Arc<SyncClient>,
}

/// Runs the city `config` describes against the relay binary `exe`; `progress` hears what
/// happens.
pub async fn run(exe: &Path, config: CityConfig, progress: &dyn Fn(&str)) -> Result<CityFigures> {
    let city = Arc::new(City::plan(config));
    let dir = tempfile::tempdir()?;
    let relay = RelayProcess::spawn(exe, &dir.path().join("relay"), ProcessOptions::default())?;
    let mut handsets = Vec::new();
    for g in 0..config.grids {
        let grid = config.grid(g);
        handsets.push(handset(&relay, dir.path(), &worker(g), &[grid.as_str()])?);
    }
    let supervisor = handset(&relay, dir.path(), SUPERVISOR, &[COMMUNITY])?;
    let mut figures = CityFigures::default();

    progress(&format!(
        "day 0: {} grids register {} households each",
        config.grids, config.households_per_grid
    ));
    let ids = on_each(&city, &handsets, |city, h, g| city.register(&h.replica, g)).await?;
    let started = Instant::now();
    sync_all(&handsets)
        .await
        .context("day 0: the workers' sync")?;
    let boot = Instant::now();
    let _ = supervisor.client.sync_once().await?;
    figures.supervisor_bootstrap_ms = ms(boot.elapsed());
    figures.setup_ms = ms(started.elapsed());
    let households = config.grids * config.households_per_grid;
    ensure!(
        documents(&supervisor.replica)? == households,
        "the supervisor holds {} documents after day 0, not {households}",
        documents(&supervisor.replica)?
    );

    progress(&format!("{} field days offline", config.days));
    let ids = Arc::new(ids);
    let work = {
        let ids = ids.clone();
        on_each(&city, &handsets, move |city, h, g| {
            city.field_days(&h.replica, g, &ids[g])
        })
        .await?
    };
    let sup_work = city.supervisor_days(&supervisor.replica, &ids)?;
    figures.records = records(&city, &work, sup_work);

    progress("everyone reconnects at once");
    let mut all = handsets;
    all.push(supervisor);
    let cpu = relay.cpu_seconds();
    let started = Instant::now();
    let mut converged = Duration::ZERO;
    loop {
        figures.rounds += 1;
        ensure!(
            figures.rounds <= MAX_ROUNDS,
            "no convergence in {MAX_ROUNDS} rounds"
        );
        let reports = sync_all(&all).await?;
        let moved = reports
            .iter()
            .any(|r| r.pushed > 0 || r.documents_changed > 0);
        for r in &reports {
            figures.bytes_up += r.bytes_sent;
            figures.bytes_down += r.bytes_received;
        }
        if let Some(s) = reports.last() {
            figures.supervisor_documents += s.documents_changed;
            figures.supervisor_messages += s.messages_received;
            figures.supervisor_apply_s += s.apply_time.as_secs_f64();
        }
        if !moved {
            break;
        }
        converged = started.elapsed();
    }
    figures.reconnect_ms = ms(converged);
    figures.relay_cpu_s = relay.cpu_seconds() - cpu;
    figures.supervisor_docs_per_s =
        figures.supervisor_documents as f64 / figures.supervisor_apply_s.max(1e-9);

    progress("checking that every handset holds what the relay holds");
    check_converged(&city, &all)?;
    let auditor = fresh(&relay, "auditor", config.grid(0).as_str())?;
    let boot = Instant::now();
    let _ = auditor.client.sync_once().await?;
    figures.grid_bootstrap_ms = ms(boot.elapsed());
    let grid0 = doc_heads(&all[0].replica)?;
    let relay_view = doc_heads(&auditor.replica)?;
    ensure!(
        relay_view == grid0,
        "{}",
        diff("relay", &relay_view, &all[0].name, &grid0)
    );
    figures.relay_peak_mib = relay.peak_rss_kib() as f64 / 1024.0;
    Ok(figures)
}

/// Every handset has nothing pending and holds what the supervisor holds of its grid, the
/// supervisor holds exactly the workers' documents, and as many as the plan says.
fn check_converged(city: &City, all: &[Handset]) -> Result<()> {
    for h in all {
        let p = h.replica.pending()?;
        ensure!(
            p.changes == 0 && p.refused == 0,
            "{} has {} pending, {} refused",
            h.name,
            p.changes,
            p.refused
        );
    }
    let (sup, workers) = all.split_last().context("no handsets")?;
    let sup_heads = doc_heads(&sup.replica)?;
    let mut total = 0;
    for (g, w) in workers.iter().enumerate() {
        let mine = doc_heads(&w.replica)?;
        ensure!(
            mine.len() == city.documents_in(g),
            "{} holds {} documents, the plan {}",
            w.name,
            mine.len(),
            city.documents_in(g)
        );
        let theirs: DocHeads = mine
            .keys()
            .filter_map(|k| sup_heads.get(k).map(|h| (k.clone(), h.clone())))
            .collect();
        ensure!(
            mine == theirs,
            "{}",
            diff(&w.name, &mine, SUPERVISOR, &theirs)
        );
        total += mine.len();
    }
    ensure!(
        sup_heads.len() == total,
        "the supervisor holds {} documents, the workers {total}",
        sup_heads.len()
    );
    Ok(())
}

/// Enrolls `name` on `scopes` and opens its handset on a sled store under `dir`.
fn handset(relay: &RelayProcess, dir: &Path, name: &str, scopes: &[&str]) -> Result<Handset> {
    let token = relay.enroll(name, scopes)?;
    let replica = Arc::new(Replica::open(&dir.join(name), name)?);
    let client = Arc::new(SyncClient::new(replica.clone(), relay.target(&token))?);
    Ok(Handset {
        name: name.into(),
        replica,
        client,
    })
}

/// A fresh in-memory handset enrolled on `scope`.
fn fresh(relay: &RelayProcess, name: &str, scope: &str) -> Result<Handset> {
    let token = relay.enroll(name, &[scope])?;
    let replica = Arc::new(Replica::open_with(
        Arc::new(MemoryStore::new()),
        name,
        ReplicaConfig::default(),
    )?);
    let client = Arc::new(SyncClient::new(replica.clone(), relay.target(&token))?);
    Ok(Handset {
        name: name.into(),
        replica,
        client,
    })
}

/// Runs `work` for every worker handset on blocking threads, grid `g` with handset `g`.
async fn on_each<T, F>(city: &Arc<City>, handsets: &[Handset], work: F) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(&City, &Handset, usize) -> gridsync_core::Result<T> + Send + Sync + 'static,
{
    let work = Arc::new(work);
    let mut tasks = Vec::new();
    for (g, h) in handsets.iter().enumerate() {
        let (city, work) = (city.clone(), work.clone());
        let h = h.clone();
        tasks.push(tokio::task::spawn_blocking(move || work(&city, &h, g)));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await??);
    }
    Ok(out)
}

/// One `sync_once` on every handset at the same moment; their reports in order.
async fn sync_all(handsets: &[Handset]) -> Result<Vec<SyncReport>> {
    let tasks: Vec<_> = handsets
        .iter()
        .map(|h| {
            let c = h.client.clone();
            tokio::spawn(async move { c.sync_once().await })
        })
        .collect();
    let mut out = Vec::new();
    for (t, h) in tasks.into_iter().zip(handsets) {
        out.push(t.await?.with_context(|| format!("{}'s sync", h.name))?);
    }
    Ok(out)
}

fn documents(replica: &Replica) -> Result<usize> {
    Ok(replica.store().len(gridsync_core::store::trees::DOCS)?)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn records(city: &City, work: &[FieldWork], sup: FieldWork) -> String {
    let sum = |f: fn(&FieldWork) -> usize| work.iter().map(f).sum::<usize>();
    let c = city.config;
    format!(
        "{} grids x {} households; {} days: {} visits, {} cases, {} case actions, {} tier \
         changes, {} household edits by workers and {} by the supervisor; {} handsets",
        c.grids,
        c.households_per_grid,
        c.days,
        sum(|w| w.visits),
        sum(|w| w.cases),
        sum(|w| w.case_actions),
        sum(|w| w.tier_changes),
        sum(|w| w.edits),
        sup.edits,
        c.grids + 1
    )
}

/// The figures as a Markdown table.
pub fn table(f: &CityFigures) -> String {
    let rows = [
        ("records", f.records.clone()),
        (
            "day 0: workers sync, supervisor bootstraps",
            format!(
                "{:.1} s (bootstrap {:.1} s)",
                f.setup_ms / 1e3,
                f.supervisor_bootstrap_ms / 1e3
            ),
        ),
        (
            "reconnect: time to convergence",
            format!(
                "{:.1} s ({} rounds of syncs)",
                f.reconnect_ms / 1e3,
                f.rounds
            ),
        ),
        (
            "reconnect: bytes up / down",
            format!("{:.1} / {:.1} MiB", mib(f.bytes_up), mib(f.bytes_down)),
        ),
        ("reconnect: relay CPU", format!("{:.1} s", f.relay_cpu_s)),
        (
            "relay peak RSS (whole run)",
            format!("{:.0} MiB", f.relay_peak_mib),
        ),
        (
            "supervisor apply",
            format!(
                "{} documents in {} messages, {:.2} s: {:.0} documents/s",
                f.supervisor_documents,
                f.supervisor_messages,
                f.supervisor_apply_s,
                f.supervisor_docs_per_s
            ),
        ),
        (
            "then a fresh handset bootstraps one grid",
            format!("{:.2} s", f.grid_bootstrap_ms / 1e3),
        ),
    ];
    let mut out = String::from("| city | |\n|---|---|\n");
    for (k, v) in rows {
        out.push_str(&format!("| {k} | {v} |\n"));
    }
    out
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
