//! `gridsync-relay`: run the relay, and enroll, list and revoke devices.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use gridsync_core::ids::GridPath;
use gridsync_core::model::{Grants, Role};
use gridsync_server::admin::{self, AdminRequest, AdminResponse};
use gridsync_server::config::DataDir;
use gridsync_server::{Limits, RelayConfig, tls};

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
}

#[derive(Debug, Subcommand)]
enum DeviceCommand {
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
    /// List enrolled devices.
    List,
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
            serve(config, cli.json)
        }
        Command::Device(cmd) => {
            let enrolling = matches!(cmd, DeviceCommand::Add { .. });
            check_data_dir(&config, enrolling)?;
            device(&config, cmd, cli.json)
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

fn serve(config: RelayConfig, json: bool) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&config.log).context("--log filter")?,
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: a log file or a journal gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let hub = gridsync_server::open_hub(&config.data_dir, config.cache_mib).with_context(|| {
        format!(
            "opening the store in {} (is another gridsync-relay using it?)",
            config.data_dir.display()
        )
    })?;
    let (identity, made) = match (&config.tls_cert, &config.tls_key) {
        (Some(c), Some(k)) => (tls::from_pem(c, k)?, false),
        (None, None) => tls::self_signed(&config.data_dir)?,
        _ => bail!("tls_cert and tls_key go together"),
    };
    gridsync_server::perms::restrict(&config.data_dir)?;
    let fingerprint = identity.fingerprint();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let endpoint = gridsync_server::bind(config.listen, tls::server_config(identity, config.idle_timeout_secs)?)?;
        let addr = endpoint.local_addr()?;
        let hub = Arc::new(hub);
        let documents = hub.document_count()?;
        if json {
            println!("{}", serde_json::json!({ "listening": addr.to_string(), "fingerprint": fingerprint, "data_dir": config.data_dir, "documents": documents }));
        } else {
            println!("gridsync-relay listening on {addr} (UDP/QUIC)");
            println!("certificate fingerprint {fingerprint}{}", if made { " (new self-signed certificate)" } else { "" });
            println!("data in {} ({documents} documents)", config.data_dir.display());
        }
        let (admin_stop, admin_rx) = tokio::sync::watch::channel(false);
        let admin_task = tokio::spawn(admin::serve(admin::socket_path(&config.data_dir), hub.clone(), admin_rx));
        let limits = Limits {
            max_connections: config.max_connections,
            drain: Duration::from_secs(10),
            ..Limits::default()
        };
        gridsync_server::run(endpoint, hub, limits, shutdown_signal()).await?;
        let _ = admin_stop.send(true);
        let _ = admin_task.await;
        Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn device(config: &RelayConfig, cmd: DeviceCommand, json: bool) -> Result<()> {
    let req = match cmd {
        DeviceCommand::Add {
            name,
            worker,
            display_name,
            roles,
            scopes,
        } => AdminRequest::Add {
            name,
            grants: Grants {
                display_name: display_name.unwrap_or_else(|| worker.clone()),
                worker,
                roles,
                scopes: parse_scopes(&scopes)?,
            },
        },
        DeviceCommand::Rescope { device, scopes } => AdminRequest::Rescope {
            device,
            scopes: parse_scopes(&scopes)?,
        },
        DeviceCommand::List => AdminRequest::List,
        DeviceCommand::Revoke { device } => AdminRequest::Revoke { device },
        DeviceCommand::Wipe { device } => AdminRequest::Wipe { device },
    };
    let socket = admin::socket_path(&config.data_dir);
    let resp = match admin::request(&socket, &req)? {
        Some(r) => r,
        None => {
            let hub = gridsync_server::open_hub(&config.data_dir, 8).with_context(|| {
                format!("opening the store in {} (a relay is running but its admin socket did not answer?)", config.data_dir.display())
            })?;
            admin::execute(&hub, req)
        }
    };
    if json {
        println!("{}", serde_json::to_string(&resp)?);
        if let AdminResponse::Error { .. } = resp {
            std::process::exit(1);
        }
        return Ok(());
    }
    match resp {
        AdminResponse::Enrolled { device, token } => {
            println!(
                "enrolled {} ({}) for worker {} ({}) as {} in {}",
                device.name,
                device.id,
                device.grants.worker,
                device.grants.display_name,
                device.grants.role_names(),
                device.grants.scope_names()
            );
            println!("token {token}");
            println!("(shown once; the relay keeps only its hash)");
        }
        AdminResponse::Devices { devices } => {
            if devices.is_empty() {
                println!("no devices enrolled");
            }
            for d in devices {
                let state = match (d.wiped_at, d.revoked_at, d.wipe_requested_at) {
                    (Some(at), _, _) => format!("wiped at {}", utc(at)),
                    (None, None, Some(at)) => format!("wipe pending since {}", utc(at)),
                    _ => d.state().to_string(),
                };
                println!(
                    "{}  {:<24} {:<8} {:<12} {:<16} {}",
                    d.id,
                    d.name,
                    state,
                    d.grants.worker,
                    d.grants.role_names(),
                    d.grants.scope_names()
                );
            }
        }
        AdminResponse::Revoked { device } => println!("revoked {} ({})", device.name, device.id),
        AdminResponse::Rescoped { device } => println!(
            "rescoped {} ({}) to {}; the handset learns at its next contact",
            device.name,
            device.id,
            device.grants.scope_names()
        ),
        AdminResponse::WipeRequested { device } => println!(
            "wipe requested for {} ({}): at its next contact it erases its store; `device list` shows when it has",
            device.name, device.id
        ),
        AdminResponse::Error { message } => bail!(message),
    }
    Ok(())
}

/// A time (ms since the epoch) as UTC, `2026-12-02T06:10:00Z`.
fn utc(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{ms} ms"))
}

fn parse_scopes(scopes: &[String]) -> Result<Vec<GridPath>> {
    Ok(scopes
        .iter()
        .map(|s| GridPath::parse(s))
        .collect::<Result<Vec<_>, _>>()?)
}
