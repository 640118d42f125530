//! Sync under every link profile: real quinn through the link emulator to a real relay.
//! Handsets load seeded workloads offline, sync, then make concurrent edits and sync
//! again; every handset must end with exactly the relay's documents and per-document
//! heads, nothing pending, and the relay must have logged each change exactly once.
//!
//! `loopback`, `4g`, `3g` and `edge` drive `sync_once` round after round; `mountain` and
//! `terrible` keep `SyncClient::run` live sessions with a short backoff while the link
//! comes and goes, on schedules scaled down to test time. `NETEM_SEED` replays a run.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gridsync_core::DocId;
use gridsync_core::model::{HouseholdUpdate, NewVisit, VisitMode};
use gridsync_tests::netem::harness::{
    self, Phone, PhoneOptions, converged, doc_heads, doc_ids, relay_view,
};
use gridsync_tests::netem::{LinkEmulator, LinkProfile, Outages, seed_from_env};
use gridsync_tests::relay::{RelayOptions, TestRelay};
use gridsync_tests::workload::GridSpec;
use tokio::sync::Notify;

const GRID: &str = "ankang/ziyang/haoping/dongmu/g02";

/// Workload per handset: households, visits, cases.
#[derive(Clone, Copy)]
struct Size(usize, usize, usize);

struct Setup {
    _tmp: tempfile::TempDir,
    relay: TestRelay,
    emu: LinkEmulator,
    phones: Vec<Phone>,
    auditor: String,
    /// Distinct local changes made on all handsets.
    changes: u64,
    /// Every document made on any handset.
    docs: BTreeSet<String>,
}

async fn setup(
    profile: LinkProfile,
    seed: u64,
    phones: usize,
    size: Size,
    idle_secs: u64,
    opts: PhoneOptions,
) -> Setup {
    harness::init_logging();
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_with(
        &tmp.path().join("relay"),
        RelayOptions::for_faults(idle_secs),
    )
    .await
    .unwrap();
    eprintln!("profile {profile}");
    let emu = LinkEmulator::start(relay.addr, profile, seed)
        .await
        .unwrap();
    let mut out = Vec::new();
    let mut changes = 0;
    let mut docs = BTreeSet::new();
    for i in 0..phones {
        let name = format!("phone-{i}");
        let token = relay.enroll(&name, &[GRID]).unwrap();
        let phone = Phone::on_disk(
            &tmp.path().join(&name),
            &name,
            emu.via(relay.target(&token)),
            opts,
        )
        .unwrap();
        let w = harness::small_workload(
            seed.wrapping_mul(31) + i as u64,
            GridSpec::rural_dongmu(),
            size.0,
            size.1,
            size.2,
        );
        changes += harness::load_into(&phone, &w).unwrap();
        docs.extend(doc_ids(&phone.replica).unwrap());
        out.push(phone);
    }
    let auditor = relay.enroll("auditor", &[GRID]).unwrap();
    Setup {
        _tmp: tmp,
        relay,
        emu,
        phones: out,
        auditor,
        changes,
        docs,
    }
}

impl Setup {
    fn phones(&self) -> Vec<&Phone> {
        self.phones.iter().collect()
    }

    /// Every handset holds exactly what the relay holds, the relay holds every document
    /// made, and it logged every change once.
    async fn verify(&self) {
        let view = relay_view(self.relay.target(&self.auditor)).await.unwrap();
        let ids: BTreeSet<String> = view.keys().cloned().collect();
        assert_eq!(
            ids, self.docs,
            "the relay's documents are not the ones made"
        );
        assert_eq!(self.relay.hub.document_count().unwrap(), self.docs.len());
        converged(&self.phones(), &view).unwrap();
        let (log, hashes) = self.relay.log_counts().unwrap();
        assert_eq!(
            (log as u64, hashes as u64),
            (self.changes, self.changes),
            "the relay's log should hold each of the {} changes exactly once",
            self.changes
        );
    }

