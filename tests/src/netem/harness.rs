//! What the fault tests share: handsets ([`Phone`]) and the loops that drive them, small
//! seeded workloads, and (in [`checks`]) the convergence checks: documents, per-document
//! heads, nothing pending, what the relay holds. The relays themselves are
//! [`TestRelay`](crate::relay::TestRelay) (in-process) and
//! [`RelayProcess`](crate::relay_process::RelayProcess) (a child process to SIGKILL).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use gridsync_core::net::{Backoff, RelayTarget, SyncClient};
use gridsync_core::replica::{ChangeObserver, ChangeOrigin};
use gridsync_core::store::MemoryStore;
use gridsync_core::{DocId, Replica, ReplicaConfig};

use crate::workload::{GridSpec, START_2024, Workload, WorkloadConfig};

pub mod checks;

pub use checks::{
    DocHeads, acknowledged, change_hashes, converged, diff, doc_heads, doc_ids, relay_has_doc,
    relay_view,
};

/// A handset: a replica and its sync client.
pub struct Phone {
    /// Its device name.
    pub name: String,
    /// Its replica.
    pub replica: Arc<Replica>,
    /// Its sync client.
    pub client: Arc<SyncClient>,
    /// Documents received from the relay (counted by an observer, over all sessions).
    pub received_docs: Arc<AtomicU64>,
}

struct CountRemote(Arc<AtomicU64>);

impl ChangeObserver for CountRemote {
    fn changed(&self, docs: &[DocId], origin: ChangeOrigin) {
        if origin == ChangeOrigin::Remote {
            self.0.fetch_add(docs.len() as u64, Ordering::SeqCst);
        }
    }
}

/// How a [`Phone`]'s client is set up.
#[derive(Debug, Clone, Copy, Default)]
pub struct PhoneOptions {
    /// Reconnect backoff (default: the client's).
    pub backoff: Option<Backoff>,
    /// Push and pull batch bytes (default: the client's).
    pub batch: Option<(usize, u32)>,
}

impl Phone {
    /// A handset over an in-memory store.
    pub fn in_memory(name: &str, target: RelayTarget, opts: PhoneOptions) -> Result<Self> {
        let replica =
            Replica::open_with(Arc::new(MemoryStore::new()), name, ReplicaConfig::default())?;
        Self::with_replica(name, Arc::new(replica), target, opts)
    }

    /// A handset over a sled store in `dir`.
    pub fn on_disk(
        dir: &Path,
        name: &str,
        target: RelayTarget,
        opts: PhoneOptions,
    ) -> Result<Self> {
        let replica = Replica::open(dir, name)?;
        Self::with_replica(name, Arc::new(replica), target, opts)
    }

    /// A handset over an existing replica.
    pub fn with_replica(
        name: &str,
        replica: Arc<Replica>,
        target: RelayTarget,
        opts: PhoneOptions,
    ) -> Result<Self> {
        if let Some(grants) = crate::relay::enrolled_grants(&target.token) {
            replica.store_grants(&grants)?;
        }
        let received = Arc::new(AtomicU64::new(0));
        replica.observe(Arc::new(CountRemote(received.clone())));
        let mut client = SyncClient::new(replica.clone(), target)?;
        if let Some(b) = opts.backoff {
            client = client.with_backoff(b);
        }
        if let Some((push, pull)) = opts.batch {
            client = client.with_batch_bytes(push, pull);
        }
        Ok(Phone {
            name: name.to_string(),
            replica,
            client: Arc::new(client),
            received_docs: received,
        })
    }

    /// A phone call to the first household this phone holds, `n` ms into 2024-01-08,
    /// by this phone's worker.
    pub fn call_visit(&self, n: i64) -> Result<gridsync_core::model::NewVisit> {
        let households = self.replica.list_households(None)?;
        let first = households
            .first()
            .ok_or_else(|| anyhow::anyhow!("{} holds no household", self.name))?;
        Ok(gridsync_core::model::NewVisit {
            household: first.id.clone(),
            worker: self.name.clone(),
            at: 1_704_700_800_000 + n,
            mode: gridsync_core::model::VisitMode::Phone,
            notes: format!("电话回访第{n}次"),
            findings: vec![],
            follow_ups: vec![],
            geo: None,
        })
    }

    /// Local changes not yet acknowledged.
    pub fn pending(&self) -> u64 {
        self.replica
            .pending()
            .map(|p| p.changes)
            .unwrap_or(u64::MAX)
    }

