//! [`LinkEmulator`]: a UDP relay on 127.0.0.1 that impairs the traffic crossing it.
//!
//! Handsets send to [`LinkEmulator::addr`]. For each client address it sees, the emulator
//! opens one upstream socket, so the relay sees one distinct peer per handset and several
//! handsets share one emulator, each with its own link (queue, bucket, random draws) in
//! each direction. Outages (scheduled or [`LinkEmulator::cut`]) apply to every link.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::profile::{LinkProfile, Outages};
use super::shaper::{DropReason, Fate, Shaper};

/// Which way a datagram travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Handset → relay.
    Up,
    /// Relay → handset.
    Down,
}

impl Direction {
    fn index(self) -> usize {
        match self {
            Direction::Up => 0,
            Direction::Down => 1,
        }
    }
}

/// Counters of one direction, summed over every handset's link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirStats {
    /// Datagrams that entered the emulator.
    pub offered_datagrams: u64,
    /// Their bytes (UDP payload).
    pub offered_bytes: u64,
    /// Datagrams delivered (duplicates included).
    pub delivered_datagrams: u64,
    /// Their bytes.
    pub delivered_bytes: u64,
    /// Lost at random.
    pub lost: u64,
    /// Tail-dropped because the queue was full.
    pub queue_drops: u64,
    /// Dropped because the link was down (when sent or while in flight).
    pub outage_drops: u64,
    /// Extra copies delivered.
    pub duplicated: u64,
    /// Held back so later datagrams overtook them.
    pub reordered: u64,
}

impl DirStats {
    /// Every datagram that was not delivered, whatever the reason.
    pub fn dropped(&self) -> u64 {
        self.lost + self.queue_drops + self.outage_drops
    }
}

/// Counters of both directions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Handset → relay.
    pub up: DirStats,
    /// Relay → handset.
    pub down: DirStats,
}

impl Counters {
    /// Datagrams dropped in both directions.
    pub fn dropped(&self) -> u64 {
        self.up.dropped() + self.down.dropped()
    }

    /// Duplicates delivered in both directions.
    pub fn duplicated(&self) -> u64 {
        self.up.duplicated + self.down.duplicated
    }

    /// The counters accumulated since `earlier` was read.
    pub fn since(&self, earlier: &Counters) -> Counters {
        fn d(a: &DirStats, b: &DirStats) -> DirStats {
            DirStats {
                offered_datagrams: a.offered_datagrams - b.offered_datagrams,
                offered_bytes: a.offered_bytes - b.offered_bytes,
                delivered_datagrams: a.delivered_datagrams - b.delivered_datagrams,
                delivered_bytes: a.delivered_bytes - b.delivered_bytes,
                lost: a.lost - b.lost,
                queue_drops: a.queue_drops - b.queue_drops,
                outage_drops: a.outage_drops - b.outage_drops,
                duplicated: a.duplicated - b.duplicated,
                reordered: a.reordered - b.reordered,
            }
        }
        Counters {
            up: d(&self.up, &earlier.up),
            down: d(&self.down, &earlier.down),
        }
    }
}