    /// Two handsets edit one household's phone differently and a third logs a visit to
    /// it, all before hearing of each other. Returns the household.
    fn concurrent_edits(&mut self) -> DocId {
        let h = self.phones[0]
            .replica
            .list_households(None)
            .unwrap()
            .first()
            .unwrap()
            .id
            .clone();
        for (i, phone) in self.phones.iter().take(2).enumerate() {
            let update = HouseholdUpdate {
                phone: Some(format!("1380000000{i}")),
                ..HouseholdUpdate::default()
            };
            phone.replica.update_household(&h, &update).unwrap();
            self.changes += 1;
        }
        let last = self.phones.last().unwrap();
        let v = last
            .replica
            .log_visit(&NewVisit {
                household: h.clone(),
                worker: last.name.clone(),
                at: 1_704_700_800_000,
                mode: VisitMode::Phone,
                notes: "电话回访，户主说电话号码刚换了，待核实。".into(),
                findings: vec![],
                follow_ups: vec![],
                geo: None,
            })
            .unwrap();
        self.changes += 1;
        self.docs.insert(v.to_string());
        for p in &self.phones {
            p.client.local_change();
        }
        h
    }

    fn report(&self, what: &str, t: Instant) {
        eprintln!(
            "{what}: {:?}, {} handsets, {} docs, {} changes; link {}",
            t.elapsed(),
            self.phones.len(),
            self.docs.len(),
            self.changes,
            self.emu.counters()
        );
    }
}

