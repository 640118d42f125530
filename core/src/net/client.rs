//! [`SyncClient`]: drives a [`ClientSession`] over one quinn connection to the relay. One
//! bidirectional stream carries control messages in order; bulk messages travel on their
//! own unidirectional streams. `sync_once` runs until caught up; `run` stays connected,
//! pushes local changes as they happen, and reconnects with backoff when the link drops.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicU8, Ordering};

use tokio::sync::Notify;

use super::lanes::{BulkRead, BulkReceiver, BulkSender};
use super::status::{LinkState, SyncReport, SyncStatus};
use super::tls::{Trust, client_config};
use crate::error::{Error, Result};
use crate::ids::Timestamp;
use crate::replica::{Replica, system_clock};
use crate::sync::frame::{DEFAULT_BULK_LEVEL, FrameDecoder, FrameEncoder};
use crate::sync::wire::{ClientMsg, RelayMsg};
use crate::sync::{ClientConfig, ClientEvent, ClientSession, Lane};

/// Where the relay is and how to trust it.
#[derive(Debug, Clone)]
pub struct RelayTarget {
    /// UDP address of the relay.
    pub addr: SocketAddr,
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
    endpoint: quinn::Endpoint,
    session_config: ClientConfig,
    status: Arc<Mutex<SyncStatus>>,
    local_change: Arc<Notify>,
    network: Notify,
    backoff: Backoff,
    traffic: Arc<Traffic>,
}

/// Bytes and messages over every session of a client, for benchmarks and diagnostics.
#[derive(Debug, Default)]
pub struct Traffic {
    /// Frame bytes sent.
    pub bytes_sent: std::sync::atomic::AtomicU64,
    /// Frame bytes received.
    pub bytes_received: std::sync::atomic::AtomicU64,
    /// Messages sent.
    pub messages_sent: std::sync::atomic::AtomicU64,
    /// Messages received.
    pub messages_received: std::sync::atomic::AtomicU64,
}

fn add(counter: &std::sync::atomic::AtomicU64, n: u64) {
    counter.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
}

impl std::fmt::Debug for SyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncClient")
            .field("relay", &self.target.addr)
            .finish_non_exhaustive()
    }
}

