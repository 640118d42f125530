//! The handset on disk: `DIR/gridsync-cli.toml` (device name, worker and role defaults,
//! relay address, token and how to trust the relay) next to the sled store in `DIR/store`,
//! and `gridsync init`, which writes them.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use gridsync_core::model::Role;
use gridsync_core::net::tls::{client_config, parse_fingerprint};
use gridsync_core::net::{RelayTarget, Trust};
use gridsync_core::{GridPath, Replica};
use serde::{Deserialize, Serialize};

use crate::{Ctx, parse_grid, parse_role};

/// The settings file's name inside the handset directory.
pub const CONFIG_FILE: &str = "gridsync-cli.toml";

/// How the handset reaches and trusts its relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelaySettings {
    /// `HOST:PORT` as given; resolved again at each sync.
    pub addr: String,
    /// The enrollment token `gridsync-relay device add` printed.
    pub token: String,
    /// The pinned certificate fingerprint (`sha256:…`), for a self-signed relay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// CA roots (PEM file) for a relay with a CA-signed certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

/// Everything in `gridsync-cli.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandsetConfig {
    /// The device name the store belongs to.
    pub device: String,
    /// The worker id written as "who" on visits, cases and tier changes.
    pub worker: String,
    /// The role case actions are taken in unless `--role` says otherwise.
    pub role: String,
    /// The grid new records go to unless `--grid` says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<String>,
    /// The relay, once configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<RelaySettings>,
}

impl HandsetConfig {
    /// The settings with the token hidden, for printing.
    pub fn redacted(&self) -> HandsetConfig {
        let mut c = self.clone();
        if let Some(r) = &mut c.relay {
            r.token = "(hidden)".into();
        }
        c
    }
}

/// An opened handset: its directory, its settings and its replica.
#[derive(Debug)]
pub struct Handset {
    /// The handset directory.
    pub dir: PathBuf,
    /// Its settings.
    pub config: HandsetConfig,
    /// Its replica.
    pub replica: Arc<Replica>,
}

