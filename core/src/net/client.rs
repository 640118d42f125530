//! [`SyncClient`]: the handset's connections to the relay. Each connection runs a
//! [`ClientSession`](crate::sync::ClientSession) through the one [`driver`](super::driver)
//! (the handset's end is [`super::handset`]). `sync_once` runs until caught up; `run` stays
//! connected, pushes local changes as they happen, and reconnects with backoff when the
//! link drops.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::connect::{Verdict, connect};
use super::driver::drive;
use super::handset::HandsetPeer;
use super::status::{LinkState, SyncReport, SyncStatus};
use super::tls::{Trust, client_config};
use crate::error::{Error, Result};
use crate::replica::Replica;
use crate::sync::ClientConfig;
use crate::sync::frame::DEFAULT_BULK_LEVEL;

/// Where the relay is and how to trust it.
#[derive(Debug, Clone)]
pub struct RelayTarget {
    /// UDP address of the relay.
    pub addr: SocketAddr,
    /// Addresses of the relay's other nodes (sharing its certificate), if it has several:
    /// the handset prefers one of all of them by a hash of its device id and fails over to
    /// the next (`net::failover`). Of the same address family as `addr`.
    pub other_nodes: Vec<SocketAddr>,
    /// TLS server name (any name works with a pinned fingerprint).
    pub server_name: String,
    /// How the relay's certificate is checked.
    pub trust: Trust,
    /// The device's enrollment token.
    pub token: String,
}

/// Reconnect backoff: doubles from `min` to `max`, reset after a successful session.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// First wait.
    pub min: Duration,
    /// Longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        // Mountain coverage comes in windows of ~20 s between long outages: retrying at
        // least every 15 s puts an attempt into every window. The app can also call
        // `SyncClient::network_available` when the OS reports a network.
        Backoff {
            min: Duration::from_millis(500),
            max: Duration::from_secs(15),
        }
    }
}

/// The handset's sync driver.
pub struct SyncClient {
    replica: Arc<Replica>,
    target: RelayTarget,
    /// The relay's addresses in this handset's order, and the one in use.
    addresses: super::failover::Addresses,
    endpoint: quinn::Endpoint,
    session_config: ClientConfig,
    status: Arc<Mutex<SyncStatus>>,
    local_change: Arc<Notify>,
    network: Notify,
    backoff: Backoff,
}

impl std::fmt::Debug for SyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncClient")
            .field("relay", &self.addresses.all())
            .finish_non_exhaustive()
    }
}

/// How one connection attempt ended.
enum Attempt {
    /// The session's own outcome.
    Done(Result<SyncReport>),
    /// The relay rejected 0-RTT: retry at once with a full handshake.
    ZeroRttRejected,
}

impl SyncClient {
    /// A client for `replica` talking to `target`. Must be called inside a tokio runtime.
    pub fn new(replica: Arc<Replica>, target: RelayTarget) -> Result<Self> {
        let bind: SocketAddr = if target.addr.is_ipv6() {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        }
        .parse()
        .map_err(Error::network)?;
        let mut endpoint = quinn::Endpoint::client(bind)
            .map_err(|e| Error::Network(format!("cannot open a UDP socket: {e}")))?;
        endpoint.set_default_client_config(client_config(&target.trust)?);
        let mut session_config = ClientConfig::new(target.token.clone());
        session_config.agent = format!(
            "gridsync-core/{} ({})",
            env!("CARGO_PKG_VERSION"),
            replica.identity().device
        );
        let mut all = vec![target.addr];
        all.extend(target.other_nodes.iter().copied());
        let addresses = super::failover::Addresses::new(all, &replica.identity().device);
        Ok(SyncClient {
            replica,
            target,
            addresses,
            endpoint,
            session_config,
            status: Arc::new(Mutex::new(SyncStatus::default())),
            local_change: Arc::new(Notify::new()),
            network: Notify::new(),
            backoff: Backoff::default(),
        })
    }

    /// Changes the reconnect backoff.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Changes the session's batch sizes.
    pub fn with_batch_bytes(mut self, push: usize, pull: u32) -> Self {
        self.session_config.max_push_bytes = push;
        self.session_config.max_pull_bytes = pull;
        self
    }

    /// The sync status for the app's sync bar (pending counts are read from the outbox).
    pub fn status(&self) -> SyncStatus {
        let mut s = self.status.lock().map(|s| s.clone()).unwrap_or_default();
        if let Ok(p) = self.replica.pending() {
            s.pending_changes = p.changes;
            s.pending_bytes = p.bytes;
            s.refused_changes = p.refused;
        }
        s.last_sync = self.replica.last_sync().ok().flatten().or(s.last_sync);
        s
    }

    /// Tells a running `run` loop that the OS reports a network (Android's connectivity
    /// callback, iOS's path monitor): it retries now instead of waiting out its backoff.
    pub fn network_available(&self) {
        self.network.notify_one();
    }

    /// Tells a running live session that the app wrote something to push.
    pub fn local_change(&self) {
        self.local_change.notify_one();
    }

    pub(super) fn session_config(&self) -> &ClientConfig {
        &self.session_config
    }

    pub(super) fn local_change_signal(&self) -> Arc<Notify> {
        self.local_change.clone()
    }

    pub(super) fn set_state(&self, state: LinkState, error: Option<String>) {
        if let Ok(mut s) = self.status.lock() {
            s.state = state;
            if error.is_some() {
                s.last_error = error;
            }
        }
    }

