//! The relay server: accept QUIC connections up to a cap, serve each in its own task, and
//! shut down gracefully (stop accepting, let every connection finish what it is doing,
//! flush the store).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::conn;
use crate::error::{Context, Result};
use crate::hub::Hub;
use crate::login_limit::{FailedLogins, LoginLimit};
use crate::metrics::RelayMetrics;

/// Limits of a running relay.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once; more are refused until one ends.
    pub max_connections: usize,
    /// How long shutdown waits for connections to finish.
    pub drain: Duration,
    /// How long a connection may go without its Hello (counted from the end of the QUIC
    /// handshake) before the relay closes it: a stranger cannot hold a connection slot.
    pub hello_deadline: Duration,
    /// Failed logins a source (IP address) may make before it is refused for a while.
    pub failed_logins: LoginLimit,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            drain: Duration::from_secs(10),
            hello_deadline: HELLO_DEADLINE,
            failed_logins: LoginLimit::default(),
        }
    }
}

/// The default [`Limits::hello_deadline`]: a handset sends Hello in its first flight, so
/// even a lossy 2G link (a second or more per round trip, a retransmission or two) has it
/// there well within this.
pub const HELLO_DEADLINE: Duration = Duration::from_secs(15);

/// The UDP receive buffer the relay asks for. Many handsets reconnecting at once (coverage
/// returning to a village) send their first flights together; the kernel's default buffer
/// (208 KiB) drops them and each drop costs a handset a retransmission timeout.
pub const UDP_BUFFER_BYTES: usize = 4 << 20;

/// Binds a QUIC endpoint (use `127.0.0.1:0` in tests and read the port back), with a UDP
/// receive buffer of [`UDP_BUFFER_BYTES`] (or what the kernel allows: raise
/// `net.core.rmem_max` for more).
pub fn bind(addr: SocketAddr, config: crate::tls::QuicConfig) -> Result<quinn::Endpoint> {
    let socket = udp_socket(addr).with_context(|| format!("cannot listen on {addr}"))?;
    let runtime = quinn::default_runtime()
        .ok_or_else(|| crate::error::RelayError::Setup("no async runtime to bind in".into()))?;
    quinn::Endpoint::new(config.endpoint, Some(config.server), socket, runtime)
        .with_context(|| format!("cannot listen on {addr}"))
}

fn udp_socket(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        // Accept IPv4 too on `[::]`, as the platform default usually does.
        let _ = socket.set_only_v6(false);
    }
    if let Err(e) = socket.set_recv_buffer_size(UDP_BUFFER_BYTES) {
        tracing::warn!(error = %e, "cannot enlarge the UDP receive buffer");
    }
    let got = socket.recv_buffer_size().unwrap_or(0);
    if got < UDP_BUFFER_BYTES {
        tracing::warn!(
            got,
            wanted = UDP_BUFFER_BYTES,
            "the kernel capped the UDP receive buffer; raise net.core.rmem_max so bursts of \
             reconnecting handsets are not dropped"
        );
    }
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Counts a connection in `connections_open` while it lives.
struct OpenConnection(prometheus_client::metrics::gauge::Gauge);

impl OpenConnection {
    fn new(metrics: &RelayMetrics) -> Self {
        metrics.connections_open.inc();
        OpenConnection(metrics.connections_open.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Serves `endpoint` until `shutdown` completes, then drains connections and flushes.
pub async fn run(
    endpoint: quinn::Endpoint,
    hub: Arc<Hub>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let failed_logins = Arc::new(FailedLogins::new(limits.failed_logins));
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    // On a database other nodes share: what they commit reaches this node's connections.
    let follower = hub
        .is_shared()
        .then(|| tokio::spawn(hub.clone().follow_other_nodes(stop_rx.clone())));
    tracing::info!(addr = ?endpoint.local_addr().ok(), max_connections = limits.max_connections, "relay serving");
    loop {
        tokio::select! {
            incoming = endpoint.accept() => {
                let Some(incoming) = incoming else { break };
                if failed_logins.is_blocked(incoming.remote_address().ip()) {
                    // Not logged: the source was named once, when it went over its limit.
                    hub.metrics().refused_blocked.inc();
                    incoming.refuse();
                    continue;
                }
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    tracing::warn!(remote = %incoming.remote_address(), "connection cap reached; refusing");
                    hub.metrics().connections_refused.inc();
                    incoming.refuse();
                    continue;
                };
                let metrics = hub.metrics().clone();
                metrics.connections_accepted.inc();
                let (hub, stop, revoked) = (hub.clone(), stop_rx.clone(), hub.revocations());
                let hello_deadline = limits.hello_deadline;
                let failed = failed_logins.clone();
                tasks.spawn(async move {
                    let _permit = permit;
                    let _open = OpenConnection::new(&metrics);
                    let connecting = match incoming.accept() {
                        Ok(c) => c,
                        Err(e) => { tracing::debug!(error = %e, "handshake refused"); return; }
                    };
                    // 0-RTT data is accepted: every message is idempotent (pushes are
                    // content-addressed, pulls read), so a replay changes nothing.
                    let conn = match connecting.into_0rtt() {
                        Ok((conn, _)) => { metrics.handshakes_0rtt.inc(); conn }
                        Err(connecting) => match connecting.await {
                            Ok(c) => c,
                            Err(e) => { tracing::debug!(error = %e, "handshake failed"); return; }
                        },
                    };
                    metrics.handshakes.inc();
                    conn::serve(conn, hub, stop, revoked, hello_deadline, failed).await;
                });
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            _ = &mut shutdown => break,
        }
    }
    tracing::info!(connections = tasks.len(), "relay shutting down");
    let _ = stop_tx.send(true);
    if let Some(follower) = follower {
        let _ = follower.await;
    }
    endpoint.set_server_config(None);
    let drained = tokio::time::timeout(limits.drain, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("connections did not finish in time; closing them");
        tasks.abort_all();
    }
    endpoint.close(0u32.into(), b"relay shut down");
    let _ = tokio::time::timeout(Duration::from_secs(2), endpoint.wait_idle()).await;
    tokio::task::block_in_place(|| hub.flush())?;
    tracing::info!("relay stopped");
    Ok(())
}
