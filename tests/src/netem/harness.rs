//! What the fault tests share: an in-process relay with a chosen idle timeout that can be
//! restarted on its port ([`FaultRelay`]), the `gridsync-relay` binary as a child process
//! to SIGKILL ([`RelayChild`]), handsets ([`Phone`]), small seeded workloads, and the
//! convergence checks (documents, per-document heads, nothing pending, the relay's
//! counts).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use gridsync_core::net::{Backoff, RelayTarget, SyncClient, Trust};
use gridsync_core::replica::{ChangeObserver, ChangeOrigin};
use gridsync_core::store::{MemoryStore, Scan, trees};
use gridsync_core::{DocId, GridPath, Replica, ReplicaConfig};
use gridsync_server::{Hub, Limits, tls};
use tokio::sync::oneshot;

use crate::workload::{GridSpec, START_2024, Workload, WorkloadConfig};

/// The relay's log tree (one entry per accepted change).
pub const RELAY_LOG_TREE: &str = "log";
/// The relay's change-hash tree (one entry per accepted change).
pub const RELAY_HASHES_TREE: &str = "hashes";
/// The relay's documents tree.
pub const RELAY_DOCS_TREE: &str = "rdocs";

/// A relay in the test process whose QUIC idle timeout is chosen (the fault tests need
/// lost links noticed in seconds, not the default minute) and which can be stopped and
/// started again on the same port and data.
pub struct FaultRelay {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its certificate fingerprint.
    pub fingerprint: String,
    /// Its state.
    pub hub: Arc<Hub>,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Idle timeout in seconds.
    pub idle_secs: u64,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl FaultRelay {
    /// Starts a relay on `listen` (`127.0.0.1:0` for any port) over `data_dir`.
    pub async fn start(data_dir: &Path, listen: SocketAddr, idle_secs: u64) -> Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let (identity, _) = tls::self_signed(data_dir)?;
        let fingerprint = identity.fingerprint();
        let endpoint = gridsync_server::bind(listen, tls::server_config(identity, idle_secs)?)?;
        let addr = endpoint.local_addr()?;
        let hub = Arc::new(gridsync_server::open_hub(data_dir, 16)?);
        let (stop, stopped) = oneshot::channel::<()>();
        let h = hub.clone();
        let limits = Limits {
            max_connections: 4096,
            drain: Duration::from_secs(2),
        };
        let task = tokio::spawn(async move {
            if let Err(e) = gridsync_server::run(endpoint, h, limits, async {
                let _ = stopped.await;
            })
            .await
            {
                eprintln!("relay stopped with an error: {e}");
            }
        });
        Ok(FaultRelay {
            addr,
            fingerprint,
            hub,
            data_dir: data_dir.to_path_buf(),
            idle_secs,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Enrolls a device for `scopes`; returns its token.
    pub fn enroll(&self, name: &str, scopes: &[&str]) -> Result<String> {
        let scopes = scopes
            .iter()
            .map(|s| GridPath::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.hub.add_device(name, &scopes)?.token)
    }

    /// The target a handset uses to reach this relay directly.
    pub fn target(&self, token: &str) -> RelayTarget {
        target(self.addr, &self.fingerprint, token)
    }

    /// True while the relay's task runs (it ends only on stop or a fatal error).
    pub fn is_running(&self) -> bool {
        self.task.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Accepted changes in the log, and entries in the hash index (equal unless something
    /// was logged twice).
    pub fn log_counts(&self) -> Result<(usize, usize)> {
        Ok((
            self.hub.store().len(RELAY_LOG_TREE)?,
            self.hub.store().len(RELAY_HASHES_TREE)?,
        ))
    }

    /// Stops gracefully and waits (the store is flushed and closed once every `Arc<Hub>`
    /// is gone; keep none to reopen the same data).
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    /// Stops and starts again on the same address and data (sled needs the old store
    /// closed first: this waits until it can be opened).
    pub async fn restart(self) -> Result<Self> {
        let (dir, addr, idle) = (self.data_dir.clone(), self.addr, self.idle_secs);
        self.stop().await;
        let t = Instant::now();
        loop {
            match FaultRelay::start(&dir, addr, idle).await {
                Ok(r) => return Ok(r),
                // The old endpoint keeps its port until its connections have drained,
                // which takes seconds while hundreds of handsets knock at it.
                Err(e) if t.elapsed() < Duration::from_secs(30) => {
                    tracing::debug!(error = %e, "relay restart: retrying");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => return Err(e.context("restarting the relay")),
            }
        }
    }
}

/// A pinned target at `addr`.
pub fn target(addr: SocketAddr, fingerprint: &str, token: &str) -> RelayTarget {
    RelayTarget {
        addr,
        server_name: "gridsync-relay".into(),
        trust: Trust::Pinned(fingerprint.to_string()),
        token: token.into(),
    }
}

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

/// Every document a replica holds, with its heads (sorted).
pub type DocHeads = BTreeMap<String, Vec<[u8; 32]>>;

/// The ids of every document in a replica's store.
pub fn doc_ids(replica: &Replica) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = replica.store().scan(
            trees::DOCS,
            Scan {
                prefix: b"",
                after: after.as_deref(),
                limit: 256,
                reverse: false,
            },
        )?;
        let Some((last, _)) = page.last() else {
            return Ok(out);
        };
        after = Some(last.clone());
        for (k, _) in &page {
            out.insert(String::from_utf8(k.clone())?);
        }
    }
}

/// Every document of a replica with its heads.
pub fn doc_heads(replica: &Replica) -> Result<DocHeads> {
    let mut out = DocHeads::new();
    for id in doc_ids(replica)? {
        let mut heads = replica.heads(&DocId::parse(&id)?)?;
        heads.sort_unstable();
        out.insert(id, heads);
    }
    Ok(out)
}

/// What a fresh handset bootstrapping straight from the relay (no emulator) holds: the
/// relay's documents and heads in the token's scopes.
pub async fn relay_view(target: RelayTarget) -> Result<DocHeads> {
    let auditor = Phone::in_memory("auditor", target, PhoneOptions::default())?;
    auditor
        .sync_until_ok(Instant::now() + Duration::from_secs(30))
        .await?;
    doc_heads(&auditor.replica)
}

/// Describes how two document maps differ (for assertion messages).
pub fn diff(a_name: &str, a: &DocHeads, b_name: &str, b: &DocHeads) -> String {
    let only_a: Vec<_> = a.keys().filter(|k| !b.contains_key(*k)).take(5).collect();
    let only_b: Vec<_> = b.keys().filter(|k| !a.contains_key(*k)).take(5).collect();
    let heads: Vec<_> = a
        .iter()
        .filter(|(k, h)| b.get(*k).is_some_and(|hb| hb != *h))
        .map(|(k, _)| k)
        .take(5)
        .collect();
    format!(
        "{a_name} has {} docs, {b_name} {}; only in {a_name}: {only_a:?}; only in {b_name}: \
         {only_b:?}; different heads: {heads:?}",
        a.len(),
        b.len()
    )
}

/// Checks that every phone holds exactly `expected` (documents and heads) with nothing
/// pending. `Err` says what differs.
pub fn converged(phones: &[&Phone], expected: &DocHeads) -> Result<()> {
    for p in phones {
        let pending = p.pending();
        ensure!(
            pending == 0,
            "{} still has {pending} changes pending",
            p.name
        );
        let mine = doc_heads(&p.replica)?;
        ensure!(
            &mine == expected,
            "{}",
            diff(&p.name, &mine, "expected", expected)
        );
    }
    Ok(())
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

/// The directory cargo puts binaries of this profile in (`target/debug`), found from the
/// running test executable (`target/debug/deps/<test>`).
pub fn target_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().context("test executable has no directory")?;
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent().context("deps has no parent")?;
    }
    Ok(dir.to_path_buf())
}

/// Builds `gridsync-relay` (`cargo build -p gridsync-server --bin gridsync-relay`, once per
/// test process) and returns its path. If the build fails but a binary exists, that one
/// is used with a warning (another engineer's half-edited server should not fail every
/// fault test).
pub fn relay_binary() -> Result<PathBuf> {
    static BIN: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = target_dir().map_err(|e| e.to_string())?;
        let exe = dir.join("gridsync-relay");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let t = Instant::now();
        let out = Command::new(cargo)
            .args(["build", "-p", "gridsync-server", "--bin", "gridsync-relay"])
            .current_dir(&workspace)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        match out {
            Ok(o) if o.status.success() => {
                eprintln!("built gridsync-relay in {:?}", t.elapsed());
            }
            Ok(o) => eprintln!(
                "warning: cargo build of gridsync-relay failed; using the existing binary:\n{}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("warning: cannot run cargo ({e}); using the existing binary"),
        }
        if exe.is_file() {
            Ok(exe)
        } else {
            Err(format!("no gridsync-relay binary at {}", exe.display()))
        }
    })
    .clone()
    .map_err(|e| anyhow!(e))
}

/// A `gridsync-relay serve` child process.
pub struct RelayChild {
    /// The binary.
    pub exe: PathBuf,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its certificate fingerprint.
    pub fingerprint: String,
    /// Where its stderr goes (appended over restarts).
    pub log: PathBuf,
    child: Option<Child>,
}

impl RelayChild {
    /// Enrolls a device while no relay runs on `data_dir` (the CLI opens the store
    /// itself); returns the token.
    pub fn enroll_offline(
        exe: &Path,
        data_dir: &Path,
        name: &str,
        scopes: &[&str],
    ) -> Result<String> {
        std::fs::create_dir_all(data_dir)?;
        let mut cmd = Command::new(exe);
        cmd.arg("--data-dir")
            .arg(data_dir)
            .args(["--json", "device", "add", "--name", name]);
        for s in scopes {
            cmd.args(["--scope", s]);
        }
        let out = cmd.output()?;
        ensure!(
            out.status.success(),
            "device add failed: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).with_context(|| {
            format!("device add said {:?}", String::from_utf8_lossy(&out.stdout))
        })?;
        Ok(v["token"]
            .as_str()
            .context("no token in the answer")?
            .to_string())
    }

    /// Starts `exe serve` on `listen` over `data_dir` and waits until it listens.
    pub fn spawn(exe: &Path, data_dir: &Path, listen: SocketAddr, idle_secs: u64) -> Result<Self> {
        let log = data_dir.with_extension("log");
        let err = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        let mut child = Command::new(exe)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--json", "serve", "--listen"])
            .arg(listen.to_string())
            .args(["--idle-timeout", &idle_secs.to_string(), "--log", "warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err))
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout);
        let mut line = String::new();
        lines.read_line(&mut line)?;
        // Keep draining stdout so the relay never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while lines.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                sink.clear();
            }
        });
        let v: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let tail = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: String = tail
                    .chars()
                    .rev()
                    .take(2000)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                bail!("the relay did not start (said {line:?}); its log ends:\n{tail}");
            }
        };
        let addr = v["listening"]
            .as_str()
            .context("no listening address")?
            .parse()?;
        let fingerprint = v["fingerprint"]
            .as_str()
            .context("no fingerprint")?
            .to_string();
        Ok(RelayChild {
            exe: exe.to_path_buf(),
            data_dir: data_dir.to_path_buf(),
            addr,
            fingerprint,
            log,
            child: Some(child),
        })
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// SIGKILL, and wait until it is gone.
    pub fn sigkill(&mut self) -> Result<()> {
        if let Some(mut c) = self.child.take() {
            c.kill()?;
            c.wait()?;
        }
        Ok(())
    }

    /// SIGTERM (graceful shutdown), waiting up to `within`; SIGKILL after that.
    pub fn terminate(&mut self, within: Duration) -> Result<()> {
        let Some(mut c) = self.child.take() else {
            return Ok(());
        };
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let t = Instant::now();
        while t.elapsed() < within {
            if c.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        c.kill()?;
        c.wait()?;
        bail!("the relay did not stop within {within:?} of SIGTERM")
    }

    /// Starts it again on the same address and data (after [`RelayChild::sigkill`]).
    pub fn restart(&mut self, idle_secs: u64) -> Result<()> {
        self.sigkill()?;
        let t = Instant::now();
        loop {
            match RelayChild::spawn(&self.exe, &self.data_dir, self.addr, idle_secs) {
                Ok(mut new) => {
                    ensure!(
                        new.fingerprint == self.fingerprint,
                        "the certificate changed"
                    );
                    self.child = new.child.take();
                    return Ok(());
                }
                Err(e) if t.elapsed() < Duration::from_secs(10) => {
                    tracing::debug!(error = %e, "relay restart: retrying");
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(e.context("restarting the relay")),
            }
        }
    }

    /// A handset's target for this relay.
    pub fn target(&self, token: &str) -> RelayTarget {
        target(self.addr, &self.fingerprint, token)
    }

    /// Opens the (stopped) relay's store in this process, for inspection. Drop the hub
    /// before starting the relay again.
    pub fn open_store(&self) -> Result<Hub> {
        ensure!(self.child.is_none(), "the relay is running");
        Ok(gridsync_server::open_hub(&self.data_dir, 8)?)
    }
}

impl Drop for RelayChild {
    fn drop(&mut self) {
        let _ = self.sigkill();
    }
}

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

/// The hashes of every change of a document a replica holds.
pub fn change_hashes(replica: &Replica, doc: &DocId) -> Result<Vec<[u8; 32]>> {
    replica
        .changes_since(doc, &[])?
        .into_iter()
        .map(|bytes| {
            automerge::Change::from_bytes(bytes)
                .map(|c| c.hash().0)
                .map_err(|e| anyhow!("a stored change does not parse: {e}"))
        })
        .collect()
}

/// Of `docs`, those whose every local change the relay has acknowledged (none pending in
/// the outbox).
pub fn acknowledged(replica: &Replica, docs: &[DocId]) -> Result<Vec<DocId>> {
    let mut out = Vec::new();
    for d in docs {
        if replica.record_sync_state(d)? == gridsync_core::replica::RecordSyncState::Acknowledged {
            out.push(d.clone());
        }
    }
    Ok(out)
}

/// Checks that a relay's store holds `doc` and every one of its changes that `replica`
/// holds. `Err` names what is missing.
pub fn relay_has_doc(hub: &Hub, replica: &Replica, doc: &DocId) -> Result<()> {
    let store = hub.store();
    ensure!(
        store
            .get(RELAY_DOCS_TREE, doc.as_str().as_bytes())?
            .is_some(),
        "the relay lost acknowledged document {doc}"
    );
    for h in change_hashes(replica, doc)? {
        ensure!(
            store.get(RELAY_HASHES_TREE, &h)?.is_some(),
            "the relay lost acknowledged change {} of {doc}",
            hex(&h)
        );
    }
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
