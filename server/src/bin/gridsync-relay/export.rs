//! `gridsync-relay export`: a scope's households, visits and cases as CSV or JSONL files
//! (`docs/EXPORT.md`). Through the running relay (it writes the files) or, when none
//! runs, from the store directly with a progress bar on a terminal.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use gridsync_core::ids::GridPath;
use gridsync_server::RelayConfig;
use gridsync_server::admin::{self, AdminRequest, AdminResponse};
use gridsync_server::export::{ExportCounts, ExportFormat};

/// What to export, and where.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The grid subtree (`ankang/hanbin/laocheng`).
    #[arg(long)]
    scope: String,
    /// `csv` (one file per record kind and history) or `jsonl` (one record per line).
    #[arg(long, value_enum, default_value = "csv")]
    format: ExportFormat,
    /// The directory to write (made if missing).
    #[arg(long)]
    out: PathBuf,
}

/// Prints the rows written.
pub fn print_counts(c: &ExportCounts) {
    println!(
        "exported {} households ({} tier changes), {} visits, {} cases ({} timeline entries)",
        c.households, c.tier_changes, c.visits, c.cases, c.timeline_entries
    );
}

/// Runs the export.
pub fn export(config: &RelayConfig, args: ExportArgs, json: bool) -> Result<()> {
    let scope = GridPath::parse(&args.scope)?;
    let out = std::path::absolute(&args.out).context("the --out directory")?;
    let req = AdminRequest::Export {
        scope: scope.clone(),
        format: args.format,
        out: out.clone(),
    };
    let counts = match admin::request(&admin::socket_path(&config.data_dir), &req)? {
        Some(AdminResponse::Exported { counts }) => counts,
        Some(AdminResponse::Error { message }) => bail!(message),
        Some(other) => bail!("unexpected answer from the relay: {other:?}"),
        None => offline(config, &scope, args.format, &out)?,
    };
    if json {
        println!("{}", serde_json::to_string(&counts)?);
    } else {
        print_counts(&counts);
        println!("into {}", out.display());
    }
    Ok(())
}

/// No relay runs: opens the store and exports with a progress bar.
fn offline(
    config: &RelayConfig,
    scope: &GridPath,
    format: ExportFormat,
    out: &std::path::Path,
) -> Result<ExportCounts> {
    let hub = gridsync_server::open_configured_hub(config, 64)
        .with_context(|| format!("opening the store in {}", config.data_dir.display()))?;
    let total = hub.documents_within(scope)?;
    let bar = crate::backup::bar(total, crate::backup::DOCUMENTS_BAR);
    let counts = hub.export(scope, format, out, &|n| bar.set_position(n))?;
    bar.finish_and_clear();
    Ok(counts)
}
