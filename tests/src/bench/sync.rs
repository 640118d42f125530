//! Sync benchmarks against a real `gridsync-relay` process over real QUIC: a grid's
//! bootstrap, a reconnect after five offline days, a live delta, and relay ingest from many
//! concurrent handsets. Bytes are frame bytes as the handset's driver counts them; the
//! floor is the zstd -19 size of the postcard encoding of the records that had to move.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use gridsync_core::model::HouseholdUpdate;
use gridsync_core::net::SyncClient;
use gridsync_core::store::MemoryStore;
use gridsync_core::{Replica, ReplicaConfig};
use serde::{Deserialize, Serialize};

use super::coverage::{self, Coverage, Transfer};
use super::scrape::{OpsLoad, Scraper};
use crate::load::load;
use crate::netem::{Counters, LinkEmulator, LinkProfile, Outages};
use crate::relay_process::{ProcessOptions, RelayProcess};
use crate::workload::{Workload, WorkloadConfig};

/// One scenario's figures.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SyncFigures {
    /// Scenario name.
    pub scenario: String,
    /// What moved.
    pub records: String,
    /// Frame bytes handset → relay.
    pub bytes_up: u64,
    /// Frame bytes relay → handset.
    pub bytes_down: u64,
    /// Messages handset → relay.
    pub messages_up: u64,
    /// Messages relay → handset.
    pub messages_down: u64,
    /// Flights the handset sent after the QUIC handshake.
    pub round_trips: u64,
    /// Wall time, ms.
    pub wall_ms: f64,
    /// zstd -19 of the postcard records (as stored: with ids, references and timelines).
    pub floor_bytes: u64,
    /// zstd -19 of the postcard input forms (`NewVisit`, `NewCase` ...: no ids, no
    /// timelines), the floor reported before; kept for comparison.
    pub input_floor_bytes: u64,
    /// (up + down) / floor.
    pub ratio: f64,
    /// Relay CPU seconds during the scenario.
    pub relay_cpu_s: f64,
    /// Relay peak resident memory, MiB.
    pub relay_peak_mib: f64,
    /// Visits per second (load scenario).
    pub visits_per_s: Option<f64>,
    /// Link profile the handsets synced through.
    pub profile: String,
    /// UDP payload bytes handset → relay through the link emulator (QUIC included).
    pub udp_up: u64,
    /// UDP payload bytes relay → handset through the link emulator.
    pub udp_down: u64,
    /// On links with outages: the transfer ran as an app runs it (reconnecting until done),
    /// and this says how many up-windows moved it forward.
    pub coverage: Option<Coverage>,
}

/// Longest a transfer may take on a link with outages before the benchmark gives up.
const PERSISTENT_LIMIT: Duration = Duration::from_secs(30 * 60);

impl Transfer {
    fn figures(self, scenario: &str, records: String) -> SyncFigures {
        SyncFigures {
            scenario: scenario.into(),
            records,
            bytes_up: self.bytes_up,
            bytes_down: self.bytes_down,
            messages_up: self.messages_up,
            messages_down: self.messages_down,
            round_trips: self.round_trips,
            coverage: self.coverage,
            ..Default::default()
        }
    }
}

fn documents(replica: &Replica) -> Result<u64> {
    Ok(replica.store().len(gridsync_core::store::trees::DOCS)? as u64)
}

fn floor(bytes: &[u8]) -> u64 {
    zstd::block::compress(bytes, 19)
        .map(|c| c.len() as u64)
        .unwrap_or(0)
}

pub(crate) fn mem_replica(device: &str) -> Result<Arc<Replica>> {
    Ok(Arc::new(Replica::open_with(
        Arc::new(MemoryStore::new()),
        device,
        ReplicaConfig::default(),
    )?))
}

fn sled_replica(dir: &Path, device: &str) -> Result<Arc<Replica>> {
    Ok(Arc::new(Replica::open(dir, device)?))
}

