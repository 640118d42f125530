//! `gridsync`: a grid worker's handset on the command line, for demos, operators and smoke
//! tests. Households, visits and cases are written to a local sled replica offline and
//! synced through a relay over QUIC.
//!
//! Every command that prints data takes `--json`. Errors are one line on stderr
//! (`gridsync: <message>`), or `{"error": "<message>"}` on stdout with `--json`, and a
//! non-zero exit status (2 for a malformed command line, 1 otherwise). When stdout's reader
//! goes away (`gridsync household list | head -1`), the command stops quietly with status 0.

mod case;
mod config;
mod demo;
mod enroll;
mod erase;
mod household;
mod out;
mod output;
mod progress;
mod refused;
mod salvage;
mod sync;
mod visit;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::error::ErrorKind;
use clap::{Parser, Subcommand};
use gridsync_core::model::{Level, Role, Tier, TriageClass, VisitMode};
use gridsync_core::workflow::CaseStatus;
use gridsync_core::{GridPath, Timestamp};

/// A gridsync handset on the command line.
#[derive(Debug, Parser)]
#[command(name = "gridsync", version, about, max_term_width = 100)]
struct Cli {
    /// The handset directory (settings in gridsync-cli.toml, the sled store in store/).
    #[arg(long, global = true, env = "GRIDSYNC_STORE", value_name = "DIR")]
    store: Option<PathBuf>,
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Set up a handset: device, worker, and the relay (or --offline).
    Init(config::InitArgs),
    /// Show or change the handset's settings (grid, worker, role, relay …).
    #[command(subcommand)]
    Config(config::ConfigCmd),
    /// Register, list, show and edit households.
    #[command(subcommand)]
    Household(household::HouseholdCmd),
    /// Log and list visits (the people's-condition diary).
    #[command(subcommand)]
    Visit(visit::VisitCmd),
    /// Report, act on, list and show cases.
    #[command(subcommand)]
    Case(case::CaseCmd),
    /// Households due for a visit, most urgent first.
    Due(visit::DueArgs),
    /// Sync with the relay once (push, then pull until caught up), or stay connected.
    Sync(sync::SyncArgs),
    /// Pending and refused changes, last sync, relay settings and record counts.
    Status,
    /// Records whose changes the relay refused: list them, or discard them from this handset.
    #[command(subcommand)]
    Refused(refused::RefusedCmd),
    /// Sign out: make this handset's records unreadable and remove them, with its key
    /// file and enrollment.
    Erase(erase::EraseArgs),
    /// Copy what still reads of a damaged store into fresh files (after bit rot on the
    /// phone's flash), then sync to get the rest back from the relay.
    Salvage(salvage::SalvageArgs),
    /// Run a relay and three handsets in-process and show them converge.
    Demo(demo::DemoArgs),
}

/// What every command gets: where the handset is and how to print.
#[derive(Debug)]
pub struct Ctx {
    store: Option<PathBuf>,
    /// Print JSON.
    pub json: bool,
}

impl Ctx {
    /// The handset directory.
    pub fn store_dir(&self) -> Result<PathBuf> {
        self.store
            .clone()
            .ok_or_else(|| anyhow!("which handset? pass --store DIR or set GRIDSYNC_STORE"))
    }

    /// Opens the handset.
    pub fn handset(&self) -> Result<config::Handset> {
        config::Handset::open(&self.store_dir()?)
    }
}

/// An error whose message the command already printed (as part of its JSON output).
#[derive(Debug)]
pub struct Reported(pub String);

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Reported {}

/// Parses a role: `grid_worker`, `grid-worker` or its Chinese name (网格员 …).
pub fn parse_role(s: &str) -> Result<Role, String> {
    Role::from_user(s)
}

/// Parses a grid path.
pub fn parse_grid(s: &str) -> Result<GridPath, String> {
    GridPath::parse(s.trim()).map_err(|e| e.to_string())
}

/// Parses a tier: red/yellow/green or 红/黄/绿.
pub fn parse_tier(s: &str) -> Result<Tier, String> {
    Tier::parse(s.trim().to_lowercase().as_str())
        .ok_or_else(|| format!("unknown tier {s:?}: use red, yellow or green (红/黄/绿)"))
}

