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
    /// A city reconnect: 10 grids of 2,000 households and a supervisor holding them all,
    /// 100 field days offline, then everyone reconnects at once.
    City,
    /// The relay load (100 handsets x 50 visits) on sled and on PostgreSQL with 1, 2 and 3
    /// relay nodes, and with 20,000 other devices enrolled (needs --pg).
    Nodes,
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
    /// The relay's operations listener during the sync scenarios: off, on (the default,
    /// idle) or scraped (`/metrics` every second).
    #[arg(long, value_enum, default_value_t)]
    ops: gridsync_tests::bench::scrape::OpsLoad,
    /// Store scenario: shuffle the characters of every note and case description, so that
    /// compression cannot learn the generator's phrase pools (a pessimistic stand-in for
    /// real notes).
    #[arg(long)]
    shuffled_text: bool,
    /// Keep the store scenario's data (`store-plain`, `store-encrypted`) in this directory
    /// instead of a temporary one.
    #[arg(long)]
    keep: Option<PathBuf>,
    /// The PostgreSQL server of `--scenario nodes` and `--on-postgres` (each run makes a
    /// schema of its own).
    #[arg(long, env = "GRIDSYNC_TEST_PG")]
    pg: Option<String>,
    /// The sync scenarios' relay keeps its state on the `--pg` server instead of sled.
    #[arg(long)]
    on_postgres: bool,
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
        /// The store's key, hex (an encrypted store).
        #[arg(long)]
        key: Option<String>,
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
    if let Some(Internal::StoreProbe {
        store,
        worker,
        now,
        key,
    }) = cli.internal
    {
        let key = match key {
            Some(k) => Some(gridsync_core::store::StoreKey::from_slice(&hex::decode(
                k,
            )?)?),
            None => None,
        };
        let f = bench::store::probe(&store, &worker, now, 5, key.as_ref())?;
        println!("{}", serde_json::to_string(&f)?);
        return Ok(());
    }
    let Some(scenario) = cli.scenario else {
        anyhow::bail!("choose a --scenario (store, granularity); see --help");
    };
    match scenario {
        Scenario::Store => {
            let dir = tempfile::tempdir()?;
            let root = cli.keep.clone().unwrap_or_else(|| dir.path().to_path_buf());
            let exe = std::env::current_exe()?;
            let key = gridsync_core::store::StoreKey::generate();
            let say = progress(cli.json);
            let mut runs = Vec::new();
            for (name, key) in [("plain", None), ("encrypted", Some(&key))] {
                say(&format!("{name} store"));
                let store_dir = root.join(format!("store-{name}"));
                runs.push(bench::store::run(
                    &store_dir,
                    &exe,
                    cli.seed,
                    cli.shuffled_text,
                    key,
                    &say,
                )?);
            }
            if cli.json {
                let v = serde_json::json!({ "plain": runs[0], "encrypted": runs[1] });
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("{}", bench::store_report::table(&runs[0], &runs[1]));
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
            let exe = relay_exe()?;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            let show = !cli.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
            let relay = bench::sync::RelaySetup {
                ops: cli.ops,
                store: match (cli.on_postgres, cli.pg.as_deref()) {
                    (false, _) => None,
                    (true, Some(url)) => Some(bench::nodes::fresh_store(url)?),
                    (true, None) => anyhow::bail!("--on-postgres needs --pg postgres://…"),
                },
            };
            let figures = rt.block_on(bench::sync::run(
                &exe,
                cli.seed,
                profile,
                relay,
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
        Scenario::City => {
            let exe = relay_exe()?;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            let config = bench::city_plan::CityConfig::city(cli.seed);
            let f = rt.block_on(bench::city::run(&exe, config, &progress(cli.json)))?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&f)?);
            } else {
                println!("{}", bench::city::table(&f));
            }
        }
        Scenario::Nodes => {
            let exe = relay_exe()?;
            let Some(pg) = cli.pg.as_deref() else {
                anyhow::bail!("--scenario nodes needs --pg postgres://… (or GRIDSYNC_TEST_PG)");
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            let say = progress(cli.json);
            let f = rt.block_on(bench::nodes::run(&exe, pg, 100, 50, cli.seed, &say))?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&f)?);
            } else {
                println!("{}", bench::nodes::table(&f));
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

/// The relay binary beside this one.
fn relay_exe() -> Result<PathBuf> {
    let exe = std::env::current_exe()?.with_file_name("gridsync-relay");
    anyhow::ensure!(
        exe.exists(),
        "{} not found: build it first (cargo build --release -p gridsync-server)",
        exe.display()
    );
    Ok(exe)
}