impl std::fmt::Display for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (name, s) in [("up", &self.up), ("down", &self.down)] {
            write!(
                f,
                "{name}: {} dgrams/{} B in, {} dgrams/{} B out, lost {}, queue-dropped {}, \
                 outage-dropped {}, duplicated {}, reordered {}; ",
                s.offered_datagrams,
                s.offered_bytes,
                s.delivered_datagrams,
                s.delivered_bytes,
                s.lost,
                s.queue_drops,
                s.outage_drops,
                s.duplicated,
                s.reordered
            )?;
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
struct AtomicDir {
    offered_datagrams: AtomicU64,
    offered_bytes: AtomicU64,
    delivered_datagrams: AtomicU64,
    delivered_bytes: AtomicU64,
    lost: AtomicU64,
    queue_drops: AtomicU64,
    outage_drops: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
}

impl AtomicDir {
    fn snapshot(&self) -> DirStats {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        DirStats {
            offered_datagrams: r(&self.offered_datagrams),
            offered_bytes: r(&self.offered_bytes),
            delivered_datagrams: r(&self.delivered_datagrams),
            delivered_bytes: r(&self.delivered_bytes),
            lost: r(&self.lost),
            queue_drops: r(&self.queue_drops),
            outage_drops: r(&self.outage_drops),
            duplicated: r(&self.duplicated),
            reordered: r(&self.reordered),
        }
    }
}

fn bump(a: &AtomicU64, n: u64) {
    a.fetch_add(n, Ordering::Relaxed);
}

/// The down periods of a schedule, generated lazily and deterministically.
#[derive(Debug)]
struct Timeline {
    outages: Outages,
    rng: ChaCha8Rng,
    /// Down intervals `[start, end)` since the emulator started, in order.
    down: Vec<(Duration, Duration)>,
    /// Up to where `down` is complete.
    horizon: Duration,
}

impl Timeline {
    fn new(outages: Outages, seed: u64) -> Self {
        Timeline {
            outages,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x6f75_7461_6765_7321),
            down: Vec::new(),
            horizon: Duration::ZERO,
        }
    }

    fn exp(rng: &mut ChaCha8Rng, mean: Duration) -> Duration {
        let u: f64 = rng.random();
        let d = mean.mul_f64(-(1.0 - u).ln());
        d.max(Duration::from_millis(50))
    }

    fn extend_to(&mut self, t: Duration) {
        let Outages::Random { mean_up, mean_down } = self.outages else {
            return;
        };
        if mean_up.is_zero() && mean_down.is_zero() {
            return;
        }
        while self.horizon <= t {
            let start = self.horizon + Self::exp(&mut self.rng, mean_up);
            let end = start + Self::exp(&mut self.rng, mean_down);
            self.down.push((start, end));
            self.horizon = end;
        }
    }

    fn is_down(&mut self, t: Duration) -> bool {
        match self.outages {
            Outages::None => false,
            Outages::Periodic { up, down } => {
                let cycle = (up + down).as_nanos();
                if cycle == 0 || down.is_zero() {
                    return false;
                }
                t.as_nanos() % cycle >= up.as_nanos()
            }
            Outages::Random { .. } => {
                self.extend_to(t);
                let i = self.down.partition_point(|&(_, end)| end <= t);
                self.down.get(i).is_some_and(|&(start, _)| start <= t)
            }
        }
    }

    fn windows(&mut self, until: Duration) -> Vec<(Duration, Duration)> {
        match self.outages {
            Outages::None => Vec::new(),
            Outages::Periodic { up, down } => {
                let mut v = Vec::new();
                let cycle = up + down;
                if cycle.is_zero() || down.is_zero() {
                    return v;
                }
                let mut t = up;
                while t < until {
                    v.push((t, t + down));
                    t += cycle;
                }
                v
            }
            Outages::Random { .. } => {
                self.extend_to(until);
                self.down
                    .iter()
                    .copied()
                    .filter(|&(s, _)| s < until)
                    .collect()
            }
        }
    }
}

struct Inner {
    upstream: RwLock<SocketAddr>,
    profile: RwLock<Arc<LinkProfile>>,
    seed: u64,
    started: Instant,
    cut: AtomicBool,
    timeline: Mutex<Timeline>,
    stats: [AtomicDir; 2],
    flows: AtomicUsize,
    tasks: Mutex<Vec<AbortHandle>>,
}