/// The environment every scenario shares: a relay process with the bootstrap grid loaded
/// by a seeding handset.
pub struct Bench {
    relay: RelayProcess,
    /// Scrapes the relay's `/metrics` while it lives, if asked.
    scraper: Option<Scraper>,
    dir: tempfile::TempDir,
    grid: String,
    workload: Workload,
    link: Option<LinkEmulator>,
    profile: String,
    /// Documents the relay holds in the benchmark's grids, so far: a handset joining later
    /// has caught up when it holds as many.
    relay_documents: AtomicU64,
}

impl Bench {
    /// Starts the relay at `exe` and uploads the bootstrap grid (300 households, 2,000
    /// visits, 300 cases) through a seeding handset.
    /// `relay` says what its operations listener does meanwhile and where it keeps its
    /// state.
    pub async fn new(
        exe: &Path,
        seed: u64,
        profile: Option<LinkProfile>,
        relay: RelaySetup,
    ) -> Result<Self> {
        let ops = relay.ops;
        let dir = tempfile::tempdir()?;
        let options = ProcessOptions {
            http: ops.http(),
            store: relay.store,
            ..ProcessOptions::default()
        };
        let relay = RelayProcess::spawn(exe, &dir.path().join("relay"), options)?;
        let scraper = match (ops, relay.http) {
            (OpsLoad::Scraped, Some(addr)) => Some(Scraper::start(addr, Duration::from_secs(1))),
            _ => None,
        };
        let mut cfg = WorkloadConfig::bootstrap();
        cfg.seed = seed;
        let mut workload = Workload::generate(&cfg);
        // One device writes as one worker (issue 13): the seeder authors everything.
        for v in &mut workload.visits {
            v.worker = "seeder".into();
        }
        for c in &mut workload.cases {
            c.case.reporter = "seeder".into();
        }
        let grid = cfg.grids[0].path.to_string();
        let workload_documents =
            (workload.households.len() + workload.visits.len() + workload.cases.len()) as u64;
        let token = relay.enroll("seeder", &[&grid])?;
        let seeder = sled_replica(&dir.path().join("seeder"), "seeder")?;
        let (_, end) = workload.period();
        load(&seeder, &workload, end, "seeder")?;
        let client = SyncClient::new(seeder.clone(), relay.target(&token))?;
        let r = client.sync_once().await?;
        anyhow::ensure!(
            seeder.pending()?.changes == 0 && seeder.pending()?.refused == 0,
            "seeding left {} changes unacknowledged ({r:?})",
            seeder.pending()?.changes
        );
        let (link, profile) = match profile {
            Some(p) => {
                let name = p.name.clone();
                (Some(LinkEmulator::start(relay.addr, p, seed).await?), name)
            }
            None => (None, "loopback (direct)".to_string()),
        };
        Ok(Bench {
            scraper,
            relay,
            dir,
            grid,
            workload,
            link,
            profile,
            relay_documents: AtomicU64::new(workload_documents),
        })
    }

    fn bootstrap_records(&self) -> String {
        let w = &self.workload;
        format!(
            "{} households, {} visits, {} cases",
            w.households.len(),
            w.visits.len(),
            w.cases.len()
        )
    }

    /// The link emulator when its profile has outages: transfers then run until done,
    /// reconnecting, instead of giving up with the first dropped link.
    fn outage_link(&self) -> Option<&LinkEmulator> {
        self.link
            .as_ref()
            .filter(|l| !matches!(l.profile().outages, Outages::None))
    }

    /// Syncs `client` until `done` holds: one `sync_once` on a link that stays up; on a
    /// link with outages, the client runs as an app runs it, reconnecting, while
    /// `progress` is sampled to judge each up-window.
    async fn transfer(
        &self,
        client: &SyncClient,
        progress: impl Fn() -> Result<u64>,
        done: impl Fn() -> Result<bool>,
    ) -> Result<Transfer> {
        if let Some(link) = self.outage_link() {
            return coverage::run_until(client, link, PERSISTENT_LIMIT, progress, done).await;
        }
        let r = client.sync_once().await?;
        anyhow::ensure!(done()?, "one sync did not finish the transfer ({r:?})");
        Ok(Transfer {
            bytes_up: r.bytes_sent,
            bytes_down: r.bytes_received,
            messages_up: r.messages_sent,
            messages_down: r.messages_received,
            round_trips: r.round_trips,
            coverage: None,
        })
    }

