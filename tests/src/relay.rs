//! A real relay for tests: in-process with its own sled store and a self-signed
//! certificate ([`TestRelay`]), set up by [`RelayOptions`] (address, QUIC idle timeout,
//! limits), which can be stopped and started again on its port and data; plus handsets
//! (sled replicas with a sync client) enrolled on it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use gridsync_core::GridPath;
use gridsync_core::Replica;
use gridsync_core::model::{Grants, Role};
use gridsync_core::net::{RelayTarget, SyncClient, Trust};
use gridsync_server::{Hub, Limits, tls};
use tokio::sync::oneshot;

/// The relay's log tree (one entry per accepted change).
pub const RELAY_LOG_TREE: &str = "log";
/// The relay's change-hash tree (one entry per accepted change).
pub const RELAY_HASHES_TREE: &str = "hashes";
/// The relay's documents tree.
pub const RELAY_DOCS_TREE: &str = "rdocs";

/// How a [`TestRelay`] is set up.
#[derive(Debug, Clone, Copy)]
pub struct RelayOptions {
    /// Where it listens (`127.0.0.1:0`: any free port).
    pub listen: SocketAddr,
    /// QUIC idle timeout, seconds.
    pub idle_secs: u64,
    /// Connections at once, and how long shutdown drains them.
    pub limits: Limits,
}

impl Default for RelayOptions {
    /// Any free port on 127.0.0.1, a 30 s idle timeout, the relay's default limits.
    fn default() -> Self {
        RelayOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            idle_secs: 30,
            limits: Limits::default(),
        }
    }
}

impl RelayOptions {
    /// What the fault tests use: an idle timeout of `idle_secs` (they need lost links
    /// noticed in seconds, not the default minute), room for thousands of handsets, and a
    /// 2 s drain on shutdown.
    pub fn for_faults(idle_secs: u64) -> Self {
        RelayOptions {
            idle_secs,
            limits: Limits {
                max_connections: 4096,
                drain: Duration::from_secs(2),
                ..Limits::default()
            },
            ..RelayOptions::default()
        }
    }
}

/// A relay running inside the test process.
pub struct TestRelay {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its certificate fingerprint.
    pub fingerprint: String,
    /// Its state.
    pub hub: Arc<Hub>,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// How it was set up.
    pub options: RelayOptions,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestRelay {
    /// Starts a relay with the default [`RelayOptions`] and its data in `data_dir`
    /// (reusing what is there).
    pub async fn start(data_dir: &Path) -> Result<Self> {
        Self::start_with(data_dir, RelayOptions::default()).await
    }

    /// Starts a relay set up by `options` with its data in `data_dir`.
    pub async fn start_with(data_dir: &Path, options: RelayOptions) -> Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let (identity, _) = tls::self_signed(data_dir)?;
        let fingerprint = identity.fingerprint();
        let endpoint = gridsync_server::bind(
            options.listen,
            tls::server_config(identity, options.idle_secs)?,
        )?;
        let addr = endpoint.local_addr()?;
        let hub = Arc::new(gridsync_server::open_hub(data_dir, 16)?);
        let (stop, stopped) = oneshot::channel::<()>();
        let h = hub.clone();
        let limits = options.limits;
        let task = tokio::spawn(async move {
            if let Err(e) = gridsync_server::run(endpoint, h, limits, async {
                let _ = stopped.await;
            })
            .await
            {
                eprintln!("relay stopped with an error: {e}");
            }
        });
        Ok(TestRelay {
            addr,
            fingerprint,
            hub,
            data_dir: data_dir.to_path_buf(),
            options,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Enrolls a device for `scopes` as worker `name` holding every role, and returns its
    /// token.
    pub fn enroll(&self, name: &str, scopes: &[&str]) -> Result<String> {
        self.enroll_as(name, &all_roles(name, scopes)?)
    }

    /// Enrolls a device with exactly these grants and returns its token.
    pub fn enroll_as(&self, name: &str, grants: &Grants) -> Result<String> {
        let token = self.hub.add_device(name, grants)?.token;
        remember_grants(&token, grants);
        Ok(token)
    }

    /// Enrolls `name` for `scopes` (worker `name`, every role) and opens its handset store
    /// in `dir/name`, holding the grants the relay sends at the first contact already (so
    /// it can write offline before it).
    pub fn handset(&self, dir: &Path, name: &str, scopes: &[&str]) -> Result<Handset> {
        let grants = all_roles(name, scopes)?;
        let token = self.enroll_as(name, &grants)?;
        let h = Handset::open(&dir.join(name), name, self.target(&token))?;
        h.replica.store_grants(&grants)?;
        Ok(h)
    }

    /// The target a handset uses to reach this relay directly with `token`.
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

    /// Stops and starts again on the same address, data and options (sled needs the old
    /// store closed first: this waits until it can be opened).
    pub async fn restart(self) -> Result<Self> {
        let dir = self.data_dir.clone();
        let options = RelayOptions {
            listen: self.addr,
            ..self.options
        };
        self.stop().await;
        let t = Instant::now();
        loop {
            match TestRelay::start_with(&dir, options).await {
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

/// A pinned target for a relay at `addr` with certificate `fingerprint`.
pub fn target(addr: SocketAddr, fingerprint: &str, token: &str) -> RelayTarget {
    RelayTarget {
        other_nodes: Vec::new(),
        addr,
        server_name: "gridsync-relay".into(),
        trust: Trust::Pinned(fingerprint.to_string()),
        token: token.into(),
    }
}

/// A handset: a sled replica and a sync client for a relay.
pub struct Handset {
    /// The replica.
    pub replica: Arc<Replica>,
    /// The sync client.
    pub client: SyncClient,
}

impl Handset {
    /// Opens (or reopens) a handset store in `dir` enrolled on `relay` with `token`.
    pub fn open(dir: &Path, device: &str, target: RelayTarget) -> Result<Self> {
        let replica = Arc::new(Replica::open(dir, device)?);
        let client = SyncClient::new(replica.clone(), target)?;
        Ok(Handset { replica, client })
    }
}

/// Grants for worker `worker` in every role, in `scopes` (what most tests need: one
/// handset that can take every case step).
pub fn all_roles(worker: &str, scopes: &[&str]) -> Result<Grants> {
    Ok(Grants {
        worker: worker.to_string(),
        display_name: worker.to_string(),
        roles: Role::ALL.to_vec(),
        scopes: scopes
            .iter()
            .map(|s| GridPath::parse(s))
            .collect::<Result<Vec<_>, _>>()?,
    })
}

/// The grants of every device the test harnesses enrolled, by token: what the relay sends
/// that device in its first `Welcome`.
static ENROLLED: std::sync::Mutex<Vec<(String, Grants)>> = std::sync::Mutex::new(Vec::new());

/// Records what a test enrolled `token` with.
pub fn remember_grants(token: &str, grants: &Grants) {
    if let Ok(mut e) = ENROLLED.lock() {
        e.push((token.to_string(), grants.clone()));
    }
}

/// The grants a test harness enrolled `token` with, if it did. Harness handsets store
/// them at open, as if they had met the relay once: tests write offline before any
/// contact, as the worker the relay knows.
pub fn enrolled_grants(token: &str) -> Option<Grants> {
    let e = ENROLLED.lock().ok()?;
    e.iter().find(|(t, _)| t == token).map(|(_, g)| g.clone())
}
