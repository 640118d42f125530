//! `gridsync erase`: sign the handset out and leave nothing readable (issue 14). The store
//! destroys its key file first (crypto-shredding), then its files go, then the CLI's key
//! file and settings (with the enrollment token). Also what a remote wipe does
//! (`gridsync sync` when the relay says so).

use std::path::Path;

use anyhow::{Result, bail};
use clap::Args;

use crate::config::{self, Handset, key};
use crate::{Ctx, outln};

/// `gridsync erase`.
#[derive(Debug, Args)]
pub struct EraseArgs {
    /// Erase even though changes are not synced yet (they are lost).
    #[arg(long)]
    yes: bool,
}

/// Runs `gridsync erase`.
pub fn run(ctx: &Ctx, a: &EraseArgs) -> Result<()> {
    let dir = ctx.store_dir()?;
    match Handset::open(&dir) {
        Ok(h) => {
            let pending = h.replica.pending()?;
            let unsynced = pending.changes + pending.refused;
            if !a.yes {
                bail!(
                    "erase deletes every record on this handset for good{}; run `gridsync erase --yes` to go ahead",
                    if unsynced > 0 {
                        format!(", including {unsynced} changes the relay does not have")
                    } else {
                        String::new()
                    }
                );
            }
            h.replica.erase()?;
        }
        Err(e) if erased_already(&e) => {}
        Err(e) => return Err(e),
    }
    forget(&dir)?;
    if ctx.json {
        outln!(
            "{}",
            serde_json::json!({ "erased": dir.display().to_string() })
        )?;
    } else {
        outln!(
            "erased {}: the records are unreadable and removed, the enrollment is gone; `gridsync init` sets the handset up again",
            dir.display()
        )?;
    }
    Ok(())
}

/// What `gridsync sync` does when the relay wiped the handset: the store erased itself;
/// the key file and settings go too. The error is passed on (sync exits non-zero).
pub fn after_wipe(ctx: &Ctx, result: Result<()>) -> Result<()> {
    if let Err(e) = &result
        && matches!(
            e.downcast_ref::<gridsync_core::Error>(),
            Some(gridsync_core::Error::Wiped)
        )
    {
        forget(&ctx.store_dir()?)?;
    }
    result
}

fn erased_already(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<gridsync_core::Error>(),
        Some(gridsync_core::Error::Erased { .. })
    )
}

/// Removes what is left of an erased handset in `dir`: the store's remaining files, the key
/// file and the settings.
pub fn forget(dir: &Path) -> Result<()> {
    let store = dir.join("store");
    match std::fs::remove_dir_all(&store) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => bail!("removing {}: {e}", store.display()),
    }
    key::remove(dir)?;
    config::remove_config(dir)
}
