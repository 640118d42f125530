//! `gridsync-relay`: run the relay (`serve.rs`), administer devices (`device.rs`), export
//! (`export.rs`), back up and restore (`backup.rs`), make the admin API's token, print the
//! certificate fingerprint.

mod backup;
mod device;
mod export;
mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, Parser, Subcommand};
use gridsync_core::model::Role;
use gridsync_server::config::{DataDir, HttpListen, LogFormat};
use gridsync_server::{RelayConfig, admin_token, tls};

/// The gridsync relay: handsets sync their grids' households, visits and cases through it.
#[derive(Debug, Parser)]
#[command(name = "gridsync-relay", version, about)]
struct Cli {
    /// TOML configuration file (values there override the defaults; flags and environment override it).
    #[arg(long, global = true, env = "GRIDSYNC_RELAY_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory: store, certificate, admin socket (`serve` makes it; the other
    /// commands need a relay's existing one).
    #[arg(long, global = true, env = "GRIDSYNC_RELAY_DATA")]
    data_dir: Option<PathBuf>,
    /// Keep the relay's state in PostgreSQL (`postgres://user@host/db`), shared by any
    /// number of relay nodes, instead of the sled store in the data directory.
    #[arg(long, global = true, env = "GRIDSYNC_RELAY_STORE")]
    store: Option<String>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the relay (sled store under the data directory, self-signed TLS unless configured).
    Serve(ServeArgs),
    /// Enroll, list and revoke handsets.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Print the TLS certificate fingerprint handsets pin (making the certificate if needed).
    Fingerprint,
    /// Write a scope's households, visits and cases as CSV or JSONL files for the
    /// governance centre (docs/EXPORT.md).
    Export(export::ExportArgs),
    /// Write a consistent backup (store, certificate and key, devices) while the relay
    /// serves, or from the stopped relay's store.
    Backup(backup::BackupArgs),
    /// Bring a backup back into a data directory that holds no store (the relay stopped).
    Restore(backup::RestoreArgs),
    /// Copy a stopped sled relay into an empty PostgreSQL database, keeping its sequence
    /// numbers (handsets go on from their cursors); then serve with `--store`.
    Migrate {
        /// The sled relay's data directory (default: --data-dir).
        #[arg(long)]
        from: Option<PathBuf>,
        /// The PostgreSQL database (`postgres://user@host/db`).
        #[arg(long)]
        to: String,
    },
    /// Make a new token for the HTTP admin API and print it once (the relay keeps its
    /// hash; the previous token stops working at once).
    AdminToken,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// UDP address to listen on.
    #[arg(long, env = "GRIDSYNC_RELAY_LISTEN")]
    listen: Option<SocketAddr>,
    /// Connections served at once.
    #[arg(long, env = "GRIDSYNC_RELAY_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Seconds of silence before a connection is dropped.
    #[arg(long, env = "GRIDSYNC_RELAY_IDLE_TIMEOUT")]
    idle_timeout: Option<u64>,
    /// CA-signed certificate chain (PEM), instead of the self-signed certificate.
    #[arg(long, env = "GRIDSYNC_RELAY_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Key of --tls-cert (PEM).
    #[arg(long, env = "GRIDSYNC_RELAY_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Log filter, e.g. `info` or `gridsync_server=debug`.
    #[arg(long, env = "GRIDSYNC_RELAY_LOG")]
    log: Option<String>,
    /// Log lines as `text` or `json` (one object per line, for log shippers).
    #[arg(long, env = "GRIDSYNC_RELAY_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    /// TCP address of the operations listener (/metrics, /healthz, /readyz, /api/), or
    /// `off` [default: 127.0.0.1:4480].
    #[arg(long, env = "GRIDSYNC_RELAY_HTTP")]
    http: Option<HttpListen>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DeviceCommand {
    /// Enroll a handset for one worker and print its one-time token.
    Add {
        /// A name for the device (`wang-fang-phone`).
        #[arg(long)]
        name: String,
        /// The worker id the device writes as (author of its visits and case actions).
        #[arg(long)]
        worker: String,
        /// The worker's name as shown (default: the worker id).
        #[arg(long)]
        display_name: Option<String>,
        /// A role the worker acts in, the first being the default (repeat for several):
        /// grid_worker, grid_leader, community_staff, street_staff, supervisor (or 网格员,
        /// 网格长, 社区工作人员, 街道工作人员, 民主监督员).
        #[arg(long = "role", required = true, value_parser = Role::from_user)]
        roles: Vec<Role>,
        /// A grid subtree it may read and write (repeat for several).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
    /// Change the grid subtrees of a device (by id or name); the handset learns at its
    /// next contact, fetches the new grids and retires the ones it lost.
    Rescope {
        /// Device id or name.
        device: String,
        /// A grid subtree it may read and write from now on (repeat for several).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
    /// List enrolled devices: state (online, STUCK when unseen too long), last seen, lag.
    List,
    /// Show one device (by id or name): last seen, app, how far behind, refusals, last error.
    Show {
        /// Device id or name.
        device: String,
    },
    /// Give a device (by id or name) a new token, printed once; the old one logs in no more.
    RotateToken {
        /// Device id or name.
        device: String,
    },
    /// Revoke a device (by id or name): it is cut off at once; what it holds stays on it.
    Revoke {
        /// Device id or name.
        device: String,
    },
    /// Wipe a lost device (by id or name): at its next contact it erases its store and
    /// reports it; its unsent changes are not accepted. `device list` shows when.
    Wipe {
        /// Device id or name.
        device: String,
    },
}

fn main() {
    cap_malloc_arenas();
    let cli = Cli::parse();
    let json = cli.json;
    if let Err(e) = real_main(cli) {
        if json {
            println!("{}", serde_json::json!({ "error": format!("{e:#}") }));
        } else {
            eprintln!("gridsync-relay: {e:#}");
        }
        std::process::exit(1);
    }
}

fn load_config(cli: &Cli) -> Result<RelayConfig> {
    let mut config = match &cli.config {
        Some(path) => RelayConfig::from_file(path)?,
        None => RelayConfig::default(),
    };
    if let Some(d) = &cli.data_dir {
        config.data_dir = d.clone();
    }
    if let Some(s) = &cli.store {
        config.store = Some(s.clone());
    }
    config.check_store()?;
    Ok(config)
}

fn real_main(cli: Cli) -> Result<()> {
    let mut config = load_config(&cli)?;
    match cli.command {
        Command::Serve(args) => {
            if let Some(v) = args.listen {
                config.listen = v;
            }
            if let Some(v) = args.max_connections {
                config.max_connections = v;
            }
            if let Some(v) = args.idle_timeout {
                config.idle_timeout_secs = v;
            }
            if let Some(v) = args.tls_cert {
                config.tls_cert = Some(v);
            }
            if let Some(v) = args.tls_key {
                config.tls_key = Some(v);
            }
            if let Some(v) = args.log {
                config.log = v;
            }
            if let Some(v) = args.log_format {
                config.log_format = v;
            }
            if let Some(v) = args.http {
                config.http = v;
            }
            serve::serve(config, cli.json)
        }
        Command::Device(cmd) => {
            let enrolling = matches!(cmd, DeviceCommand::Add { .. });
            check_data_dir(&config, enrolling)?;
            device::device(&config, cmd, cli.json)
        }
        Command::Export(args) => {
            check_data_dir(&config, false)?;
            export::export(&config, args, cli.json)
        }
        Command::Backup(args) => {
            check_data_dir(&config, false)?;
            backup::backup(&config, args, cli.json)
        }
        Command::Restore(args) => backup::restore(&config, args, cli.json),
        Command::Migrate { from, to } => {
            let from = from.unwrap_or_else(|| config.data_dir.clone());
            backup::migrate(&from, &to, cli.json)
        }
        Command::AdminToken => {
            check_data_dir(&config, true)?;
            std::fs::create_dir_all(&config.data_dir)?;
            let token = admin_token::issue(&config.data_dir)?;
            if cli.json {
                println!("{}", serde_json::json!({ "admin_token": token }));
            } else {
                println!("admin token {token}");
                println!(
                    "(shown once; the relay keeps only its hash; send it as `Authorization: Bearer <token>`)"
                );
            }
            Ok(())
        }
        Command::Fingerprint => {
            check_data_dir(&config, true)?;
            let (identity, _) = tls::self_signed(&config.data_dir)?;
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({ "fingerprint": identity.fingerprint() })
                );
            } else {
                println!("{}", identity.fingerprint());
            }
            Ok(())
        }
    }
}

/// Administration works only on a relay's data directory, so that a missing or misspelled
/// `--data-dir` is an error and not a new, empty store the running relay never sees.
/// `first_start` (enrolling, the fingerprint) also takes an existing empty directory: a
/// relay's, made ready before its first `serve`. Creates nothing.
fn check_data_dir(config: &RelayConfig, first_start: bool) -> Result<()> {
    let dir = config.data_dir.display();
    let default = if config.data_dir == RelayConfig::default().data_dir {
        " (the default, as no --data-dir was given)"
    } else {
        ""
    };
    let fix = format!(
        "pass --data-dir with the directory the relay serves from, or start the relay there \
         first with `gridsync-relay --data-dir {dir} serve`"
    );
    match DataDir::inspect(&config.data_dir) {
        DataDir::Relay => Ok(()),
        DataDir::Empty if first_start => Ok(()),
        DataDir::Missing => bail!("no relay data directory {dir}{default}: {fix}"),
        DataDir::Empty => bail!("{dir}{default} holds no relay yet (it is empty): {fix}"),
        DataDir::Foreign => bail!(
            "{dir}{default} holds no relay (no store or certificate of gridsync-relay): {fix}"
        ),
    }
}

/// Caps glibc's malloc at two arenas. glibc gives each thread that allocates an arena of
/// its own (up to 8 per core), and the relay's threads come and go (`block_in_place`
/// hands a worker's queue to a fresh thread), so memory freed in one arena is not reused
/// by the next thread: a city reconnect peaked at 415 MiB with the default and 170 MiB
/// with two arenas, while mimalloc (528 MiB) and jemalloc (301 MiB) did worse (issue 16,
/// `BENCHMARKS.md`). Called first thing in `main`, before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn cap_malloc_arenas() {
    // SAFETY: mallopt only sets a malloc tunable; no other thread exists yet.
    let _ = unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn cap_malloc_arenas() {}