impl Inner {
    fn profile(&self) -> Arc<LinkProfile> {
        self.profile
            .read()
            .map(|p| p.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    fn upstream(&self) -> SocketAddr {
        *self.upstream.read().unwrap_or_else(|e| e.into_inner())
    }

    fn is_down_at(&self, at: Instant) -> bool {
        if self.cut.load(Ordering::SeqCst) {
            return true;
        }
        let t = at.saturating_duration_since(self.started);
        self.timeline
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_down(t)
    }

    fn track(&self, handle: AbortHandle) {
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle);
    }

    fn stats(&self, dir: Direction) -> &AtomicDir {
        &self.stats[dir.index()]
    }

    /// Runs one datagram through `shaper` and hands what survives to `queue`.
    fn shape(
        &self,
        dir: Direction,
        shaper: &mut Shaper,
        data: &[u8],
        seq: &mut u64,
        queue: &mpsc::UnboundedSender<Scheduled>,
    ) {
        let now = Instant::now();
        let s = self.stats(dir);
        bump(&s.offered_datagrams, 1);
        bump(&s.offered_bytes, data.len() as u64);
        let profile = self.profile();
        let down = self.is_down_at(now);
        match shaper.admit(now, data.len(), &profile, down) {
            Fate::Dropped(DropReason::Loss) => bump(&s.lost, 1),
            Fate::Dropped(DropReason::Queue) => bump(&s.queue_drops, 1),
            Fate::Dropped(DropReason::Outage) => bump(&s.outage_drops, 1),
            Fate::Delivered {
                at,
                again,
                reordered,
            } => {
                if reordered {
                    bump(&s.reordered, 1);
                }
                let data: Arc<[u8]> = Arc::from(data);
                for (copy, at) in std::iter::once(at).chain(again).enumerate() {
                    *seq += 1;
                    let _ = queue.send(Scheduled {
                        at,
                        seq: *seq,
                        data: data.clone(),
                        duplicate: copy > 0,
                    });
                }
            }
        }
    }
}

/// A datagram waiting for its delivery time.
struct Scheduled {
    at: Instant,
    seq: u64,
    data: Arc<[u8]>,
    duplicate: bool,
}

impl PartialEq for Scheduled {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// Where a delivery task sends.
enum Sink {
    /// To the relay, from this handset's upstream socket.
    Upstream(Arc<UdpSocket>),
    /// To this handset, from the emulator's listening socket.
    Downstream(Arc<UdpSocket>, SocketAddr),
}

/// Delivers scheduled datagrams at their time (unless the link is down by then).
async fn deliver(
    inner: Arc<Inner>,
    dir: Direction,
    sink: Sink,
    mut rx: mpsc::UnboundedReceiver<Scheduled>,
) {
    let mut heap: BinaryHeap<Reverse<Scheduled>> = BinaryHeap::new();
    let mut open = true;
    loop {
        let next = heap.peek().map(|Reverse(s)| s.at);
        if !open && next.is_none() {
            return;
        }
        tokio::select! {
            m = rx.recv(), if open => match m {
                Some(s) => heap.push(Reverse(s)),
                None => open = false,
            },
            _ = sleep_until(next), if next.is_some() => {
                let now = Instant::now();
                while heap.peek().is_some_and(|Reverse(s)| s.at <= now) {
                    let Some(Reverse(s)) = heap.pop() else { break };
                    let st = inner.stats(dir);
                    if inner.is_down_at(now) {
                        bump(&st.outage_drops, 1);
                        continue;
                    }
                    let sent = match &sink {
                        Sink::Upstream(sock) => sock.send_to(&s.data, inner.upstream()).await,
                        Sink::Downstream(sock, to) => sock.send_to(&s.data, *to).await,
                    };
                    if sent.is_ok() {
                        bump(&st.delivered_datagrams, 1);
                        bump(&st.delivered_bytes, s.data.len() as u64);
                        if s.duplicate {
                            bump(&st.duplicated, 1);
                        }
                    }
                }
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

/// Derives the seed of one direction of one flow.
fn flow_seed(seed: u64, flow: u64, dir: Direction) -> u64 {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(flow * 2 + dir.index() as u64 + 1);
    r.random()
}

/// One handset's link, seen from the emulator's main loop.
struct Flow {
    up: Shaper,
    up_queue: mpsc::UnboundedSender<Scheduled>,
    seq: u64,
}

/// Listens on the emulator's socket: every datagram from a handset goes up its link.
async fn serve_downstream(inner: Arc<Inner>, socket: Arc<UdpSocket>) {
    let mut flows: HashMap<SocketAddr, Flow> = HashMap::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(x) => x,
            // ICMP errors from a handset that went away surface here on some systems.
            Err(_) => continue,
        };
        let flow = match flows.entry(from) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                match open_flow(&inner, &socket, from).await {
                    Ok(flow) => v.insert(flow),
                    Err(e) => {
                        tracing::warn!(error = %e, "netem: cannot open an upstream socket");
                        continue;
                    }
                }
            }
        };
        inner.shape(
            Direction::Up,
            &mut flow.up,
            &buf[..n],
            &mut flow.seq,
            &flow.up_queue,
        );
    }
}

async fn open_flow(
    inner: &Arc<Inner>,
    downstream: &Arc<UdpSocket>,
    client: SocketAddr,
) -> io::Result<Flow> {
    let upstream_addr = inner.upstream();
    let bind: SocketAddr = if upstream_addr.is_ipv6() {
        (std::net::Ipv6Addr::LOCALHOST, 0).into()
    } else {
        (std::net::Ipv4Addr::LOCALHOST, 0).into()
    };
    // Not connected: a relay that is down (ICMP port unreachable) must not break the flow.
    let up_sock = Arc::new(UdpSocket::bind(bind).await?);
    let flow = inner.flows.fetch_add(1, Ordering::SeqCst) as u64;
    let (up_tx, up_rx) = mpsc::unbounded_channel();
    let (down_tx, down_rx) = mpsc::unbounded_channel();
    let h = tokio::spawn(deliver(
        inner.clone(),
        Direction::Up,
        Sink::Upstream(up_sock.clone()),
        up_rx,
    ));
    inner.track(h.abort_handle());
    let h = tokio::spawn(deliver(
        inner.clone(),
        Direction::Down,
        Sink::Downstream(downstream.clone(), client),
        down_rx,
    ));
    inner.track(h.abort_handle());
    let mut down = Shaper::new(flow_seed(inner.seed, flow, Direction::Down));
    let reader_inner = inner.clone();
    let h = tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        let mut seq = 0u64;
        loop {
            let (n, from) = match up_sock.recv_from(&mut buf).await {
                Ok(x) => x,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    continue;
                }
            };
            if from != reader_inner.upstream() {
                continue;
            }
            reader_inner.shape(Direction::Down, &mut down, &buf[..n], &mut seq, &down_tx);
        }
    });
    inner.track(h.abort_handle());
    Ok(Flow {
        up: Shaper::new(flow_seed(inner.seed, flow, Direction::Up)),
        up_queue: up_tx,
        seq: 0,
    })
}

