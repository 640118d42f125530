//! `gridsync salvage`: the way back for a handset whose store's files were damaged (bit
//! rot on flash; ADR 0013). The store found it lost commits and went read-only, or does not
//! open at all: what still reads is copied into fresh files, the index is rebuilt, and when
//! anything could not be read the next `gridsync sync` bootstraps again from the relay;
//! the salvaged unsynced work goes out with it.

use anyhow::{Context, Result};
use clap::Args;
use gridsync_core::replica::Replica;
use gridsync_core::store::SledOptions;

use crate::config::key;
use crate::{Ctx, outln};

/// `gridsync salvage`.
#[derive(Debug, Args)]
pub struct SalvageArgs {}

/// Runs `gridsync salvage`.
pub fn run(ctx: &Ctx, _a: &SalvageArgs) -> Result<()> {
    let dir = ctx.store_dir()?;
    let options = SledOptions {
        key: Some(key::load_or_make(&dir)?),
        ..SledOptions::default()
    };
    let store = dir.join("store");
    let report = Replica::salvage(&store, options)
        .with_context(|| format!("salvaging {}", store.display()))?;
    if ctx.json {
        outln!("{}", serde_json::to_string(&report)?)?;
        return Ok(());
    }
    outln!(
        "salvaged {}: {} entries kept, {} unreadable left out, {} commit(s) the damaged files had lost",
        store.display(),
        report.entries,
        report.unreadable,
        report.lost_commits
    )?;
    outln!(
        "{} record(s) on this handset; {} outbox entr(y/ies) of records that did not survive dropped",
        report.records,
        report.dropped_outbox
    )?;
    if report.bootstrap {
        outln!(
            "next `gridsync sync` fetches every record again from the relay, then pushes what this handset still has unsynced"
        )?;
    } else {
        outln!(
            "next `gridsync sync` pushes what this handset still has unsynced; lost commits the relay had are pulled back"
        )?;
    }
    Ok(())
}