    /// A sync worked: the link state, and no error to show any more.
    pub(super) fn set_ok(&self, state: LinkState) {
        if let Ok(mut s) = self.status.lock() {
            s.state = state;
            s.last_error = None;
        }
    }

    pub(super) fn count_sent(&self, bytes: u64, messages: u64) {
        if let Ok(mut s) = self.status.lock() {
            s.bytes_sent += bytes;
            s.messages_sent += messages;
        }
    }

    pub(super) fn count_received(&self, bytes: u64, messages: u64) {
        if let Ok(mut s) = self.status.lock() {
            s.bytes_received += bytes;
            s.messages_received += messages;
        }
    }

    /// Connects, pushes the outbox, pulls until caught up, and disconnects.
    pub async fn sync_once(&self) -> Result<SyncReport> {
        self.set_state(LinkState::Connecting, None);
        let result = self.session(true, None).await;
        match &result {
            Ok(_) => self.set_ok(LinkState::Offline),
            Err(e) => self.set_state(LinkState::Offline, Some(e.to_string())),
        }
        result
    }

    /// Stays connected until `stop` is notified: pushes local changes as they are made,
    /// receives live changes, and reconnects with backoff when the link drops. Returns the
    /// error when retrying cannot help ([`Error::is_final`]: access denied, another
    /// protocol version).
    pub async fn run(&self, stop: Arc<Notify>) -> Result<()> {
        let mut wait = self.backoff.min;
        loop {
            self.set_state(LinkState::Connecting, None);
            let started = Instant::now();
            let outcome = tokio::select! {
                r = self.session(false, Some(stop.clone())) => Some(r),
                _ = stop.notified() => None,
            };
            let e = match outcome {
                None | Some(Ok(_)) => {
                    self.set_state(LinkState::Offline, None);
                    return Ok(());
                }
                Some(Err(e)) => e,
            };
            self.set_state(LinkState::Offline, Some(e.to_string()));
            if e.is_final() {
                return Err(e);
            }
            tracing::info!(error = %e, retry_in = ?wait, "sync link lost");
            if started.elapsed() > Duration::from_secs(30) {
                wait = self.backoff.min;
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.network.notified() => wait = self.backoff.min,
                _ = stop.notified() => return Ok(()),
            }
            wait = (wait * 2).min(self.backoff.max);
        }
    }

    /// One connection's session. `until_caught_up` ends it when nothing is outstanding.
    async fn session(
        &self,
        until_caught_up: bool,
        stop: Option<Arc<Notify>>,
    ) -> Result<SyncReport> {
        match self.attempt(true, until_caught_up, stop.clone()).await {
            Attempt::Done(result) => result,
            Attempt::ZeroRttRejected => {
                tracing::info!(
                    "the relay rejected 0-RTT (it restarted?); reconnecting with a full handshake"
                );
                match self.attempt(false, until_caught_up, stop).await {
                    Attempt::Done(result) => result,
                    // Without 0-RTT nothing can be rejected; kept total for the types.
                    Attempt::ZeroRttRejected => Err(Error::Network(
                        "the relay rejected the connection's early data".into(),
                    )),
                }
            }
        }
    }

    /// One connection: connect, drive the session, judge the outcome against the 0-RTT
    /// watchdog's verdict.
    async fn attempt(
        &self,
        allow_0rtt: bool,
        until_caught_up: bool,
        stop: Option<Arc<Notify>>,
    ) -> Attempt {
        let addr = self.addresses.current();
        let attempt = self
            .attempt_at(addr, allow_0rtt, until_caught_up, stop)
            .await;
        if let Attempt::Done(Err(Error::Network(_))) = &attempt {
            self.addresses.failed(addr);
        }
        attempt
    }

    /// [`SyncClient::attempt`] at one of the relay's addresses.
    async fn attempt_at(
        &self,
        addr: SocketAddr,
        allow_0rtt: bool,
        until_caught_up: bool,
        stop: Option<Arc<Notify>>,
    ) -> Attempt {
        let started = Instant::now();
        let mut connected =
            match connect(&self.endpoint, addr, &self.target.server_name, allow_0rtt).await {
                Ok(c) => c,
                Err(e) => return Attempt::Done(Err(e)),
            };
        let result = self.converse(&connected.conn, until_caught_up, stop).await;
        let result = result.map(|mut report| {
            report.zero_rtt = connected.zero_rtt;
            report.elapsed = started.elapsed();
            report
        });
        let verdict = connected.verdict(result.is_err()).await;
        connected.conn.close(0u32.into(), b"done");
        match (result, verdict) {
            (Err(_), Verdict::Rejected) => Attempt::ZeroRttRejected,
            (Err(_), Verdict::NoAnswer) => Attempt::Done(Err(Error::Network(format!(
                "no answer from the relay at {addr}"
            )))),
            (result, _) => Attempt::Done(result),
        }
    }

    /// Runs one session over an open connection.
    async fn converse(
        &self,
        conn: &quinn::Connection,
        until_caught_up: bool,
        stop: Option<Arc<Notify>>,
    ) -> Result<SyncReport> {
        let mut streams = conn.open_bi().await.map_err(Error::network)?;
        let mut peer = HandsetPeer::start(self, &self.replica, until_caught_up, stop)?;
        let outcome = drive(conn, &mut streams, DEFAULT_BULK_LEVEL, &mut peer).await;
        let mut report = std::mem::take(&mut peer.report);
        report.entries = peer.session.stats().entries;
        report.pushed = peer.session.stats().changes;
        outcome.map(|()| report)
    }
}
