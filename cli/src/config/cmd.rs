//! `gridsync config show` (the settings, token hidden) and `gridsync config set KEY VALUE`
//! (one setting, checked like `init` checks it, the rest kept): the way to change a grid,
//! worker, role or relay address without `init --force`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use gridsync_core::net::Trust;
use gridsync_core::net::tls::{client_config, parse_fingerprint};

use super::{
    CONFIG_FILE, HandsetConfig, RelaySettings, check_worker, read_config, resolve, write_config,
};
use crate::{Ctx, parse_grid, parse_role};

/// `gridsync config`.
#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Show the handset's settings (the enrollment token is hidden).
    Show,
    /// Change one setting: grid, worker, role, relay (HOST:PORT), token, fingerprint or ca.
    Set {
        /// grid, worker, role, relay, token, fingerprint or ca.
        key: String,
        /// The new value.
        value: String,
    },
}

/// The keys `config set` takes.
const KEYS: &str = "grid, worker, role, relay, token, fingerprint or ca";

/// Runs `gridsync config …`.
pub fn run(ctx: &Ctx, cmd: &ConfigCmd) -> Result<()> {
    let dir = ctx.store_dir()?;
    let mut config = read_config(&dir)?.ok_or_else(|| {
        anyhow!(
            "no handset in {}: run `gridsync init --store {} --offline` (or with --relay) first",
            dir.display(),
            dir.display()
        )
    })?;
    match cmd {
        ConfigCmd::Show => show(ctx, &dir, &config),
        ConfigCmd::Set { key, value } => {
            let said = set(&mut config, key, value.trim())?;
            write_config(&dir, &config)?;
            if ctx.json {
                return crate::output::json(&config.redacted());
            }
            crate::outln!("{said}")?;
            Ok(())
        }
    }
}

fn show(ctx: &Ctx, dir: &Path, c: &HandsetConfig) -> Result<()> {
    let c = c.redacted();
    if ctx.json {
        return crate::output::json(&c);
    }
    crate::outln!("settings     {}", dir.join(CONFIG_FILE).display())?;
    crate::outln!("device       {}", c.device)?;
    crate::outln!("worker       {}", c.worker)?;
    crate::outln!("role         {}", c.role)?;
    crate::outln!("grid         {}", c.grid.as_deref().unwrap_or("(none)"))?;
    match &c.relay {
        None => println!("relay        (none: offline)"),
        Some(r) => {
            crate::outln!("relay        {}", r.addr)?;
            crate::outln!("token        {}", r.token)?;
            if let Some(f) = &r.fingerprint {
                crate::outln!("fingerprint  {f}")?;
            }
            if let Some(ca) = &r.ca_file {
                crate::outln!("ca           {}", ca.display())?;
            }
        }
    }
    Ok(())
}

/// Applies `key = value` to `c`; returns what changed, in words.
fn set(c: &mut HandsetConfig, key: &str, value: &str) -> Result<String> {
    let key = key.trim().to_ascii_lowercase().replace(['-', '.'], "_");
    match key.as_str() {
        "grid" => {
            let g = parse_grid(value).map_err(|e| anyhow!(e))?.to_string();
            c.grid = Some(g.clone());
            Ok(format!("default grid is now {g}"))
        }
        "worker" => {
            c.worker = check_worker(value)?;
            Ok(format!("worker is now {}", c.worker))
        }
        "role" => {
            c.role = parse_role(value)
                .map_err(|e| anyhow!(e))?
                .as_str()
                .to_string();
            Ok(format!("default role is now {}", c.role))
        }
        "relay" | "relay_addr" | "addr" | "address" => {
            resolve(value)?;
            relay(c)?.addr = value.to_string();
            Ok(format!("relay is now {value} (token and trust kept)"))
        }
        "token" => {
            if value.is_empty() {
                bail!("an empty token: give the one `gridsync-relay device add` printed");
            }
            relay(c)?.token = value.to_string();
            Ok("enrollment token replaced".to_string())
        }
        "fingerprint" => {
            let fp = parse_fingerprint(value)?;
            let r = relay(c)?;
            (r.fingerprint, r.ca_file) = (Some(fp.clone()), None);
            Ok(format!("relay pinned to {fp}"))
        }
        "ca" | "ca_file" => {
            let ca = ca_file(value)?;
            let r = relay(c)?;
            (r.fingerprint, r.ca_file) = (None, Some(ca.clone()));
            Ok(format!("relay trusted by CA {}", ca.display()))
        }
        "device" => bail!(
            "the device name cannot change: the store belongs to it (set up another handset directory instead)"
        ),
        other => bail!("unknown setting {other:?}: use {KEYS}"),
    }
}

/// The configured relay, which `token`, `fingerprint`, `ca` and `relay` change.
fn relay(c: &mut HandsetConfig) -> Result<&mut RelaySettings> {
    c.relay.as_mut().ok_or_else(|| {
        anyhow!(
            "this handset has no relay yet: add one with `gridsync init --relay HOST:PORT --token T --fingerprint F`"
        )
    })
}

/// A CA roots file that parses, as an absolute path.
fn ca_file(value: &str) -> Result<PathBuf> {
    let path = PathBuf::from(value);
    let pem = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    client_config(&Trust::CaPem(pem))?;
    Ok(std::path::absolute(&path)?)
}
