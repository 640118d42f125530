//! `gridsync-relay migrate`: a stopped sled relay's state copied into an empty
//! PostgreSQL database, every tree as it is, so the log keeps its sequence numbers and
//! generation: handsets synced against sled go on against PostgreSQL from their cursors,
//! downloading nothing again. The data directory stays the relay's (its certificate, admin
//! token and socket); start it with `--store postgres://…` from then on.
//!
//! The copy is paged (with progress) and checked: the target must hold no relay state, and
//! a copy that fails part-way is removed again, so the database is left empty or complete.

use std::path::Path;

use gridsync_core::error::Error;
use gridsync_core::store::{Batch, SledStore, Store, for_each_page};
use serde::Serialize;

use crate::config::DataDir;
use crate::hub::TREES;
use crate::pg::{PgStore, PgTarget};
use crate::{Result, STORE_DIR, store_options};

/// Entries copied per transaction.
const PAGE: usize = 2_000;

/// What a migration copied.
#[derive(Debug, Clone, Serialize)]
pub struct Migrated {
    /// Entries copied, over every tree.
    pub entries: u64,
    /// The log head (the last sequence number), the same on both sides.
    pub head: u64,
    /// The database, without its password.
    pub to: String,
}

/// Copies the sled relay in `from` (stopped) into the empty database `to`. `progress` is
/// told the entries copied so far, out of the total it is given first.
pub fn migrate(from: &Path, to: &PgTarget, progress: &dyn Fn(u64, u64)) -> Result<Migrated> {
    if DataDir::inspect(from) != DataDir::Relay || !from.join(STORE_DIR).exists() {
        return Err(Error::invalid(
            "from",
            format!("{} is not a sled relay's data directory", from.display()),
        )
        .into());
    }
    let source = SledStore::open(&from.join(STORE_DIR), store_options(64))?;
    let target = PgStore::open(to)?;
    if !target.is_empty()? {
        return Err(Error::invalid(
            "to",
            format!(
                "{} already holds a relay's state: migrate into an empty database",
                target.shown()
            ),
        )
        .into());
    }
    let total: u64 = TREES
        .iter()
        .map(|t| source.len(t).map(|n| n as u64))
        .sum::<gridsync_core::error::Result<u64>>()?;
    progress(0, total);
    match copy(&source, &target, total, progress) {
        Ok(entries) => {
            // Planner statistics for the new rows before the relay serves from them.
            target.vacuum_analyze()?;
            let head = crate::hub::read_head(&target)?;
            // From now on the data directory is a PostgreSQL relay's (its certificate).
            crate::mark_postgres(from, target.shown())?;
            tracing::info!(entries, head, to = %target.shown(), "relay migrated to PostgreSQL");
            Ok(Migrated {
                entries,
                head,
                to: target.shown().to_string(),
            })
        }
        Err(e) => {
            if let Err(cleanup) = target.clear() {
                tracing::error!(error = %cleanup, "removing the part-copy failed: empty the database by hand");
            }
            Err(e.into())
        }
    }
}

fn copy(
    source: &SledStore,
    target: &PgStore,
    total: u64,
    progress: &dyn Fn(u64, u64),
) -> gridsync_core::error::Result<u64> {
    let mut copied = 0u64;
    for &tree in TREES {
        for_each_page(source, tree, PAGE, |page| {
            let mut batch = Batch::new();
            for (k, v) in page {
                batch.put(tree, k.clone(), v.clone());
            }
            target.commit(batch)?;
            copied += page.len() as u64;
            progress(copied, total);
            Ok(())
        })?;
        let (from_len, to_len) = (source.len(tree)?, target.len(tree)?);
        if from_len != to_len {
            return Err(Error::Storage(format!(
                "tree {tree}: {from_len} entries in sled but {to_len} copied"
            )));
        }
    }
    Ok(copied)
}
