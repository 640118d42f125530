//! What attacks before login cost a real handset (issue 12's benchmark): the latency of a
//! small sync (one visit logged, pushed and acknowledged) with no attack and during each
//! attack, in one run against one release relay process, and the relay's peak resident
//! memory during each (its `VmHWM`, reset to the resident memory at each phase's start;
//! the allocator keeps what earlier phases took, so compare a peak with its start). The attacks run in this
//! process ([`gridsync_tests::attack`]), on the same two cores as the relay and the handset.
//! `cargo build --release -p gridsync-server --bin gridsync-relay &&
//!  cargo run --release -p gridsync-tests --example attack_latency [SYNCS]`.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use gridsync_core::DocId;
use gridsync_core::GridPath;
use gridsync_core::model::{Address, NewHousehold, NewVisit, Tier, VisitMode};
use gridsync_tests::attack::{Attack, AttackStats, Attacker, reset_peak_rss, rss_kib};
use gridsync_tests::relay::{Handset, all_roles};
use gridsync_tests::relay_process::{ProcessOptions, RelayProcess};

const G1: &str = "ankang/hanbin/laocheng/xinhua/g1";
/// The relay's connection cap in this run (`--max-connections`).
const CAP: usize = 256;

/// One phase of the run: a name and the attacks running during it.
struct Phase {
    name: &'static str,
    attacks: Vec<Attack>,
}

/// What one phase measured.
struct Measured {
    name: &'static str,
    latencies_ms: Vec<f64>,
    failed_syncs: u32,
    start_rss_kib: u64,
    peak_rss_kib: u64,
    attack: AttackStats,
}