    /// A measured handset's way to the relay: through the link emulator when there is one.
    fn target(&self, token: &str) -> gridsync_core::net::RelayTarget {
        let t = self.relay.target(token);
        match &self.link {
            Some(link) => link.via(t),
            None => t,
        }
    }

    fn link_counters(&self) -> Option<Counters> {
        self.link.as_ref().map(LinkEmulator::counters)
    }

    fn relay_mark(&self) -> (f64, Instant, Option<Counters>) {
        (
            self.relay.cpu_seconds(),
            Instant::now(),
            self.link_counters(),
        )
    }

    fn finish(&self, mut f: SyncFigures, mark: (f64, Instant, Option<Counters>)) -> SyncFigures {
        if let (Some(before), Some(now)) = (&mark.2, self.link_counters()) {
            let d = now.since(before);
            f.udp_up = d.up.offered_bytes;
            f.udp_down = d.down.offered_bytes;
        }
        f.profile = self.profile.clone();
        f.wall_ms = mark.1.elapsed().as_secs_f64() * 1e3;
        f.relay_cpu_s = self.relay.cpu_seconds() - mark.0;
        f.relay_peak_mib = self.relay.peak_rss_kib() as f64 / 1024.0;
        f.ratio = (f.bytes_up + f.bytes_down) as f64 / f.floor_bytes.max(1) as f64;
        f
    }

    /// A fresh handset pulls the whole grid.
    pub async fn bootstrap(&self) -> Result<(SyncFigures, Arc<Replica>, SyncClient)> {
        let token = self.relay.enroll("fresh", &[&self.grid])?;
        let replica = sled_replica(&self.dir.path().join("fresh"), "fresh")?;
        let client = SyncClient::new(replica.clone(), self.target(&token))?;
        let mark = self.relay_mark();
        let w = &self.workload;
        let total = self.relay_documents.load(Ordering::Relaxed);
        let t = self
            .transfer(
                &client,
                || documents(&replica),
                || Ok(documents(&replica)? >= total),
            )
            .await?;
        let f = SyncFigures {
            floor_bytes: floor(&super::records::stored_records(&replica)?),
            input_floor_bytes: floor(&w.postcard_bytes()),
            ..t.figures("bootstrap", self.bootstrap_records())
        };
        Ok((self.finish(f, mark), replica, client))
    }

    /// The handset that bootstrapped works five days offline (100 visits, 20 cases, 30
    /// household edits) and reconnects.
    pub async fn reconnect(
        &self,
        replica: &Replica,
        client: &SyncClient,
        seed: u64,
    ) -> Result<SyncFigures> {
        let mut cfg = WorkloadConfig::bootstrap();
        cfg.seed = seed ^ 0x5eed;
        cfg.visits = 100;
        cfg.cases = 20;
        cfg.conflicts = 30;
        cfg.days = 5;
        let offline = Workload::generate(&cfg);
        let ids: Vec<_> = replica
            .list_households(None)?
            .into_iter()
            .map(|h| h.id)
            .collect();
        // The floor: the new records as stored (with their ids), and each edit with the id
        // of the household it edits; the input forms alone are the earlier floor.
        let mut floor_bytes = Vec::new();
        let mut input_bytes = Vec::new();
        for v in &offline.visits {
            let nv = v.to_new_visit(ids[v.household % ids.len()].clone());
            input_bytes.extend(postcard::to_allocvec(&nv)?);
            let id = replica.log_visit(&nv)?;
            floor_bytes.extend(postcard::to_allocvec(&replica.visit(&id)?)?);
        }
        for c in &offline.cases {
            let nc = c.to_new_case(None);
            input_bytes.extend(postcard::to_allocvec(&nc)?);
            let id = replica.report_case(&nc)?;
            floor_bytes.extend(super::records::case_record(&replica.case(&id)?)?);
        }
        for (i, c) in offline.conflicts.iter().enumerate() {
            let u: &HouseholdUpdate = &c.a;
            let target = &ids[(c.household + i) % ids.len()];
            input_bytes.extend(postcard::to_allocvec(u)?);
            floor_bytes.extend(postcard::to_allocvec(&(target, u))?);
            replica.update_household(target, u)?;
        }
        let mark = self.relay_mark();
        let records = format!(
            "{} visits, {} cases, {} household edits",
            offline.visits.len(),
            offline.cases.len(),
            offline.conflicts.len()
        );
        let pending = replica.pending()?.changes;
        let t = self
            .transfer(
                client,
                || Ok(pending.saturating_sub(replica.pending()?.changes)),
                || Ok(replica.pending()?.changes == 0),
            )
            .await?;
        self.relay_documents.fetch_add(
            (offline.visits.len() + offline.cases.len()) as u64,
            Ordering::Relaxed,
        );
        let f = SyncFigures {
            floor_bytes: floor(&floor_bytes),
            input_floor_bytes: floor(&input_bytes),
            ..t.figures("reconnect", records)
        };
        Ok(self.finish(f, mark))
    }