/// Handsets drive `sync_once` until converged, twice (offline work, then concurrent
/// edits of one household).
async fn converge_with_sync_once(
    profile: LinkProfile,
    seed: u64,
    size: Size,
    within: Duration,
) -> Setup {
    let t = Instant::now();
    let mut s = setup(profile, seed, 3, size, 30, PhoneOptions::default()).await;
    let (rounds, failures) = harness::sync_until_converged(&s.phones(), within)
        .await
        .unwrap();
    eprintln!("offline work converged in {rounds} rounds, {failures} failed attempts");
    s.verify().await;
    let h = s.concurrent_edits();
    let (rounds, failures) = harness::sync_until_converged(&s.phones(), within)
        .await
        .unwrap();
    eprintln!("concurrent edits converged in {rounds} rounds, {failures} failed attempts");
    s.verify().await;
    let heads = doc_heads(&s.phones[0].replica).unwrap();
    assert_eq!(
        heads[h.as_str()].len(),
        2,
        "two concurrent edits of {h} leave two heads"
    );
    for p in &s.phones {
        let conflicts = p.replica.household_conflicts(&h).unwrap();
        assert_eq!(conflicts.len(), 1, "{}: {conflicts:?}", p.name);
        assert_eq!(conflicts[0].values.len(), 2, "both phone numbers survive");
    }
    s.report("converged", t);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_converges() {
    let seed = seed_from_env(1);
    let s = converge_with_sync_once(
        LinkProfile::loopback(),
        seed,
        Size(4, 10, 2),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(s.emu.counters().dropped(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lte_converges() {
    let seed = seed_from_env(4);
    converge_with_sync_once(
        LinkProfile::parse("4g").unwrap(),
        seed,
        Size(4, 10, 2),
        Duration::from_secs(60),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn umts_converges() {
    let seed = seed_from_env(3);
    converge_with_sync_once(
        LinkProfile::parse("3g").unwrap(),
        seed,
        Size(4, 10, 2),
        Duration::from_secs(60),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_converges() {
    let seed = seed_from_env(2);
    let s = converge_with_sync_once(
        LinkProfile::parse("edge").unwrap(),
        seed,
        Size(4, 10, 2),
        Duration::from_secs(90),
    )
    .await;
    assert!(
        s.emu.counters().dropped() > 0,
        "the edge link dropped nothing: {}",
        s.emu.counters()
    );
}

/// Every handset holds every document made, with the same heads, nothing pending.
fn all_docs(s: &Setup) -> anyhow::Result<()> {
    let phones = s.phones();
    let first = doc_heads(&phones[0].replica)?;
    let want = s.docs.len();
    anyhow::ensure!(first.len() == want, "{} of {want} documents", first.len());
    converged(&phones, &first)
}

/// Handsets stay live (`run`) while the link comes and goes; they must converge on their
/// own, before and after concurrent edits made while connected (or not).
/// `start_before_outage`: start the handsets this long before a scheduled outage, so the
/// first transfer is cut and must continue in the next up period.
async fn converge_live(
    profile: LinkProfile,
    seed: u64,
    size: Size,
    idle_secs: u64,
    within: Duration,
    start_before_outage: Option<Duration>,
) -> Setup {
    let t = Instant::now();
    let opts = PhoneOptions {
        backoff: Some(harness::quick_backoff(Duration::from_secs(2))),
        batch: None,
    };
    let mut s = setup(profile, seed, 3, size, idle_secs, opts).await;
    let watch = std::env::var_os("NETEM_VERBOSE").map(|_| harness::watch_status(&s.phones()));
    let mut outage_at = None;
    if let Some(lead) = start_before_outage {
        let now = s.emu.elapsed();
        let (next, _) = s
            .emu
            .outage_windows(now + Duration::from_secs(600))
            .into_iter()
            .find(|(start, _)| *start > now + lead)
            .expect("a scheduled outage");
        tokio::time::sleep(next - lead - now).await;
        outage_at = Some(Instant::now() + lead);
    }
    let stop = Arc::new(Notify::new());
    let mut runs = Vec::new();
    for p in &s.phones {
        let (client, stop) = (p.client.clone(), stop.clone());
        runs.push(tokio::spawn(async move { client.run(stop).await }));
    }
    let took = harness::eventually(within, || all_docs(&s)).await.unwrap();
    eprintln!(
        "offline work converged live after {took:?}: {}",
        s.emu.counters()
    );
    if let Some(at) = outage_at {
        assert!(
            Instant::now() > at,
            "the transfer finished before the outage: make the workload bigger"
        );
    }
    s.verify().await;
    s.concurrent_edits();
    let took = harness::eventually(within, || all_docs(&s)).await.unwrap();
    eprintln!("concurrent edits converged live after {took:?}");
    stop.notify_waiters();
    for r in runs {
        match tokio::time::timeout(Duration::from_secs(5), r).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => panic!("run ended with an error: {e}"),
            Ok(Err(e)) => panic!("run panicked: {e}"),
            Err(_) => {}
        }
    }
    if let Some(w) = watch {
        w.abort();
    }
    s.verify().await;
    s.report("converged live", t);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mountain_converges_across_outages() {
    let seed = seed_from_env(5);
    // The mountain's 20 s up / 120 s down, scaled to 5 s / 10 s; the relay drops a silent
    // connection after 8 s, so (as in the field) every outage kills the connection. The
    // workload takes more than one up period to move.
    let profile = LinkProfile::mountain().with_outages(Outages::Periodic {
        up: Duration::from_secs(5),
        down: Duration::from_secs(10),
    });
    let s = converge_live(
        profile,
        seed,
        Size(10, 30, 3),
        8,
        Duration::from_secs(150),
        Some(Duration::from_secs(2)),
    )
    .await;
    let k = s.emu.counters();
    assert!(
        k.up.outage_drops + k.down.outage_drops > 0,
        "no outage was met: {k}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terrible_link_converges() {
    let seed = seed_from_env(6);
    // Random outages scaled to ~10 s up / ~4 s down on average.
    let profile = LinkProfile::terrible().with_time_scale(0.25);
    let s = converge_live(
        profile,
        seed,
        Size(2, 3, 1),
        8,
        Duration::from_secs(150),
        None,
    )
    .await;
    assert!(s.emu.counters().dropped() > 0);
}