/// Parses a triage class: big/small/private or 大事/小事/私事.
pub fn parse_class(s: &str) -> Result<TriageClass, String> {
    TriageClass::parse(s.trim())
        .ok_or_else(|| format!("unknown class {s:?}: use big, small or private (大事/小事/私事)"))
}

/// Parses a handling level.
pub fn parse_level(s: &str) -> Result<Level, String> {
    Level::parse(s.trim())
        .ok_or_else(|| format!("unknown level {s:?}: use grid, community or street"))
}

/// Parses a case status.
pub fn parse_status(s: &str) -> Result<CaseStatus, String> {
    CaseStatus::parse(s.trim().replace('-', "_").as_str()).ok_or_else(|| {
        let all: Vec<&str> = CaseStatus::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown status {s:?}: use one of {}", all.join(", "))
    })
}

/// Parses a visit mode: door, phone or courtyard.
pub fn parse_mode(s: &str) -> Result<VisitMode, String> {
    let t = s.trim().replace('-', "_");
    VisitMode::parse(&t)
        .or(match t.as_str() {
            "door" | "入户" => Some(VisitMode::DoorToDoor),
            "电话" => Some(VisitMode::Phone),
            "courtyard" | "院落会" => Some(VisitMode::CourtyardMeeting),
            _ => None,
        })
        .ok_or_else(|| format!("unknown visit mode {s:?}: use door, phone or courtyard"))
}

/// Parses a Beijing time `YYYY-MM-DD HH:MM` or date `YYYY-MM-DD`.
pub fn parse_when(s: &str) -> Result<Timestamp, String> {
    output::parse_time(s).map_err(|e| e.to_string())
}

fn run(cli: Cli) -> Result<()> {
    let ctx = Ctx {
        store: cli.store,
        json: cli.json,
    };
    match cli.command {
        Command::Init(a) => config::init(&ctx, &a),
        Command::Config(c) => config::config_cmd(&ctx, &c),
        Command::Household(c) => household::run(&ctx, c),
        Command::Visit(c) => visit::run(&ctx, c),
        Command::Case(c) => case::run(&ctx, c),
        Command::Due(a) => visit::due(&ctx, &a),
        Command::Sync(a) => erase::after_wipe(&ctx, sync::sync(&ctx, &a)),
        Command::Status => sync::status(&ctx),
        Command::Refused(c) => refused::run(&ctx, c),
        Command::Erase(a) => erase::run(&ctx, &a),
        Command::Salvage(a) => salvage::run(&ctx, &a),
        Command::Demo(a) => demo::run(&ctx, &a),
    }
}

/// Prints one error line (or a JSON error object).
fn report(json: bool, message: &str) {
    let message = message.replace(['\n', '\r'], " ");
    if json {
        let _ = outln!("{}", serde_json::json!({ "error": message }));
    } else {
        eprintln!("gridsync: {message}");
    }
}

/// A clap error as one line: its first line, plus the possible values when it lists them.
fn clap_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or("bad command line").trim();
    let mut out = first.strip_prefix("error: ").unwrap_or(first).to_string();
    let listing = out.ends_with(':');
    for l in lines {
        let indented = l.starts_with(char::is_whitespace);
        let t = l.trim();
        if (listing && indented) || t.starts_with("[possible values") || t.starts_with("tip:") {
            out.push(' ');
            out.push_str(t);
        }
    }
    out.push_str(" (see --help)");
    out
}

fn main() -> ExitCode {
    let json = std::env::args_os().any(|a| a == "--json");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    ExitCode::SUCCESS
                }
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    ExitCode::from(2)
                }
                _ => {
                    report(json, &clap_line(&e));
                    ExitCode::from(2)
                }
            };
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("GRIDSYNC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let json = cli.json;
    match run(cli).map_err(enroll::explain) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if out::is_closed(&e) => ExitCode::SUCCESS,
        Err(e) => {
            if e.downcast_ref::<Reported>().is_none() {
                report(json, &format!("{e:#}"));
            }
            ExitCode::FAILURE
        }
    }
}
