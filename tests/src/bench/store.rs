//! The on-device store benchmark (issue: core store): one grid, one year (300 households,
//! 6,000 visits, 1,000 cases) loaded through the public API into a sled replica. Measures
//! log-visit latency with durability, cold open, the due-visits and open-cases queries,
//! resident memory after open and queries (in a fresh process), and disk size against the
//! postcard size of the same records.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use gridsync_core::replica::CaseFilter;
use gridsync_core::store::{Scan, StoreKey, trees};
use gridsync_core::{DAY_MS, Replica};
use serde::{Deserialize, Serialize};

use crate::load::{load, p50_p99};
use crate::workload::{Workload, WorkloadConfig};

/// The figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoreFigures {
    /// Households, visits, cases loaded.
    pub records: (usize, usize, usize),
    /// Case actions taken while loading.
    pub case_actions: usize,
    /// log_visit latency, median, ms.
    pub log_visit_p50_ms: f64,
    /// log_visit latency, 99th percentile, ms.
    pub log_visit_p99_ms: f64,
    /// From the probe process (medians over its runs).
    pub probe: ProbeFigures,
    /// Bytes of the store directory on disk right after loading (before any compaction).
    pub disk_before_compaction: u64,
    /// Time of the first reopen, which compacts the store, ms.
    pub compacting_open_ms: f64,
    /// Bytes of the store directory on disk after that reopen.
    pub disk_bytes: u64,
    /// Keys and values held, per tree (what a perfectly compact store would need).
    pub live_bytes: Vec<(String, u64)>,
    /// Postcard bytes of the input forms that made the records (`NewVisit`, `NewCase`
    /// ...: no ids, no case timelines): the comparison reported before.
    pub postcard_bytes: u64,
    /// disk / postcard.
    pub disk_ratio: f64,
    /// Postcard bytes of the records as the store returns them (ids, references, tier
    /// histories, case timelines; a case's folded state left out).
    pub stored_postcard_bytes: u64,
    /// disk / stored_postcard_bytes.
    pub stored_disk_ratio: f64,
}

/// What a fresh process measures on an existing store.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProbeFigures {
    /// Cold open, ms (median of the runs; each run opens and drops the replica).
    pub open_ms: f64,
    /// due_visits for the grid's main worker, ms (median).
    pub due_visits_ms: f64,
    /// Households due in that answer.
    pub due_count: usize,
    /// list_cases(open), ms (median).
    pub open_cases_ms: f64,
    /// Open cases in that answer.
    pub open_count: usize,
    /// list_cases(overdue), ms (median).
    pub overdue_cases_ms: f64,
    /// Resident set after open and the queries, KiB.
    pub rss_kib: u64,
}

fn dir_size(p: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += dir_size(&e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Resident set size of this process, KiB (Linux).
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The bench's replica in `dir`, encrypted with `key` when there is one.
pub fn open_bench_store(dir: &Path, key: Option<&StoreKey>) -> Result<Replica> {
    Ok(match key {
        Some(k) => Replica::open_encrypted(dir, "bench-phone", k.clone())?,
        None => Replica::open(dir, "bench-phone")?,
    })
}

/// Runs in a fresh process: open the store `runs` times, query, report.
pub fn probe(
    dir: &Path,
    worker: &str,
    now: i64,
    runs: usize,
    key: Option<&StoreKey>,
) -> Result<ProbeFigures> {
    let (mut open, mut due, mut open_cases, mut overdue) = (vec![], vec![], vec![], vec![]);
    let mut f = ProbeFigures::default();
    for _ in 0..runs {
        let t = Instant::now();
        let r = open_bench_store(dir, key)?;
        open.push(ms(t.elapsed()));
        let t = Instant::now();
        f.due_count = r.due_visits(Some(worker), now, 0)?.len();
        due.push(ms(t.elapsed()));
        let t = Instant::now();
        f.open_count = r
            .list_cases(&CaseFilter {
                open_only: true,
                ..Default::default()
            })?
            .len();
        open_cases.push(ms(t.elapsed()));
        let t = Instant::now();
        r.list_cases(&CaseFilter {
            overdue_at: Some(now),
            ..Default::default()
        })?;
        overdue.push(ms(t.elapsed()));
        f.rss_kib = rss_kib();
    }
    f.open_ms = median(open);
    f.due_visits_ms = median(due);
    f.open_cases_ms = median(open_cases);
    f.overdue_cases_ms = median(overdue);
    Ok(f)
}

/// Loads a year of a grid into a fresh sled store at `dir` (encrypted with `key` when
/// given), then probes it in a child process (`self_exe store-probe …`).
pub fn run(
    dir: &Path,
    self_exe: &Path,
    seed: u64,
    shuffled_text: bool,
    key: Option<&StoreKey>,
    progress: &dyn Fn(&str),
) -> Result<StoreFigures> {
    let mut cfg = WorkloadConfig::grid_year();
    cfg.seed = seed;
    let mut w = Workload::generate(&cfg);
    if shuffled_text {
        w.shuffle_text(seed);
    }
    let (_, end) = w.period();
    let now = end + DAY_MS;
    progress("loading 300 households, 6,000 visits, 1,000 cases into sled");
    let replica = open_bench_store(dir, key)?;
    let loaded = load(&replica, &w, now, "w-bench")?;
    let (p50, p99) = p50_p99(&loaded.visit_latencies);
    replica.store().flush()?;
    let mut live_bytes = Vec::new();
    for tree in [trees::DOCS, trees::OUTBOX, trees::INDEX, trees::META] {
        let n: usize = replica
            .store()
            .scan(tree, Scan::prefix(b""))?
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum();
        live_bytes.push((tree.to_string(), n as u64));
    }
    drop(replica);
    let disk_before_compaction = dir_size(dir);
    progress("reopening (compacts the store)");
    let t = Instant::now();
    drop(open_bench_store(dir, key)?);
    let compacting_open_ms = ms(t.elapsed());
    let worker = w.workers.first().map(|x| x.id.clone()).unwrap_or_default();
    progress("probing cold open, queries and memory in a fresh process");
    let mut probe = Command::new(self_exe);
    probe.args(["store-probe", "--store"]).arg(dir).args([
        "--worker",
        &worker,
        "--now",
        &now.to_string(),
    ]);
    if let Some(k) = key {
        probe.args(["--key", &hex::encode(k.as_bytes())]);
    }
    let out = probe.output().context("running the probe")?;
    anyhow::ensure!(
        out.status.success(),
        "probe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let probe: ProbeFigures = serde_json::from_slice(&out.stdout).context("probe output")?;
    let disk = dir_size(dir);
    let postcard = w.postcard_size() as u64;
    let stored = super::records::stored_records(&open_bench_store(dir, key)?)?.len() as u64;
    Ok(StoreFigures {
        records: (
            loaded.households.len(),
            loaded.visits.len(),
            loaded.cases.len(),
        ),
        case_actions: loaded.case_actions,
        log_visit_p50_ms: p50,
        log_visit_p99_ms: p99,
        probe,
        disk_before_compaction,
        compacting_open_ms,
        disk_bytes: disk,
        live_bytes,
        postcard_bytes: postcard,
        disk_ratio: disk as f64 / postcard as f64,
        stored_postcard_bytes: stored,
        stored_disk_ratio: disk as f64 / stored as f64,
    })
}
