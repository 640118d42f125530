//! `gridsync-relay backup` and `restore` (ADR 0012, docs/OPERATIONS.md). A backup goes
//! through the running relay (it writes the file while serving) or, when none runs, from
//! the store directly; both show progress on a terminal. A restore writes a data directory
//! that holds no store yet.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use gridsync_server::RelayConfig;
use gridsync_server::admin::{self, AdminRequest, AdminResponse};
use gridsync_server::backup::{BackupSummary, RestoreSummary};

/// Where to write a backup.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The backup file to write (replaced if it exists, once the new one is complete).
    #[arg(long)]
    to: PathBuf,
}

/// Which backup to restore.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup file.
    #[arg(long)]
    from: PathBuf,
}

/// The progress bar of a command that goes through the store's documents.
pub const DOCUMENTS_BAR: &str = "{bar:40} {pos}/{len} documents, {per_sec}, {eta} left";

/// A progress bar of `total` steps on stderr when it is a terminal (hidden otherwise).
pub fn bar(total: u64, template: &str) -> indicatif::ProgressBar {
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::new(total)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Takes a backup.
pub fn backup(config: &RelayConfig, args: BackupArgs, json: bool) -> Result<()> {
    not_on_postgres(config)?;
    let to = std::path::absolute(&args.to).context("the --to file")?;
    let req = AdminRequest::Backup { to: to.clone() };
    let summary = match admin::request(&admin::socket_path(&config.data_dir), &req)? {
        Some(AdminResponse::BackedUp { summary }) => summary,
        Some(AdminResponse::Error { message }) => bail!(message),
        Some(other) => bail!("unexpected answer from the relay: {other:?}"),
        None => offline(config, &to)?,
    };
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_backup(&summary);
    }
    Ok(())
}

/// Copies the sled relay in `from` into the database `to`, with a progress bar.
pub fn migrate(from: &Path, to: &str, json: bool) -> Result<()> {
    if !gridsync_server::pg::PgTarget::is_postgres(to) {
        anyhow::bail!("--to must be a postgres:// URL");
    }
    let bar = bar(0, "{bar:40} {pos}/{len} entries, {per_sec}, {eta} left");
    let show = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let target = gridsync_server::pg::PgTarget::new(to);
    let done = gridsync_server::migrate::migrate(from, &target, &show)
        .with_context(|| format!("migrating {} to PostgreSQL", from.display()))?;
    bar.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string(&done)?);
    } else {
        println!(
            "copied {} entries (log head {}) from {} into {}",
            done.entries,
            done.head,
            from.display(),
            done.to
        );
        println!(
            "serve from now on with: gridsync-relay serve --data-dir {} --store <the URL>",
            from.display()
        );
    }
    Ok(())
}

/// Backups and restores are the sled store's: a relay on PostgreSQL has the database's.
fn not_on_postgres(config: &RelayConfig) -> Result<()> {
    if config.store.is_some() {
        anyhow::bail!(
            "this relay keeps its state in PostgreSQL: back it up with the database's own \
             tools (pg_basebackup and WAL archiving, or pg_dump; docs/SCALING.md)"
        );
    }
    Ok(())
}

fn print_backup(s: &BackupSummary) {
    println!(
        "backed up the relay at log head {} (generation {:016x}): {} changes, {} documents, \
         {} devices, {} bytes",
        s.head, s.generation, s.changes, s.documents, s.devices, s.bytes
    );
    println!("into {}", s.file.display());
}

/// No relay runs: opens the store and writes the backup with a progress bar.
fn offline(config: &RelayConfig, to: &Path) -> Result<BackupSummary> {
    let hub = gridsync_server::open_hub(&config.data_dir, 64)
        .with_context(|| format!("opening the store in {}", config.data_dir.display()))?;
    let bar = bar(hub.document_count()? as u64, DOCUMENTS_BAR);
    let summary = hub.backup(to, &|n| bar.set_position(n))?;
    bar.finish_and_clear();
    Ok(summary)
}

/// Restores a backup into the data directory.
pub fn restore(config: &RelayConfig, args: RestoreArgs, json: bool) -> Result<()> {
    not_on_postgres(config)?;
    let size = std::fs::metadata(&args.from)
        .with_context(|| format!("reading {}", args.from.display()))?
        .len();
    let bar = bar(
        size,
        "{bar:40} {bytes}/{total_bytes}, {bytes_per_sec}, {eta} left",
    );
    let summary = gridsync_server::backup::restore(&args.from, &config.data_dir, 64, &|n| {
        bar.set_position(n)
    })?;
    bar.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_restore(&summary);
    }
    Ok(())
}

fn print_restore(s: &RestoreSummary) {
    println!(
        "restored the relay at log head {} into {} ({} store entries; files: {})",
        s.head,
        s.data_dir.display(),
        s.entries,
        if s.files.is_empty() {
            "none".to_string()
        } else {
            s.files.join(", ")
        }
    );
    println!(
        "new log generation {:016x} (was {:016x}): handsets that synced past head {} push \
         again what the relay lost when they next connect",
        s.generation, s.from_generation, s.head
    );
}