    /// Two live handsets; one logs 20 visits one at a time; time until the other has all.
    pub async fn live(&self, seed: u64) -> Result<SyncFigures> {
        let mut ends = Vec::new();
        for name in ["live-a", "live-b"] {
            let token = self.relay.enroll(name, &[&self.grid])?;
            let replica = sled_replica(&self.dir.path().join(name), name)?;
            let client = Arc::new(SyncClient::new(replica.clone(), self.target(&token))?);
            let total = self.relay_documents.load(Ordering::Relaxed);
            self.transfer(
                &client,
                || documents(&replica),
                || Ok(documents(&replica)? >= total),
            )
            .await?;
            ends.push((replica, client));
        }
        let (a, ca) = &ends[0];
        let (b, cb) = &ends[1];
        let clients = [ca.clone(), cb.clone()];
        let mut cfg = WorkloadConfig::bootstrap();
        cfg.seed = seed ^ 0x11fe;
        cfg.visits = 20;
        cfg.cases = 0;
        let w = Workload::generate(&cfg);
        let ids: Vec<_> = a.list_households(None)?.into_iter().map(|h| h.id).collect();
        let traffic = || (ca.status().bytes_sent, cb.status().bytes_received);
        let logged = std::sync::Mutex::new(Vec::new());
        let mut input_bytes = Vec::new();
        let mut visits = Vec::new();
        for v in &w.visits {
            let nv = v.to_new_visit(ids[v.household % ids.len()].clone());
            input_bytes.extend(postcard::to_allocvec(&nv)?);
            visits.push(nv);
        }
        // Both handsets go live; after 300 ms A logs the 20 visits one by one, and the
        // clock runs until B has every one of them.
        let marks = std::sync::Mutex::new(None);
        let after = std::sync::Mutex::new(((0, 0), Instant::now()));
        let limit = match self.outage_link() {
            Some(_) => PERSISTENT_LIMIT,
            None => Duration::from_secs(30),
        };
        let settle = Instant::now() + Duration::from_millis(300);
        coverage::run_all_until(
            &clients,
            self.link.as_ref(),
            limit,
            Duration::from_millis(2),
            || {
                let mut marks = marks.lock().expect("marks");
                if marks.is_none() {
                    if Instant::now() < settle {
                        return Ok(false);
                    }
                    *marks = Some((traffic(), self.relay_mark()));
                    let mut logged = logged.lock().expect("logged");
                    for nv in &visits {
                        logged.push(a.log_visit(nv)?);
                        ca.local_change();
                    }
                }
                let arrived = logged
                    .lock()
                    .expect("logged")
                    .iter()
                    .all(|id| b.visit(id).is_ok());
                if arrived {
                    *after.lock().expect("after") = (traffic(), Instant::now());
                }
                Ok(arrived)
            },
        )
        .await
        .map_err(|e| e.context("the live delta did not arrive"))?;
        let (before, mark) = marks.into_inner().expect("marks").expect("logged");
        let started = mark.1;
        let (after, arrived) = after.into_inner().expect("after");
        let logged = logged.into_inner().expect("logged");
        self.relay_documents
            .fetch_add(logged.len() as u64, Ordering::Relaxed);
        let mut floor_bytes = Vec::new();
        for id in &logged {
            floor_bytes.extend(postcard::to_allocvec(&a.visit(id)?)?);
        }
        let f = SyncFigures {
            scenario: "live delta".into(),
            records: "20 visits, logged one by one".into(),
            bytes_up: after.0 - before.0,
            bytes_down: after.1 - before.1,
            floor_bytes: floor(&floor_bytes),
            input_floor_bytes: floor(&input_bytes),
            ..Default::default()
        };
        let mut f = self.finish(f, mark);
        // Time to converge: until B held the last visit (not until both clients stopped).
        f.wall_ms = arrived.duration_since(started).as_secs_f64() * 1e3;
        Ok(f)
    }