    /// Syncs once, retrying failed attempts until `deadline` passes.
    pub async fn sync_until_ok(&self, deadline: Instant) -> Result<gridsync_core::net::SyncReport> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.client.sync_once().await {
                Ok(r) => return Ok(r),
                Err(e) if Instant::now() < deadline => {
                    tracing::info!(phone = %self.name, attempts, error = %e, "sync failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => bail!(
                    "{}: sync still failing after {attempts} attempts: {e}",
                    self.name
                ),
            }
        }
    }
}

/// Syncs every phone (concurrently, `sync_once`, failures retried) round after round until
/// all hold the same documents and heads with nothing pending, or `within` passes.
/// Returns the number of rounds and failed attempts.
pub async fn sync_until_converged(phones: &[&Phone], within: Duration) -> Result<(usize, usize)> {
    let deadline = Instant::now() + within;
    let mut rounds = 0;
    let mut failures = 0;
    loop {
        rounds += 1;
        let mut set = tokio::task::JoinSet::new();
        for p in phones {
            let client = p.client.clone();
            set.spawn(async move { client.sync_once().await });
        }
        while let Some(r) = set.join_next().await {
            match r {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    failures += 1;
                    tracing::info!(error = %e, "sync attempt failed");
                }
                Err(e) => bail!("a sync task panicked: {e}"),
            }
        }
        let first = doc_heads(&phones[0].replica)?;
        if converged(phones, &first).is_ok() && rounds >= 2 {
            return Ok((rounds, failures));
        }
        if Instant::now() > deadline {
            let why = converged(phones, &first)
                .err()
                .map_or_else(|| "?".to_string(), |e| e.to_string());
            bail!("not converged after {rounds} rounds ({failures} failed attempts): {why}");
        }
    }
}

/// Polls `check` every 100 ms until it passes or `within` elapses; returns the last error.
pub async fn eventually<F>(within: Duration, mut check: F) -> Result<Duration>
where
    F: FnMut() -> Result<()>,
{
    let t = Instant::now();
    loop {
        match check() {
            Ok(()) => return Ok(t.elapsed()),
            Err(e) if t.elapsed() > within => {
                return Err(e.context(format!("still failing after {within:?}")));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// A small seeded workload in one grid: `households` households, `visits` visits and
/// `cases` cases over a week.
pub fn small_workload(
    seed: u64,
    grid: GridSpec,
    households: usize,
    visits: usize,
    cases: usize,
) -> Workload {
    Workload::generate(&WorkloadConfig {
        seed,
        grids: vec![grid],
        households_per_grid: households,
        visits,
        cases,
        start: START_2024,
        days: 7,
        conflicts: 0,
    })
}

/// Loads `w` into a phone's replica; returns the number of local changes it made.
pub fn load_into(phone: &Phone, w: &Workload) -> Result<u64> {
    let before = phone.pending();
    let (_, end) = w.period();
    crate::load::load(&phone.replica, w, end, &phone.name)?;
    Ok(phone.pending() - before)
}

/// Reconnect backoff for tests: 100 ms doubling to `max`.
pub fn quick_backoff(max: Duration) -> Backoff {
    Backoff {
        min: Duration::from_millis(100),
        max,
    }
}

// ------------------------------------------------------------------------------------
// The relay as a child process.

/// Prints every change of each phone's link state and last error (with the time since
/// the call) while the returned task runs; for diagnosing slow or stuck fault tests.
pub fn watch_status(phones: &[&Phone]) -> tokio::task::JoinHandle<()> {
    let watched: Vec<(String, Arc<SyncClient>)> = phones
        .iter()
        .map(|p| (p.name.clone(), p.client.clone()))
        .collect();
    let t = Instant::now();
    tokio::spawn(async move {
        let mut last: Vec<Option<(gridsync_core::net::LinkState, Option<String>, u64)>> =
            vec![None; watched.len()];
        loop {
            for (i, (name, c)) in watched.iter().enumerate() {
                let s = c.status();
                let now = Some((s.state, s.last_error.clone(), s.pending_changes));
                if now != last[i] {
                    eprintln!(
                        "[{:>7.2}s] {name}: {:?}, {} pending, last error {:?}",
                        t.elapsed().as_secs_f64(),
                        s.state,
                        s.pending_changes,
                        s.last_error
                    );
                    last[i] = now;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

/// Sends `tracing` output to stderr when `NETEM_LOG` holds a filter (`quinn=debug,info`);
/// call at the start of a fault test. Does nothing otherwise, or when already done.
pub fn init_logging() {
    if let Ok(filter) = std::env::var("NETEM_LOG")
        && let Ok(f) = tracing_subscriber::EnvFilter::try_new(filter)
    {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(f)
            .with_writer(std::io::stderr)
            .with_timer(tracing_subscriber::fmt::time::uptime())
            .try_init();
    }
}
