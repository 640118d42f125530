//! A real relay for tests: in-process on `127.0.0.1:0` with its own sled store and a
//! self-signed certificate, plus handsets (sled replicas with a sync client) enrolled on it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use gridsync_core::GridPath;
use gridsync_core::Replica;
use gridsync_core::net::{RelayTarget, SyncClient, Trust};
use gridsync_server::{Hub, Limits, tls};
use tokio::sync::oneshot;

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
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestRelay {
    /// Starts a relay with its data in `data_dir` (reusing what is there).
    pub async fn start(data_dir: &Path) -> Result<Self> {
        Self::start_on(data_dir, "127.0.0.1:0".parse()?, Limits::default()).await
    }

    /// Starts a relay on a given address with given limits.
    pub async fn start_on(data_dir: &Path, addr: SocketAddr, limits: Limits) -> Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let hub = Arc::new(gridsync_server::open_hub(data_dir, 16)?);
        let (identity, _) = tls::self_signed(data_dir)?;
        let fingerprint = identity.fingerprint();
        let endpoint = gridsync_server::bind(addr, tls::server_config(identity, 30)?)?;
        let addr = endpoint.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let h = hub.clone();
        let task = tokio::spawn(async move {
            let _ = gridsync_server::run(endpoint, h, limits, async {
                let _ = stopped.await;
            })
            .await;
        });
        Ok(TestRelay {
            addr,
            fingerprint,
            hub,
            data_dir: data_dir.to_path_buf(),
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Enrolls a device for `scopes` and returns its token.
    pub fn enroll(&self, name: &str, scopes: &[&str]) -> Result<String> {
        let scopes = scopes
            .iter()
            .map(|s| GridPath::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.hub.add_device(name, &scopes)?.token)
    }

    /// Enrolls `name` for `scopes` and opens its handset store in `dir/name`.
    pub fn handset(&self, dir: &Path, name: &str, scopes: &[&str]) -> Result<Handset> {
        let token = self.enroll(name, scopes)?;
        Handset::open(&dir.join(name), name, self.target(&token))
    }

    /// The target a handset uses to reach this relay with `token`.
    pub fn target(&self, token: &str) -> RelayTarget {
        RelayTarget {
            addr: self.addr,
            server_name: "gridsync-relay".into(),
            trust: Trust::Pinned(self.fingerprint.clone()),
            token: token.into(),
        }
    }

    /// Stops the relay gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
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