    /// `handsets` handsets (in-memory stores) each push `per` visits at the same moment.
    /// Each works its own grid, so what it pulls back is only its own (a handset in a
    /// shared grid would first download the whole grid, which is the bootstrap scenario).
    /// On a link with outages the handsets run as apps do until all is acknowledged.
    pub async fn load(&self, handsets: usize, per: usize, seed: u64) -> Result<SyncFigures> {
        let w = load_workload(handsets, per, seed);
        let mut handset = Vec::new();
        for i in 0..handsets {
            let name = format!("load-{i}");
            let grid =
                gridsync_core::GridPath::parse(&format!("loadtest/street/community/g{i:03}"))?;
            let token = self.relay.enroll(&name, &[grid.as_str()])?;
            let replica = mem_replica(&name)?;
            let client = Arc::new(SyncClient::new(replica.clone(), self.target(&token))?);
            handset.push((grid, replica, client));
        }
        let clients: Vec<_> = handset.iter().map(|h| h.2.clone()).collect();
        // Each handset is enrolled and has synced once (an empty grid), as a worker's
        // phone is before a day's work; the load is the reconnect with that work.
        coverage::run_all_until(
            &clients,
            self.link.as_ref(),
            PERSISTENT_LIMIT,
            Duration::from_millis(50),
            || Ok(clients.iter().all(|c| c.status().last_sync.is_some())),
        )
        .await
        .map_err(|e| e.context("the load handsets' first sync"))?;
        for (i, (grid, replica, _)) in handset.iter().enumerate() {
            fill_load_handset(replica, &w, i, grid, per)?;
        }
        let pending = |h: &(_, Arc<Replica>, _)| h.1.pending().map(|p| p.changes);
        let mut before = 0;
        for h in &handset {
            before += pending(h)?;
        }
        let mark = self.relay_mark();
        if self.outage_link().is_some() {
            coverage::run_all_until(
                &clients,
                self.link.as_ref(),
                PERSISTENT_LIMIT,
                Duration::from_millis(50),
                || {
                    for h in &handset {
                        if pending(h)? > 0 {
                            return Ok(false);
                        }
                    }
                    Ok(true)
                },
            )
            .await?;
        } else {
            let mut tasks = Vec::new();
            for c in &clients {
                let c = c.clone();
                tasks.push(tokio::spawn(async move { c.sync_once().await }));
            }
            for t in tasks {
                t.await??;
            }
        }
        let (mut left, mut refused) = (0, 0);
        for h in &handset {
            left += pending(h)?;
            refused += h.1.pending()?.refused;
        }
        // Refused changes leave the pending count too: none may be, or the rate would
        // count work the relay did not store.
        anyhow::ensure!(refused == 0, "the relay refused {refused} changes");
        let acknowledged = before - left;
        let visits = (handsets * per) as u64;
        anyhow::ensure!(
            acknowledged == visits + handsets as u64,
            "acknowledged {acknowledged} of {}",
            visits + handsets as u64
        );
        let mut f = self.finish(
            SyncFigures {
                scenario: "relay load".into(),
                records: format!("{handsets} handsets x {per} visits"),
                ..Default::default()
            },
            mark,
        );
        f.visits_per_s = Some(visits as f64 / (f.wall_ms / 1e3));
        Ok(f)
    }
}