/// The 0-RTT watchdog of one connection: what it found, and its task.
struct Watchdog {
    flag: Arc<AtomicU8>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// How long a handshake may take before the relay counts as unreachable.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);
const ZERO_RTT_REJECTED: u8 = 1;
const NO_ANSWER: u8 = 2;
const REJECTED_TEXT: &str = "the relay rejected 0-RTT";

fn now() -> Timestamp {
    (system_clock())()
}

fn net(e: impl std::fmt::Display) -> Error {
    Error::Network(e.to_string())
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
        .map_err(net)?;
        let mut endpoint = quinn::Endpoint::client(bind)
            .map_err(|e| Error::Network(format!("cannot open a UDP socket: {e}")))?;
        endpoint.set_default_client_config(client_config(&target.trust)?);
        let mut session_config = ClientConfig::new(target.token.clone());
        session_config.agent = format!(
            "gridsync-core/{} ({})",
            env!("CARGO_PKG_VERSION"),
            replica.identity().device
        );
        let status = Arc::new(Mutex::new(SyncStatus::default()));
        Ok(SyncClient {
            replica,
            target,
            endpoint,
            session_config,
            status,
            local_change: Arc::new(Notify::new()),
            network: Notify::new(),
            backoff: Backoff::default(),
            traffic: Arc::new(Traffic::default()),
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
        }
        s.last_sync = self.replica.last_sync().ok().flatten().or(s.last_sync);
        s
    }

    /// Cumulative traffic over every session of this client.
    pub fn traffic(&self) -> &Traffic {
        &self.traffic
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

    fn set_state(&self, state: LinkState, error: Option<String>) {
        if let Ok(mut s) = self.status.lock() {
            s.state = state;
            if error.is_some() {
                s.last_error = error;
            }
        }
    }

    /// A sync worked: the link state, and no error to show any more.
    fn set_ok(&self, state: LinkState) {
        if let Ok(mut s) = self.status.lock() {
            s.state = state;
            s.last_error = None;
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
    /// receives live changes, and reconnects with backoff when the link drops.
    pub async fn run(&self, stop: Arc<Notify>) -> Result<()> {
        let mut wait = self.backoff.min;
        loop {
            self.set_state(LinkState::Connecting, None);
            let started = Instant::now();
            let outcome = tokio::select! {
                r = self.session(false, Some(stop.clone())) => Some(r),
                _ = stop.notified() => None,
            };
            match outcome {
                None | Some(Ok(_)) => {
                    self.set_state(LinkState::Offline, None);
                    return Ok(());
                }
                Some(Err(e)) => {
                    if matches!(e, Error::Denied(_)) {
                        self.set_state(LinkState::Offline, Some(e.to_string()));
                        return Err(e);
                    }
                    tracing::info!(error = %e, retry_in = ?wait, "sync link lost");
                    self.set_state(LinkState::Offline, Some(e.to_string()));
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
        }
    }

    /// Connects, with 0-RTT when a session ticket allows it. A watchdog closes a 0-RTT
    /// connection whose handshake the relay rejects or never answers, and says which in
    /// the returned flag, so the session fails fast and (when rejected) retries in full.
    async fn connect(&self, allow_0rtt: bool) -> Result<(quinn::Connection, bool, Watchdog)> {
        let flag = Arc::new(AtomicU8::new(0));
        let connecting = self
            .endpoint
            .connect(self.target.addr, &self.target.server_name)
            .map_err(|e| Error::Network(format!("cannot connect to {}: {e}", self.target.addr)))?;
        let connecting = if allow_0rtt {
            match connecting.into_0rtt() {
                Ok((conn, accepted)) => {
                    let (watched, f) = (conn.clone(), flag.clone());
                    let task = tokio::spawn(async move {
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, accepted).await {
                            Ok(true) => {}
                            // `false` also means the connection died before the handshake
                            // finished: that is no answer, not a rejection.
                            Ok(false)
                                if watched.close_reason().is_some()
                                    || watched.handshake_data().is_none() =>
                            {
                                f.store(NO_ANSWER, Ordering::SeqCst);
                            }
                            Ok(false) => {
                                f.store(ZERO_RTT_REJECTED, Ordering::SeqCst);
                                watched.close(0u32.into(), b"0-RTT rejected; reconnecting");
                            }
                            Err(_) => {
                                f.store(NO_ANSWER, Ordering::SeqCst);
                                watched.close(0u32.into(), b"no answer");
                            }
                        }
                    });
                    return Ok((
                        conn,
                        true,
                        Watchdog {
                            flag,
                            task: Some(task),
                        },
                    ));
                }
                Err(connecting) => connecting,
            }
        } else {
            connecting
        };
        {
            {
                let conn = tokio::time::timeout(HANDSHAKE_TIMEOUT, connecting)
                    .await
                    .map_err(|_| {
                        Error::Network(format!("no answer from the relay at {}", self.target.addr))
                    })?
                    .map_err(|e| {
                        Error::Network(format!(
                            "cannot reach the relay at {}: {e}",
                            self.target.addr
                        ))
                    })?;
                Ok((conn, false, Watchdog { flag, task: None }))
            }
        }
    }

    /// One connection's session. `until_caught_up` ends it when nothing is outstanding.
    async fn session(
        &self,
        until_caught_up: bool,
        stop: Option<Arc<Notify>>,
    ) -> Result<SyncReport> {
        match self.attempt(true, until_caught_up, stop.clone()).await {
            Err(Error::Network(why)) if why == REJECTED_TEXT => {
                tracing::info!(
                    "the relay rejected 0-RTT (it restarted?); reconnecting with a full handshake"
                );
                self.attempt(false, until_caught_up, stop).await
            }
            other => other,
        }
    }

    async fn attempt(
        &self,
        allow_0rtt: bool,
        until_caught_up: bool,
        stop: Option<Arc<Notify>>,
    ) -> Result<SyncReport> {
        let started = Instant::now();
        let (conn, zero_rtt, mut watchdog) = self.connect(allow_0rtt).await?;
        let result = async {
            let mut report = SyncReport {
                zero_rtt,
                ..SyncReport::default()
            };
            let (mut send, mut recv) = conn.open_bi().await.map_err(net)?;
            let mut session = ClientSession::new(self.session_config.clone());
            let encoder = FrameEncoder::default();
            let mut decoder: FrameDecoder<RelayMsg> = FrameDecoder::new();
            let mut bulk_out = BulkSender::with_level(DEFAULT_BULK_LEVEL);
            let mut bulk_in: BulkReceiver<RelayMsg> = BulkReceiver::new();
            let mut backend: &Replica = &self.replica;
            session.start(&backend, now())?;
            let mut buf = vec![0u8; 64 * 1024];
            let outcome = loop {
                // Send everything the session queued.
                let mut flight = 0;
                while let Some(t) = session.poll_transmit() {
                    let sent = match t.lane {
                        Lane::Control => {
                            let bytes = encoder.encode::<ClientMsg>(&t.msg)?;
                            send.write_all(&bytes).await.map_err(net)?;
                            bytes.len()
                        }
                        Lane::Bulk => bulk_out.send(&conn, &t.msg, false).await?,
                    };
                    report.bytes_sent += sent as u64;
                    report.messages_sent += 1;
                    add(&self.traffic.bytes_sent, sent as u64);
                    add(&self.traffic.messages_sent, 1);
                    flight += 1;
                }
                if flight > 0 {
                    report.round_trips += 1;
                }
                // Report what happened.
                let mut failed = None;
                while let Some(ev) = session.poll_event() {
                    match ev {
                        ClientEvent::Connected { .. } => self.set_state(LinkState::Syncing, None),
                        ClientEvent::Applied { docs, .. } => {
                            report.documents_changed += docs.len() as u64
                        }
                        ClientEvent::Acknowledged { count } => report.acknowledged += count as u64,
                        ClientEvent::Refused(r) => report.refused.push(r),
                        ClientEvent::CaughtUp => {
                            report.caught_up = true;
                            self.set_ok(LinkState::Live);
                        }
                        ClientEvent::Failed(why) => failed = Some(why),
                    }
                }
                if let Some(why) = failed {
                    break Err(classify(&why));
                }
                if session.is_closed() {
                    break Err(Error::Protocol("the session closed".into()));
                }
                if until_caught_up && session.is_caught_up() {
                    break Ok(());
                }
                let stop_wait = async {
                    match &stop {
                        Some(s) => s.notified().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    read = recv.read(&mut buf) => match read {
                        Ok(Some(n)) => {
                            report.bytes_received += n as u64;
                            add(&self.traffic.bytes_received, n as u64);
                            decoder.push(&buf[..n])?;
                            while let Some(msg) = decoder.pop()? {
                                report.messages_received += 1;
                                add(&self.traffic.messages_received, 1);
                                session.handle(msg, now(), &mut backend)?;
                            }
                        }
                        Ok(None) => break Err(Error::Network("the relay closed the stream".into())),
                        Err(e) => break Err(Error::Network(format!("connection lost: {e}"))),
                    },
                    uni = conn.accept_uni() => match uni {
                        Ok(s) => bulk_in.add(s),
                        Err(e) => break Err(Error::Network(format!("connection lost: {e}"))),
                    },
                    read = bulk_in.next() => match read {
                        BulkRead::Bytes(n) => {
                            report.bytes_received += n as u64;
                            add(&self.traffic.bytes_received, n as u64);
                        }
                        BulkRead::Message(msg) => {
                            report.messages_received += 1;
                            add(&self.traffic.messages_received, 1);
                            session.handle(msg, now(), &mut backend)?;
                        }
                        BulkRead::Failed(e) => break Err(e),
                    },
                    _ = self.local_change.notified() => session.local_changes(&backend)?,
                    _ = stop_wait => break Ok(()),
                }
            };
            let stats = session.stats();
            report.entries = stats.entries;
            report.elapsed = started.elapsed();
            bulk_out.end();
            let _ = send.finish();
            outcome.map(|()| report)
        }
        .await;
        // Let the watchdog settle before judging: a dead link closes the connection (no
        // answer), a rejection leaves it up with the handshake done.
        if result.is_err()
            && let Some(task) = watchdog.task.take()
        {
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
        conn.close(0u32.into(), b"done");
        match (result, watchdog.flag.load(Ordering::SeqCst)) {
            (Err(_), ZERO_RTT_REJECTED) => Err(Error::Network(REJECTED_TEXT.into())),
            (Err(_), NO_ANSWER) => Err(Error::Network(format!(
                "no answer from the relay at {}",
                self.target.addr
            ))),
            (result, _) => result,
        }
    }
}

/// Turns a session failure text into the error an app acts on.
fn classify(why: &str) -> Error {
    if let Some(rest) = why.strip_prefix("access denied: ") {
        Error::Denied(rest.to_string())
    } else if why.contains("Unauthorized")
        || why.contains("Revoked")
        || why.contains("revoked")
        || why.contains("enrollment token")
    {
        Error::Denied(why.to_string())
    } else {
        Error::Protocol(why.to_string())
    }
}