/// A user-space link emulator between handsets and a relay. Dropping it stops it.
pub struct LinkEmulator {
    inner: Arc<Inner>,
    addr: SocketAddr,
}

impl std::fmt::Debug for LinkEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkEmulator")
            .field("addr", &self.addr)
            .field("upstream", &self.inner.upstream())
            .field("profile", &self.inner.profile().name)
            .field("seed", &self.inner.seed)
            .finish()
    }
}

impl LinkEmulator {
    /// Starts an emulator on `127.0.0.1:0` forwarding to `upstream` (the relay) through
    /// links shaped by `profile`, every random draw derived from `seed`. Must be called
    /// inside a tokio runtime.
    pub async fn start(upstream: SocketAddr, profile: LinkProfile, seed: u64) -> io::Result<Self> {
        let bind: SocketAddr = if upstream.is_ipv6() {
            (std::net::Ipv6Addr::LOCALHOST, 0).into()
        } else {
            (std::net::Ipv4Addr::LOCALHOST, 0).into()
        };
        let socket = Arc::new(UdpSocket::bind(bind).await?);
        let addr = socket.local_addr()?;
        let inner = Arc::new(Inner {
            upstream: RwLock::new(upstream),
            timeline: Mutex::new(Timeline::new(profile.outages.clone(), seed)),
            profile: RwLock::new(Arc::new(profile)),
            seed,
            started: Instant::now(),
            cut: AtomicBool::new(false),
            stats: [AtomicDir::default(), AtomicDir::default()],
            flows: AtomicUsize::new(0),
            tasks: Mutex::new(Vec::new()),
        });
        let h = tokio::spawn(serve_downstream(inner.clone(), socket));
        inner.track(h.abort_handle());
        tracing::debug!(%addr, %upstream, seed, "netem started");
        Ok(LinkEmulator { inner, addr })
    }

