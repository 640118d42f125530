//! `gridsync-bench`: the benchmark suite. `gridsync-bench --scenario store` and friends;
//! `--json` for scripts. Figures and the commands live in `BENCHMARKS.md`.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use gridsync_tests::bench;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Scenario {
    /// A year of one grid in the on-device store: latency, open, queries, memory, disk.
    Store,
    /// Document granularity: per record vs per grid vs per grid-month.
    Granularity,
    /// Sync over QUIC to a relay process: bootstrap, reconnect, live delta, relay load.
    Sync,
    /// A fresh handset pulls a grid (300 households, 2,000 visits, 300 cases).
    Bootstrap,
    /// Five offline days (100 visits, 20 cases, 30 household edits), then a reconnect.
    Reconnect,
    /// 20 visits logged one by one between two live handsets.
    Live,
    /// 100 handsets pushing 50 visits each at once.
    Load,
}

/// The gridsync benchmark suite.
#[derive(Debug, Parser)]
#[command(name = "gridsync-bench")]
struct Cli {
    /// Which scenario.
    #[arg(long, value_enum)]
    scenario: Option<Scenario>,
    /// Workload seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Link profile for the sync scenarios: loopback, 4g, 3g, edge, mountain, terrible (or
    /// a spec such as `mountain@0.1`, `3g,loss=5%`). Without it handsets connect directly.
    #[arg(long)]
    profile: Option<String>,
    /// Store scenario: shuffle the characters of every note and case description, so that
    /// compression cannot learn the generator's phrase pools (a pessimistic stand-in for
    /// real notes).
    #[arg(long)]
    shuffled_text: bool,
    /// Keep the store scenario's data in this (new) directory instead of a temporary one.
    #[arg(long)]
    keep: Option<PathBuf>,
    #[command(subcommand)]
    internal: Option<Internal>,
}

#[derive(Debug, Subcommand)]
enum Internal {
    /// (internal) measure an existing store in a fresh process.
    #[command(hide = true)]
    StoreProbe {
        #[arg(long)]
        store: PathBuf,
        #[arg(long)]
        worker: String,
        #[arg(long)]
        now: i64,
    },
}

