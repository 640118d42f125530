//! `gridsync init`: sets up a handset directory, and refuses to delete a relay's settings
//! and enrollment token (shown only once by the relay) unless told so explicitly.

use std::path::Path;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use gridsync_core::GridPath;
use gridsync_core::model::Role;
use gridsync_core::net::Trust;
use gridsync_core::net::tls::{client_config, parse_fingerprint};

use super::{
    HandsetConfig, IN_USE_WAIT, RelaySettings, check_worker, open_replica, read_config, resolve,
    write_config,
};
use crate::{Ctx, parse_grid, parse_role};

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
    /// Replace existing settings (to change one, `gridsync config set KEY VALUE` is simpler).
    #[arg(long)]
    force: bool,
    /// With --force --offline on a handset that has a relay: delete its relay settings and
    /// enrollment token (which the relay shows only once).
    #[arg(long, requires = "offline")]
    drop_relay: bool,
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
    open_replica(&dir, &config.device, IN_USE_WAIT)?;
    write_config(&dir, &config)?;
    let old_token = existing.as_ref().and_then(|c| c.relay.as_ref());
    if let Some(old) =
        old_token.filter(|o| config.relay.as_ref().map(|r| &r.token) != Some(&o.token))
    {
        let what = if config.relay.is_some() {
            "replaced"
        } else {
            "deleted"
        };
        eprintln!(
            "gridsync: note: the settings for relay {} and its enrollment token were {what}",
            old.addr
        );
    }
    if ctx.json {
        return crate::output::json(&config.redacted());
    }
    print_ready(&dir, &config)
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
                "{} is already set up (device {}, {}): change one setting with `gridsync config set KEY VALUE`, or pass --force to replace them all",
                dir.display(),
                old.device,
                old.relay
                    .as_ref()
                    .map_or("offline".to_string(), |r| format!("relay {}", r.addr))
            );
        }
        if let Some(rel) = old
            .relay
            .as_ref()
            .filter(|_| a.relay.is_none() && !a.drop_relay)
        {
            bail!(
                "--offline would delete this handset's settings for relay {} and its enrollment token (shown only once): change a setting with `gridsync config set KEY VALUE` (such as `config set grid G`), or pass --drop-relay as well to go offline for good",
                rel.addr
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
    let worker = check_worker(&worker)?;
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

fn print_ready(dir: &Path, config: &HandsetConfig) -> Result<()> {
    crate::outln!("handset ready in {}", dir.display())?;
    crate::outln!(
        "  device {}, worker {} ({})",
        config.device,
        config.worker,
        config.role
    )?;
    if let Some(g) = &config.grid {
        crate::outln!("  default grid {g}")?;
    }
    match &config.relay {
        Some(r) => crate::outln!(
            "  relay {} trusted by {}",
            r.addr,
            r.fingerprint.clone().unwrap_or_else(|| format!(
                "CA {}",
                r.ca_file.as_deref().unwrap_or(Path::new("?")).display()
            ))
        ),
        None => crate::outln!("  offline: no relay yet (run init again with --relay to add one)"),
    }
}