fn phases() -> Vec<Phase> {
    let never_hello = Attack::NeverHello { conns: CAP - 8 };
    let flood = Attack::StreamFlood {
        conns: 16,
        streams: 64,
        bytes: 8 << 20,
    };
    let bombs = Attack::Bombs { at_once: 4 };
    let failed = Attack::FailedLogins { sources: 8 };
    // With the others, strangers stay 20 below the cap: a full cap refuses the handset
    // until the Hello deadline frees a slot (`pre_auth.rs` tests that; it is no latency).
    let never_hello_with_others = Attack::NeverHello { conns: CAP - 48 };
    let phase = |name, attacks| Phase { name, attacks };
    vec![
        phase("no attack", vec![]),
        phase("never-Hello connections, cap - 8", vec![never_hello]),
        phase("bulk-stream flood before login", vec![flood]),
        phase("compression-bomb Hellos", vec![bombs]),
        phase("failed logins (8 sources)", vec![failed]),
        phase(
            "all four at once (never-Hello: cap - 48)",
            vec![never_hello_with_others, flood, bombs, failed],
        ),
        phase("no attack (again)", vec![]),
    ]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let syncs: u32 = std::env::args().nth(1).map_or(Ok(100), |s| s.parse())?;
    let exe = std::env::current_exe()?
        .parent()
        .and_then(|d| d.parent())
        .map(|d| d.join("gridsync-relay"))
        .context("no target directory")?;
    ensure!(exe.is_file(), "{} not found: build it first", exe.display());
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("relay");
    let token = RelayProcess::enroll_with(&exe, &data, "li", &[G1])?;
    let options = ProcessOptions {
        max_connections: Some(CAP),
        // Every bomb and failed login is a line at WARN or INFO.
        log_filter: "error",
        ..ProcessOptions::default()
    };
    let relay = RelayProcess::spawn(&exe, &data, options)?;
    let pid = relay.pid().context("no relay process")?;
    let handset = Handset::open(&tmp.path().join("li"), "li", relay.target(&token))?;
    handset.replica.store_grants(&all_roles("li", &[G1])?)?;
    let hid = handset.replica.register_household(&household()?, "li")?;
    ensure!(handset.client.sync_once().await?.acknowledged == 1);

    let mut visits = 0;
    let mut results = Vec::new();
    for phase in phases() {
        let start_rss_kib = rss_kib(pid);
        let reset = reset_peak_rss(pid);
        ensure!(
            reset,
            "cannot reset the relay's peak RSS (/proc/{pid}/clear_refs)"
        );
        let mut attackers = Vec::new();
        for a in &phase.attacks {
            attackers.push(Attacker::start(*a, relay.addr, &relay.fingerprint)?);
        }
        if !attackers.is_empty() {
            // Let the attack build up: connections made, streams tried.
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        let (latencies_ms, failed_syncs) = measure(&handset, &hid, syncs, &mut visits).await?;
        let peak_rss_kib = relay.peak_rss_kib();
        let mut attack = AttackStats::default();
        for a in attackers {
            let s = a.stop().await;
            attack.connections += s.connections;
            attack.refused += s.refused;
            attack.streams_opened += s.streams_opened;
            attack.bytes_sent += s.bytes_sent;
        }
        eprintln!("{}: done", phase.name);
        results.push(Measured {
            name: phase.name,
            latencies_ms,
            failed_syncs,
            start_rss_kib,
            peak_rss_kib,
            attack,
        });
        // Let the relay see the attackers' connections go.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    print(&results, syncs);
    Ok(())
}

/// Times `syncs` syncs, each of one new visit, retried until it is acknowledged; returns
/// the latencies (ms, retries included) and how many attempts failed.
async fn measure(
    handset: &Handset,
    hid: &DocId,
    syncs: u32,
    visits: &mut i64,
) -> Result<(Vec<f64>, u32)> {
    let mut latencies = Vec::new();
    let mut failed = 0;
    for _ in 0..syncs {
        *visits += 1;
        handset.replica.log_visit(&visit(hid, *visits))?;
        let t = Instant::now();
        loop {
            match handset.client.sync_once().await {
                Ok(r) if r.acknowledged == 1 => break,
                Ok(r) => anyhow::bail!("a sync acknowledged {} visits, not 1", r.acknowledged),
                Err(_) if failed < 1000 => {
                    failed += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok((latencies, failed))
}

/// The `q` quantile (nearest rank) of `v`.
fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[rank - 1]
}

fn print(results: &[Measured], syncs: u32) {
    let base = &results[0].latencies_ms;
    let (base_p50, base_p99) = (quantile(base, 0.5), quantile(base, 0.99));
    println!("{syncs} syncs per phase (one visit pushed and acknowledged each), relay cap {CAP}");
    println!(
        "| phase | median ms | p99 ms | median / no attack | p99 / no attack | failed attempts | relay RSS at start MiB | relay peak RSS MiB | attack: connections / refused at door / streams opened |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in results {
        let (p50, p99) = (
            quantile(&r.latencies_ms, 0.5),
            quantile(&r.latencies_ms, 0.99),
        );
        println!(
            "| {} | {p50:.1} | {p99:.1} | {:.2} | {:.2} | {} | {:.1} | {:.1} | {} / {} / {} |",
            r.name,
            p50 / base_p50,
            p99 / base_p99,
            r.failed_syncs,
            r.start_rss_kib as f64 / 1024.0,
            r.peak_rss_kib as f64 / 1024.0,
            r.attack.connections,
            r.attack.refused,
            r.attack.streams_opened,
        );
    }
}

fn household() -> Result<NewHousehold> {
    Ok(NewHousehold {
        grid: GridPath::parse(G1)?,
        address: Address::Urban {
            building: "1栋".into(),
            unit: "1单元".into(),
            room: "101".into(),
        },
        head: "基准".into(),
        members: vec![],
        phone: String::new(),
        tier: Tier::Red,
        tags: vec![],
        contacts: vec!["li".into()],
    })
}

fn visit(household: &DocId, n: i64) -> NewVisit {
    NewVisit {
        household: household.clone(),
        worker: "li".into(),
        at: 1_772_323_200_000 + n,
        mode: VisitMode::Phone,
        notes: format!("基准回访第{n}次。"),
        findings: vec![],
        follow_ups: vec![],
        geo: None,
    }
}
