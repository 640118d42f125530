//! The handset on disk: `DIR/gridsync-cli.toml` (device name, worker and role defaults,
//! relay address, token and how to trust the relay) next to the sled store in `DIR/store`,
//! and `gridsync init`, which writes them.

use std::io::IsTerminal;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use gridsync_core::model::Role;
use gridsync_core::net::{RelayTarget, Trust};
use gridsync_core::{GridPath, Replica};
use serde::{Deserialize, Serialize};

use crate::{parse_grid, parse_role};

mod cmd;
mod init;
pub mod key;

pub use cmd::{ConfigCmd, run as config_cmd};
pub use init::{InitArgs, init};

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

/// Reads `DIR/gridsync-cli.toml` (`None`: no handset set up there).
pub fn read_config(dir: &Path) -> Result<Option<HandsetConfig>> {
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
    let text = toml::to_string(config).context("encoding the settings")?;
    write_private(&dir.join(CONFIG_FILE), text.as_bytes())
}

/// Replaces `path` with `bytes` atomically (a `.tmp` sibling renamed over it), readable
/// by the owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("saving {}", path.display()))
}

/// Removes the settings file (sign-out: the enrollment token goes with it).
pub fn remove_config(dir: &Path) -> Result<()> {
    let path = dir.join(CONFIG_FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}

/// How long a command waits for a handset another gridsync holds (a `sync --watch` round).
pub const IN_USE_WAIT: Duration = Duration::from_secs(30);

/// Opens the sled replica of a handset directory, encrypted with its key (`key`). A
/// store another process holds (a
/// `sync --watch` round, which opens it only around each round) is retried for up to
/// `wait`, with one note on a terminal; after that the error still carries the typed
/// [`gridsync_core::Error::StoreInUse`] (see [`in_use`]).
pub fn open_replica(dir: &Path, device: &str, wait: Duration) -> Result<Replica> {
    let started = Instant::now();
    let mut told = false;
    let key = key::load_or_make(dir)?;
    loop {
        match Replica::open_encrypted(&dir.join("store"), device, key.clone()) {
            Err(e @ gridsync_core::Error::StoreInUse { .. }) => {
                if started.elapsed() >= wait {
                    let waited = if wait.is_zero() {
                        String::new()
                    } else {
                        format!(" for {} s", wait.as_secs())
                    };
                    return Err(anyhow::Error::new(e).context(format!(
                        "the handset was busy{waited}: another gridsync (such as a long `sync --watch` round) holds it; try again"
                    )));
                }
                if !told && std::io::stderr().is_terminal() {
                    told = true;
                    eprintln!(
                        "gridsync: waiting for the handset (another gridsync, such as `sync --watch`, is syncing it)…"
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            other => return other.map_err(anyhow::Error::from),
        }
    }
}

/// Whether `e` is a handset held by another process.
pub fn in_use(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<gridsync_core::Error>(),
        Some(gridsync_core::Error::StoreInUse { .. })
    )
}

impl Handset {
    /// Opens the handset in `dir`, which `gridsync init` must have set up, waiting up to
    /// [`IN_USE_WAIT`] if another gridsync holds it.
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_waiting(dir, IN_USE_WAIT)
    }

    /// Opens the handset in `dir`, waiting up to `wait` if another gridsync holds it.
    pub fn open_waiting(dir: &Path, wait: Duration) -> Result<Self> {
        let config = read_config(dir)?.ok_or_else(|| {
            anyhow!(
                "no handset in {}: run `gridsync init --store {} --offline` (or with --relay) first",
                dir.display(),
                dir.display()
            )
        })?;
        let replica = Arc::new(open_replica(dir, &config.device, wait)?);
        if let Some(grid) = &config.grid {
            // Who this handset writes as until the relay sends its grants.
            let grid = GridPath::parse(grid).map_err(|e| anyhow!("{CONFIG_FILE}: grid: {e}"))?;
            let role = parse_role(&config.role).map_err(|e| anyhow!("{CONFIG_FILE}: {e}"))?;
            replica.set_setup_identity(&config.worker, &config.worker, &[role], &grid)?;
        }
        Ok(Handset {
            dir: dir.to_path_buf(),
            config,
            replica,
        })
    }

    /// The role to act in: `given`, else the configured default.
    pub fn role(&self, given: Option<Role>) -> Result<Role> {
        if let Some(r) = given {
            return Ok(r);
        }
        let configured =
            parse_role(&self.config.role).map_err(|e| anyhow!("{CONFIG_FILE}: {e}"))?;
        // The relay's grants decide: the configured role if the worker holds it, else the
        // grants' default role.
        Ok(match self.replica.grants()? {
            Some(g) if !g.holds(configured) => g.role(None)?,
            _ => configured,
        })
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
                bail!(
                    "which grid? pass --grid G (or set a default with `gridsync config set grid G`)"
                )
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
        // Several nodes of one relay: `host1:4433,host2:4433` (docs/SCALING.md).
        let mut addrs = r
            .addr
            .split(',')
            .map(|a| resolve(a.trim()))
            .collect::<Result<Vec<_>>>()?
            .into_iter();
        let addr = addrs
            .next()
            .ok_or_else(|| anyhow!("no relay address in {CONFIG_FILE}"))?;
        Ok(RelayTarget {
            addr,
            other_nodes: addrs.collect(),
            server_name,
            trust,
            token: r.token.clone(),
        })
    }
}

/// A worker id as stored: trimmed, 1-64 characters on one line.
pub fn check_worker(worker: &str) -> Result<String> {
    let worker = worker.trim();
    if worker.is_empty() || worker.chars().count() > 64 || worker.contains(char::is_control) {
        bail!("invalid worker: a worker id of 1-64 characters on one line is required");
    }
    Ok(worker.to_string())
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