    /// The address handsets send to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The seed everything random is drawn from.
    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// The relay's address.
    pub fn upstream(&self) -> SocketAddr {
        self.inner.upstream()
    }

    /// Points every link at another relay address (a relay restarted elsewhere).
    pub fn set_upstream(&self, addr: SocketAddr) {
        if let Ok(mut u) = self.inner.upstream.write() {
            *u = addr;
        }
    }

    /// The profile in force.
    pub fn profile(&self) -> LinkProfile {
        (*self.inner.profile()).clone()
    }

    /// Changes the impairments from now on (datagrams already scheduled keep their times).
    /// A new outage schedule starts over from the emulator's start time.
    pub fn set_profile(&self, profile: LinkProfile) {
        if let Ok(mut t) = self.inner.timeline.lock()
            && t.outages != profile.outages
        {
            *t = Timeline::new(profile.outages.clone(), self.inner.seed);
        }
        if let Ok(mut p) = self.inner.profile.write() {
            *p = Arc::new(profile);
        }
    }

    /// Takes the link down now: everything both ways is dropped, in flight included,
    /// until [`LinkEmulator::restore`].
    pub fn cut(&self) {
        self.inner.cut.store(true, Ordering::SeqCst);
    }

    /// Ends a [`LinkEmulator::cut`] (a scheduled outage still applies).
    pub fn restore(&self) {
        self.inner.cut.store(false, Ordering::SeqCst);
    }

    /// True when datagrams get through now (neither cut nor in a scheduled outage).
    pub fn is_up(&self) -> bool {
        !self.inner.is_down_at(Instant::now())
    }

    /// Time since the emulator started (the clock of the outage schedule).
    pub fn elapsed(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// The scheduled down periods `[start, end)` that begin before `until` (time since
    /// the emulator started), for logs and for tests that want to act around them.
    pub fn outage_windows(&self, until: Duration) -> Vec<(Duration, Duration)> {
        self.inner
            .timeline
            .lock()
            .map(|mut t| t.windows(until))
            .unwrap_or_default()
    }

    /// Handsets (client addresses) seen so far.
    pub fn flows(&self) -> usize {
        self.inner.flows.load(Ordering::SeqCst)
    }

    /// The counters so far.
    pub fn counters(&self) -> Counters {
        Counters {
            up: self.inner.stats[0].snapshot(),
            down: self.inner.stats[1].snapshot(),
        }
    }

    /// A relay target that goes through this emulator instead of straight to the relay.
    pub fn via(&self, target: gridsync_core::net::RelayTarget) -> gridsync_core::net::RelayTarget {
        gridsync_core::net::RelayTarget {
            other_nodes: Vec::new(),
            addr: self.addr,
            ..target
        }
    }

    /// Stops every task of the emulator (also done on drop).
    pub fn stop(&self) {
        let tasks =
            std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for t in tasks {
            t.abort();
        }
    }
}

impl Drop for LinkEmulator {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The seed for a test run: `NETEM_SEED` from the environment if set, else `default`.
/// Prints it so a failure can be replayed.
pub fn seed_from_env(default: u64) -> u64 {
    let seed = std::env::var("NETEM_SEED")
        .ok()
        .and_then(|s| {
            let s = s.trim();
            s.strip_prefix("0x")
                .map_or_else(|| s.parse().ok(), |h| u64::from_str_radix(h, 16).ok())
        })
        .unwrap_or(default);
    eprintln!("netem seed {seed} (set NETEM_SEED={seed} to replay)");
    seed
}