/// The load workload's share of handset `i` (`load-<i>`, in `grid`): its household and
/// `per` visits to it, the day's work the load scenarios push at once. `w` is the load
/// workload ([`load_workload`]).
pub fn fill_load_handset(
    replica: &Replica,
    w: &Workload,
    i: usize,
    grid: &gridsync_core::GridPath,
    per: usize,
) -> Result<()> {
    let name = format!("load-{i}");
    let mut household = w.households[i].clone();
    household.grid = grid.clone();
    let hid = replica.register_household(&household, &name)?;
    let mut n = 0;
    for v in w.visits.iter().filter(|v| v.household == i).take(per) {
        replica.log_visit(&v.to_new_visit(hid.clone()))?;
        n += 1;
    }
    for v in w.visits.iter().filter(|v| v.household != i).take(per - n) {
        replica.log_visit(&v.to_new_visit(hid.clone()))?;
    }
    Ok(())
}

/// The load scenarios' workload: a household and `per` visits for each of `handsets`.
pub fn load_workload(handsets: usize, per: usize, seed: u64) -> Workload {
    let mut cfg = WorkloadConfig::bootstrap();
    cfg.seed = seed ^ 0x10ad;
    cfg.households_per_grid = handsets;
    cfg.visits = handsets * per;
    cfg.cases = 0;
    Workload::generate(&cfg)
}

/// The relay process of the sync scenarios.
#[derive(Debug, Clone, Copy, Default)]
pub struct RelaySetup {
    /// What its operations listener does meanwhile.
    pub ops: OpsLoad,
    /// `--store` (a PostgreSQL URL, in a schema that exists), `None`: sled.
    pub store: Option<&'static str>,
}

/// Which scenarios to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// A fresh handset pulls the grid.
    Bootstrap,
    /// Five offline days, then a reconnect (runs a bootstrap first).
    Reconnect,
    /// A live delta between two connected handsets.
    Live,
    /// 100 handsets pushing at once.
    Load,
}

/// Prints a progress line with the elapsed time every second until dropped (long runs on
/// slow profiles take minutes).
struct Ticker(Option<tokio::task::JoinHandle<()>>);

impl Ticker {
    fn start(label: String, show: bool) -> Self {
        if !show {
            return Ticker(None);
        }
        let started = Instant::now();
        Ticker(Some(tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                eprint!("\r… {label}: {:.0} s ", started.elapsed().as_secs_f64());
            }
        })))
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.abort();
            eprintln!();
        }
    }
}

/// Runs the chosen scenarios once, handsets connected through `profile` (directly when
/// `None`).
pub async fn run(
    exe: &Path,
    seed: u64,
    profile: Option<LinkProfile>,
    relay: RelaySetup,
    which: &[Which],
    progress: &dyn Fn(&str),
    show_ticker: bool,
) -> Result<Vec<SyncFigures>> {
    progress("starting the relay and uploading the bootstrap grid");
    let bench = Bench::new(exe, seed, profile, relay).await?;
    let mut out = Vec::new();
    if which.contains(&Which::Bootstrap) || which.contains(&Which::Reconnect) {
        progress(&format!("bootstrap over {}", bench.profile));
        let _t = Ticker::start("bootstrap".into(), show_ticker);
        let (boot, replica, client) = bench.bootstrap().await?;
        drop(_t);
        if which.contains(&Which::Bootstrap) {
            out.push(boot);
        }
        if which.contains(&Which::Reconnect) {
            progress("reconnect after five offline days");
            let _t = Ticker::start("reconnect".into(), show_ticker);
            out.push(bench.reconnect(&replica, &client, seed).await?);
        }
    }
    if which.contains(&Which::Live) {
        progress("live delta");
        let _t = Ticker::start("live delta".into(), show_ticker);
        out.push(bench.live(seed).await?);
    }
    if which.contains(&Which::Load) {
        progress("relay load: 100 handsets x 50 visits");
        let _t = Ticker::start("relay load".into(), show_ticker);
        out.push(bench.load(100, 50, seed).await?);
    }
    if let Some(s) = &bench.scraper {
        progress(&format!("/metrics scraped {} times", s.scrapes()));
    }
    Ok(out)
}
