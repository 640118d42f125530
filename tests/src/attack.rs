//! Attacks on the relay before login, made as a stranger would make them (issue 12): for
//! the pre-authentication tests and the attack benchmark. An [`Attacker`] runs one
//! [`Attack`] in tasks of its own, over real QUIC, until it is stopped, and counts what it
//! got through ([`AttackStats`]). Every connection is remade as soon as the relay closes
//! it, so an attack keeps its pressure up for as long as it runs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Result;
use gridsync_core::net::Trust;
use gridsync_core::net::tls::client_config;
use gridsync_core::sync::encode_client;
use gridsync_core::sync::frame::FLAG_ZSTD;
use gridsync_core::sync::wire::{ClientMsg, PROTOCOL_VERSION};
use tokio::task::JoinSet;

/// How long an attacker waits for a stream the relay may never grant.
const STREAM_WAIT: Duration = Duration::from_millis(200);
/// How long an attacker waits for one write the relay's flow control may never allow.
const WRITE_WAIT: Duration = Duration::from_secs(1);
/// A pause after the relay refused a connection at the door (an attacker's CPU is the
/// relay's CPU on a small test machine).
const REFUSED_PAUSE: Duration = Duration::from_millis(20);

/// One attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attack {
    /// `conns` connections that never say Hello; each holds a control stream with a frame
    /// one byte short of the pre-login limit (4 KiB), the most the relay buffers there.
    NeverHello {
        /// Connections held at once.
        conns: usize,
    },
    /// `conns` never-Hello connections, each trying to open `streams` bulk streams and
    /// three more bidirectional streams, each with a frame announcing 8 MiB followed by
    /// `bytes` bytes of it (what took the relay to 2.2 GB before the fix).
    StreamFlood {
        /// Connections at once.
        conns: usize,
        /// Bulk streams each tries to open.
        streams: usize,
        /// Bytes each tries to write on each stream after the frame's header.
        bytes: usize,
    },
    /// `at_once` loops sending a Hello whose compressed body inflates to 16 MiB.
    Bombs {
        /// Loops at once.
        at_once: usize,
    },
    /// `sources` loops sending Hellos with a wrong token, each from its own loopback
    /// address (127.0.0.2 and up), so that the failed-login limiter blocks them.
    FailedLogins {
        /// Source addresses.
        sources: usize,
    },
}

/// What an attack got through, so far.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AttackStats {
    /// Connections the relay let through the handshake.
    pub connections: u64,
    /// Connections it refused at the door.
    pub refused: u64,
    /// Streams beyond the control stream that the relay let the attacker open.
    pub streams_opened: u64,
    /// Bytes the relay's flow control let the attacker write on those streams.
    pub bytes_sent: u64,
}

#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    refused: AtomicU64,
    streams_opened: AtomicU64,
    bytes_sent: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> AttackStats {
        AttackStats {
            connections: self.connections.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            streams_opened: self.streams_opened.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
        }
    }
}

/// What every attacking task shares.
#[derive(Clone)]
struct Target {
    relay: SocketAddr,
    counters: Arc<Counters>,
}

impl Target {
    /// A connection through `endpoint`, or `None` (counted, after a pause) when refused.
    async fn connect(&self, endpoint: &quinn::Endpoint) -> Option<quinn::Connection> {
        let conn = match endpoint.connect(self.relay, "gridsync-relay") {
            Ok(connecting) => connecting.await.ok(),
            Err(_) => None,
        };
        match &conn {
            Some(_) => Counters::add(&self.counters.connections, 1),
            None => {
                Counters::add(&self.counters.refused, 1);
                tokio::time::sleep(REFUSED_PAUSE).await;
            }
        }
        conn
    }
}

/// A running attack; dropping it (or [`Attacker::stop`]) ends every connection it made.
pub struct Attacker {
    tasks: JoinSet<()>,
    endpoints: Vec<quinn::Endpoint>,
    counters: Arc<Counters>,
}

impl Attacker {
    /// Starts `attack` on the relay at `relay` (pinned to `fingerprint`).
    pub fn start(attack: Attack, relay: SocketAddr, fingerprint: &str) -> Result<Attacker> {
        let target = Target {
            relay,
            counters: Arc::default(),
        };
        let mut attacker = Attacker {
            tasks: JoinSet::new(),
            endpoints: Vec::new(),
            counters: target.counters.clone(),
        };
        match attack {
            Attack::NeverHello { conns } => {
                let ep = attacker.endpoint("127.0.0.1", fingerprint)?;
                for _ in 0..conns {
                    attacker
                        .tasks
                        .spawn(never_hello(target.clone(), ep.clone()));
                }
            }
            Attack::StreamFlood {
                conns,
                streams,
                bytes,
            } => {
                let ep = attacker.endpoint("127.0.0.1", fingerprint)?;
                for _ in 0..conns {
                    let flood = stream_flood(target.clone(), ep.clone(), streams, bytes);
                    attacker.tasks.spawn(flood);
                }
            }
            Attack::Bombs { at_once } => {
                let bomb = Arc::new(bomb_frame()?);
                let ep = attacker.endpoint("127.0.0.1", fingerprint)?;
                for _ in 0..at_once {
                    let first = bomb.clone();
                    attacker
                        .tasks
                        .spawn(first_frames(target.clone(), ep.clone(), first));
                }
            }
            Attack::FailedLogins { sources } => {
                let hello = Arc::new(encode_client(&ClientMsg::Hello {
                    version: PROTOCOL_VERSION,
                    token: "gst_not_a_token".into(),
                    agent: "stranger".into(),
                })?);
                for i in 0..sources {
                    let ep = attacker.endpoint(&format!("127.0.0.{}", 2 + i), fingerprint)?;
                    let first = hello.clone();
                    attacker
                        .tasks
                        .spawn(first_frames(target.clone(), ep, first));
                }
            }
        }
        Ok(attacker)
    }