fn progress(json: bool) -> impl Fn(&str) {
    move |msg: &str| {
        if !json {
            eprintln!("… {msg}");
        }
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Some(Internal::StoreProbe { store, worker, now }) = cli.internal {
        let f = bench::store::probe(&store, &worker, now, 5)?;
        println!("{}", serde_json::to_string(&f)?);
        return Ok(());
    }
    let Some(scenario) = cli.scenario else {
        anyhow::bail!("choose a --scenario (store, granularity); see --help");
    };
    match scenario {
        Scenario::Store => {
            let dir = tempfile::tempdir()?;
            let store_dir = cli.keep.clone().unwrap_or_else(|| dir.path().join("store"));
            let exe = std::env::current_exe()?;
            let f = bench::store::run(
                &store_dir,
                &exe,
                cli.seed,
                cli.shuffled_text,
                &progress(cli.json),
            )?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&f)?);
            } else {
                let p = &f.probe;
                println!(
                    "store: one grid, one year ({} households, {} visits, {} cases, {} case actions)",
                    f.records.0, f.records.1, f.records.2, f.case_actions
                );
                println!("| figure | value | target |");
                println!("|---|---|---|");
                println!(
                    "| log visit p50 (durable) | {:.2} ms | |",
                    f.log_visit_p50_ms
                );
                println!(
                    "| log visit p99 (durable) | {:.2} ms | ≤ 5 ms |",
                    f.log_visit_p99_ms
                );
                println!(
                    "| cold open (median of 5) | {:.1} ms | ≤ 100 ms |",
                    p.open_ms
                );
                println!(
                    "| due visits query ({} due) | {:.2} ms | ≤ 10 ms |",
                    p.due_count, p.due_visits_ms
                );
                println!(
                    "| open cases query ({} open) | {:.2} ms | ≤ 10 ms |",
                    p.open_count, p.open_cases_ms
                );
                println!(
                    "| overdue cases query | {:.2} ms | ≤ 10 ms |",
                    p.overdue_cases_ms
                );
                println!(
                    "| resident memory after open + queries | {:.1} MiB | ≤ 50 MiB |",
                    p.rss_kib as f64 / 1024.0
                );
                println!(
                    "| disk against the records as stored | {:.2} MiB ({:.2}x postcard {:.2} MiB) | ≤ 3x |",
                    f.disk_bytes as f64 / 1048576.0,
                    f.stored_disk_ratio,
                    f.stored_postcard_bytes as f64 / 1048576.0
                );
                println!(
                    "| disk against the input forms (earlier comparison) | {:.2}x postcard {:.2} MiB | |",
                    f.disk_ratio,
                    f.postcard_bytes as f64 / 1048576.0
                );
                println!(
                    "| disk right after loading, before compaction | {:.2} MiB ({:.2}x); the reopen that compacts it took {:.0} ms | |",
                    f.disk_before_compaction as f64 / 1048576.0,
                    f.disk_before_compaction as f64 / f.postcard_bytes as f64,
                    f.compacting_open_ms
                );
                for (tree, n) in &f.live_bytes {
                    println!(
                        "| live keys+values in {tree} | {:.2} MiB | |",
                        *n as f64 / 1048576.0
                    );
                }
            }
        }
        Scenario::Sync
        | Scenario::Bootstrap
        | Scenario::Reconnect
        | Scenario::Live
        | Scenario::Load => {
            use bench::sync::Which;
            let which: Vec<Which> = match scenario {
                Scenario::Bootstrap => vec![Which::Bootstrap],
                Scenario::Reconnect => vec![Which::Reconnect],
                Scenario::Live => vec![Which::Live],
                Scenario::Load => vec![Which::Load],
                _ => vec![Which::Bootstrap, Which::Reconnect, Which::Live, Which::Load],
            };
            let profile = match &cli.profile {
                Some(p) => {
                    Some(gridsync_tests::netem::LinkProfile::parse(p).map_err(anyhow::Error::msg)?)
                }
                None => None,
            };
            let exe = std::env::current_exe()?.with_file_name("gridsync-relay");
            anyhow::ensure!(
                exe.exists(),
                "{} not found: build it first (cargo build --release -p gridsync-server)",
                exe.display()
            );
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            let show = !cli.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
            let figures = rt.block_on(bench::sync::run(
                &exe,
                cli.seed,
                profile,
                &which,
                &progress(cli.json),
                show,
            ))?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&figures)?);
            } else {
                if let Some(f) = figures.first() {
                    println!("link: {}", f.profile);
                }
                println!(
                    "| scenario | records | up | down | UDP up/down | msgs up/down | round trips | time to converge | floor: records (zstd -19) | (up+down)/floor | input forms (earlier floor) | (up+down)/inputs | relay CPU | relay peak RSS | up-windows that moved it |"
                );
                println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
                for f in figures {
                    let extra = f
                        .visits_per_s
                        .map(|v| format!(" ({v:.0} visits/s)"))
                        .unwrap_or_default();
                    let (round_trips, windows) = match &f.coverage {
                        Some(c) => (
                            "– (reconnecting until done)".to_string(),
                            format!("{}/{} ({} outages)", c.with_progress, c.windows, c.outages),
                        ),
                        None => (f.round_trips.to_string(), "–".to_string()),
                    };
                    println!(
                        "| {} | {} | {:.1} KiB | {:.1} KiB | {} | {}/{} | {} | {:.0} ms{} | {:.1} KiB | {:.2}x | {:.1} KiB | {:.2}x | {:.2} s | {:.1} MiB | {} |",
                        f.scenario,
                        f.records,
                        f.bytes_up as f64 / 1024.0,
                        f.bytes_down as f64 / 1024.0,
                        if f.udp_up + f.udp_down > 0 {
                            format!(
                                "{:.1}/{:.1} KiB",
                                f.udp_up as f64 / 1024.0,
                                f.udp_down as f64 / 1024.0
                            )
                        } else {
                            "–".to_string()
                        },
                        f.messages_up,
                        f.messages_down,
                        round_trips,
                        f.wall_ms,
                        extra,
                        f.floor_bytes as f64 / 1024.0,
                        f.ratio,
                        f.input_floor_bytes as f64 / 1024.0,
                        (f.bytes_up + f.bytes_down) as f64 / f.input_floor_bytes.max(1) as f64,
                        f.relay_cpu_s,
                        f.relay_peak_mib,
                        windows
                    );
                }
            }
        }
        Scenario::Granularity => {
            let layouts = bench::granularity::run(cli.seed)?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&layouts)?);
            } else {
                println!("| layout | documents | saved | load all | rewrite to retire a month |");
                println!("|---|---|---|---|---|");
                for l in layouts {
                    println!(
                        "| {} | {} | {:.0} KiB | {:.0} ms | {:.0} KiB |",
                        l.name,
                        l.documents,
                        l.saved_bytes as f64 / 1024.0,
                        l.load_all_ms,
                        l.retire_month_rewrite_bytes as f64 / 1024.0
                    );
                }
            }
        }
    }
    Ok(())
}