fn read_config(dir: &Path) -> Result<Option<HandsetConfig>> {
    let path = dir.join(CONFIG_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(toml::from_str(&text).map_err(|e| {
            anyhow!("{} is damaged: {}", path.display(), e.message())
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes the settings atomically, readable by the owner only (the token is a secret).
pub fn write_config(dir: &Path, config: &HandsetConfig) -> Result<()> {
    use std::io::Write;
    let text = toml::to_string(config).context("encoding the settings")?;
    let tmp = dir.join(format!("{CONFIG_FILE}.tmp"));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(CONFIG_FILE))
        .with_context(|| format!("saving {}", dir.join(CONFIG_FILE).display()))
}

/// Opens the sled replica of a handset directory.
pub fn open_replica(dir: &Path, device: &str) -> Result<Replica> {
    Replica::open(&dir.join("store"), device).map_err(|e| match e {
        gridsync_core::Error::StoreInUse { .. } => {
            anyhow!("{e} (is another gridsync, such as `sync --watch`, using this handset?)")
        }
        e => anyhow!(e),
    })
}

impl Handset {
    /// Opens the handset in `dir`, which `gridsync init` must have set up.
    pub fn open(dir: &Path) -> Result<Self> {
        let config = read_config(dir)?.ok_or_else(|| {
            anyhow!(
                "no handset in {}: run `gridsync init --store {} --offline` (or with --relay) first",
                dir.display(),
                dir.display()
            )
        })?;
        let replica = Arc::new(open_replica(dir, &config.device)?);
        Ok(Handset {
            dir: dir.to_path_buf(),
            config,
            replica,
        })
    }

    /// The role to act in: `given`, else the configured default.
    pub fn role(&self, given: Option<Role>) -> Result<Role> {
        match given {
            Some(r) => Ok(r),
            None => parse_role(&self.config.role).map_err(|e| anyhow!("{CONFIG_FILE}: {e}")),
        }
    }

    /// The worker to write as: `given`, else the configured one.
    pub fn worker(&self, given: Option<&str>) -> String {
        given.unwrap_or(&self.config.worker).trim().to_string()
    }

    /// The grid for a new record: `given`, else the configured default.
    pub fn grid(&self, given: Option<&GridPath>) -> Result<GridPath> {
        match (given, &self.config.grid) {
            (Some(g), _) => Ok(g.clone()),
            (None, Some(g)) => parse_grid(g).map_err(|e| anyhow!("{CONFIG_FILE}: {e}")),
            (None, None) => {
                bail!("which grid? pass --grid G (or set a default with `gridsync init --grid G`)")
            }
        }
    }

    /// Where and how to reach the relay.
    pub fn target(&self) -> Result<RelayTarget> {
        let r = self.config.relay.as_ref().ok_or_else(|| {
            anyhow!(
                "no relay configured for this handset: run `gridsync init --store {} --relay HOST:PORT --token T --fingerprint F`",
                self.dir.display()
            )
        })?;
        let (trust, server_name) = match (&r.fingerprint, &r.ca_file) {
            (Some(fp), _) => (Trust::Pinned(fp.clone()), "gridsync-relay".to_string()),
            (None, Some(ca)) => {
                let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
                (Trust::CaPem(pem), host_of(&r.addr))
            }
            (None, None) => bail!("{CONFIG_FILE} has a relay but neither fingerprint nor ca_file"),
        };
        Ok(RelayTarget {
            addr: resolve(&r.addr)?,
            server_name,
            trust,
            token: r.token.clone(),
        })
    }
}

fn host_of(addr: &str) -> String {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_string()
}

/// Resolves `HOST:PORT` to a UDP address.
pub fn resolve(addr: &str) -> Result<SocketAddr> {
    let mut found = addr
        .to_socket_addrs()
        .map_err(|e| anyhow!("cannot resolve relay address {addr:?} (want HOST:PORT): {e}"))?;
    found
        .next()
        .ok_or_else(|| anyhow!("relay address {addr:?} resolves to nothing"))
}

/// `gridsync init`: set up a handset directory.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The relay's HOST:PORT (UDP).
    #[arg(long, value_name = "HOST:PORT")]
    relay: Option<String>,
    /// The enrollment token from `gridsync-relay device add`.
    #[arg(long)]
    token: Option<String>,
    /// The relay certificate's fingerprint, as the relay printed it (sha256:…).
    #[arg(long)]
    fingerprint: Option<String>,
    /// CA roots (PEM) instead of a fingerprint, for a CA-signed relay.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// No relay yet: work offline; run init again with --relay later.
    #[arg(long, conflicts_with_all = ["relay", "token", "fingerprint", "ca"])]
    offline: bool,
    /// Device name (default: the worker id, or "gridsync-cli").
    #[arg(long)]
    device: Option<String>,
    /// Worker id written as the author of visits, cases and tier changes.
    #[arg(long)]
    worker: Option<String>,
    /// Default role for case actions (grid_worker, grid_leader, community_staff, street_staff, supervisor).
    #[arg(long, value_parser = parse_role)]
    role: Option<Role>,
    /// Default grid path for new records.
    #[arg(long, value_parser = parse_grid)]
    grid: Option<GridPath>,
    /// Replace existing settings.
    #[arg(long)]
    force: bool,
}

fn relay_settings(a: &InitArgs, addr: &str) -> Result<RelaySettings> {
    resolve(addr)?;
    let token = a
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| anyhow!("--relay needs --token T (from `gridsync-relay device add`)"))?;
    let (fingerprint, ca_file) = match (&a.fingerprint, &a.ca) {
        (Some(_), Some(_)) => bail!("give either --fingerprint or --ca, not both"),
        (Some(fp), None) => (Some(parse_fingerprint(fp)?), None),
        (None, Some(ca)) => {
            let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
            client_config(&Trust::CaPem(pem))?;
            (None, Some(std::path::absolute(ca)?))
        }
        (None, None) => bail!(
            "--relay needs --fingerprint F (printed by gridsync-relay when it starts) or --ca FILE"
        ),
    };
    Ok(RelaySettings {
        addr: addr.trim().to_string(),
        token: token.to_string(),
        fingerprint,
        ca_file,
    })
}

/// Runs `gridsync init`.
pub fn init(ctx: &Ctx, a: &InitArgs) -> Result<()> {
    let dir = ctx.store_dir()?;
    let existing = read_config(&dir)?;
    check_init_args(a, &dir, existing.as_ref())?;
    let config = init_config(a, existing.as_ref())?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    open_replica(&dir, &config.device)?;
    write_config(&dir, &config)?;
    if ctx.json {
        return crate::output::json(&config.redacted());
    }
    print_ready(&dir, &config);
    Ok(())
}

/// Refuses flags that do not go together, and replacing a set-up handset without `--force`.
fn check_init_args(a: &InitArgs, dir: &Path, existing: Option<&HandsetConfig>) -> Result<()> {
    if !a.offline && a.relay.is_none() {
        bail!(
            "say where the relay is (--relay HOST:PORT --token T --fingerprint F), or pass --offline"
        );
    }
    if a.relay.is_none() && (a.token.is_some() || a.fingerprint.is_some() || a.ca.is_some()) {
        bail!("--token, --fingerprint and --ca need --relay HOST:PORT");
    }
    if let Some(old) = existing {
        let adding_relay = old.relay.is_none() && a.relay.is_some();
        if !a.force && !adding_relay {
            bail!(
                "{} is already set up (device {}, {}); pass --force to replace its settings",
                dir.display(),
                old.device,
                old.relay
                    .as_ref()
                    .map_or("offline".to_string(), |r| format!("relay {}", r.addr))
            );
        }
    }
    Ok(())
}

/// The new settings: the flags given, else what the handset had, else the defaults.
fn init_config(a: &InitArgs, existing: Option<&HandsetConfig>) -> Result<HandsetConfig> {
    let relay = match &a.relay {
        Some(addr) => Some(relay_settings(a, addr)?),
        None => None,
    };
    let device = a
        .device
        .clone()
        .or_else(|| existing.map(|c| c.device.clone()))
        .or_else(|| a.worker.clone())
        .unwrap_or_else(|| "gridsync-cli".to_string());
    let worker = a
        .worker
        .clone()
        .or_else(|| existing.map(|c| c.worker.clone()))
        .unwrap_or_else(|| device.clone());
    let worker = worker.trim().to_string();
    if worker.is_empty() || worker.chars().count() > 64 || worker.contains(char::is_control) {
        bail!("invalid worker: a worker id of 1-64 characters on one line is required");
    }
    let role = a
        .role
        .map(|r| r.as_str().to_string())
        .or_else(|| existing.map(|c| c.role.clone()))
        .unwrap_or_else(|| Role::GridWorker.as_str().to_string());
    let grid = a
        .grid
        .as_ref()
        .map(|g| g.to_string())
        .or_else(|| existing.and_then(|c| c.grid.clone()));
    Ok(HandsetConfig {
        device: device.trim().to_string(),
        worker,
        role,
        grid,
        relay,
    })
}

fn print_ready(dir: &Path, config: &HandsetConfig) {
    println!("handset ready in {}", dir.display());
    println!(
        "  device {}, worker {} ({})",
        config.device, config.worker, config.role
    );
    if let Some(g) = &config.grid {
        println!("  default grid {g}");
    }
    match &config.relay {
        Some(r) => println!(
            "  relay {} trusted by {}",
            r.addr,
            r.fingerprint.clone().unwrap_or_else(|| format!(
                "CA {}",
                r.ca_file.as_deref().unwrap_or(Path::new("?")).display()
            ))
        ),
        None => println!("  offline: no relay yet (run init again with --relay to add one)"),
    }
}