    /// A client endpoint bound to `from`, pinned to the relay, keeping its connections
    /// alive (a stranger defeats the relay's idle timeout).
    fn endpoint(&mut self, from: &str, fingerprint: &str) -> Result<quinn::Endpoint> {
        let mut endpoint = quinn::Endpoint::client(format!("{from}:0").parse()?)?;
        let mut config = client_config(&Trust::Pinned(fingerprint.into()))?;
        let mut transport = quinn::TransportConfig::default();
        transport.keep_alive_interval(Some(Duration::from_secs(1)));
        config.transport_config(Arc::new(transport));
        endpoint.set_default_client_config(config);
        self.endpoints.push(endpoint.clone());
        Ok(endpoint)
    }

    /// What the attack got through so far.
    pub fn stats(&self) -> AttackStats {
        self.counters.snapshot()
    }

    /// Ends the attack and every connection it made; returns what it got through.
    pub async fn stop(mut self) -> AttackStats {
        self.tasks.shutdown().await;
        for ep in &self.endpoints {
            ep.close(0u32.into(), b"attack over");
        }
        self.counters.snapshot()
    }
}

/// Never says Hello: half a frame on the control stream, held until the relay closes the
/// connection (at its Hello deadline), then again.
async fn never_hello(target: Target, endpoint: quinn::Endpoint) {
    loop {
        let Some(conn) = target.connect(&endpoint).await else {
            continue;
        };
        let streams = conn.open_bi().await;
        if let Ok((mut send, _recv)) = streams {
            let _ = send.write_all(&partial_frame(4096, 4095)).await;
            conn.closed().await;
        }
    }
}

/// Never says Hello and opens every stream it can, each with a frame announcing 8 MiB.
async fn stream_flood(target: Target, endpoint: quinn::Endpoint, streams: usize, bytes: usize) {
    loop {
        let Some(conn) = target.connect(&endpoint).await else {
            continue;
        };
        // The control stream, with three bytes of a frame's header on it.
        let mut control = conn.open_bi().await.ok();
        if let Some((send, _)) = control.as_mut() {
            let _ = send.write_all(&[0, 0x80, 0]).await;
        }
        let mut held = Vec::new();
        for _ in 0..streams {
            match tokio::time::timeout(STREAM_WAIT, conn.open_uni()).await {
                Ok(Ok(s)) => held.push(s),
                _ => break,
            }
        }
        let mut held_bi = Vec::new();
        for _ in 0..3 {
            match tokio::time::timeout(STREAM_WAIT, conn.open_bi()).await {
                Ok(Ok((s, r))) => {
                    held.push(s);
                    held_bi.push(r);
                }
                _ => break,
            }
        }
        Counters::add(&target.counters.streams_opened, held.len() as u64);
        for stream in &mut held {
            let sent = fill(stream, bytes).await;
            Counters::add(&target.counters.bytes_sent, sent);
        }
        conn.closed().await;
    }
}

/// Writes a frame header announcing 8 MiB, then up to `bytes` bytes in 64 KiB writes,
/// until a write waits longer than [`WRITE_WAIT`]; returns the bytes written.
async fn fill(stream: &mut quinn::SendStream, bytes: usize) -> u64 {
    let mut sent = 0u64;
    let header = (8u32 << 20).to_be_bytes();
    if !matches!(
        tokio::time::timeout(WRITE_WAIT, stream.write_all(&header)).await,
        Ok(Ok(()))
    ) {
        return 0;
    }
    let chunk = vec![0x5au8; 64 * 1024];
    while (sent as usize) < bytes {
        let n = chunk.len().min(bytes - sent as usize);
        match tokio::time::timeout(WRITE_WAIT, stream.write_all(&chunk[..n])).await {
            Ok(Ok(())) => sent += n as u64,
            _ => break,
        }
    }
    sent
}

/// Sends `first` as the first frame of a connection, reads the relay's answer, again.
async fn first_frames(target: Target, endpoint: quinn::Endpoint, first: Arc<Vec<u8>>) {
    loop {
        let Some(conn) = target.connect(&endpoint).await else {
            continue;
        };
        if let Ok((mut send, mut recv)) = conn.open_bi().await {
            let _ = send.write_all(&first).await;
            let _ = tokio::time::timeout(Duration::from_secs(5), recv.read_to_end(1 << 16)).await;
        }
        conn.close(0u32.into(), b"again");
    }
}

/// A frame header announcing `announced` bytes, followed by `present` of them.
pub fn partial_frame(announced: u32, present: usize) -> Vec<u8> {
    let mut f = announced.to_be_bytes().to_vec();
    f.resize(4 + present, 0x5a);
    f
}

/// A Hello-sized frame whose zstd body inflates to 16 MiB of zeros.
pub fn bomb_frame() -> Result<Vec<u8>> {
    let bomb = zstd::stream::encode_all(&vec![0u8; 16 << 20][..], 19)?;
    let mut f = ((bomb.len() + 1) as u32).to_be_bytes().to_vec();
    f.push(FLAG_ZSTD);
    f.extend_from_slice(&bomb);
    Ok(f)
}

/// The resident memory of process `pid` now, KiB (0 if it cannot be read).
pub fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

/// Resets the peak resident memory (`VmHWM`) of process `pid` to its current resident
/// memory, so that the next peak read is the peak since now; false if the kernel refused.
pub fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
