//! Backup and restore of a relay (ADR 0012).
//!
//! [`Hub::backup`] writes a consistent snapshot while the relay serves: the log up to the
//! durable head `H` read when it starts, every index of it, the documents as of `H`, the
//! devices and their tokens (copied together under the writer lock), the activity records
//! and the identity files (certificate, key, admin token hash). Pushes go on meanwhile: a
//! document a push changed after `H` is cut back to its state at `H` from the change
//! hashes the log gives each sequence. The file is written beside its name and renamed into
//! place once complete and synced, so a failed backup leaves no half file under the name.
//!
//! [`restore`] rebuilds a data directory from a backup, under a new log generation that
//! records the fork (the old generation and `H`): handsets that synced past `H` learn from
//! `Welcome` that the relay went back, and push again what they had acknowledged after it.
//!
//! # Layout
//! - `format.rs`: the file (magic, zstd stream of records, checksummed end).
//! - `snapshot.rs`: reading the store as of `H`.
//! - `restore.rs`: writing a data directory from a backup.

mod format;
mod restore;
mod snapshot;
#[cfg(test)]
mod tests;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use format::{Header, MAGIC};
pub use restore::{RestoreSummary, restore};

use crate::hub::Hub;

/// Files of the data directory a backup carries, when present.
pub const IDENTITY_FILES: [&str; 3] = ["relay-cert.der", "relay-key.der", crate::admin_token::FILE];

/// What can go wrong taking or restoring a backup.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Reading or writing the backup stream failed.
    #[error("backup stream: {0}")]
    Io(#[from] std::io::Error),
    /// The file does not start like a relay backup.
    #[error("not a gridsync relay backup (wrong magic bytes)")]
    NotABackup,
    /// The file ends before its end record: it was cut short.
    #[error("the backup ends early: it was cut short and cannot be restored")]
    Truncated,
    /// A record does not decode or the checksum at the end does not match.
    #[error("the backup is damaged (a record or its checksum does not match)")]
    Damaged,
    /// A record too large for the format.
    #[error("a record of {0} bytes is too large for a backup")]
    TooLarge(usize),
    /// A record could not be encoded.
    #[error("encoding a record: {0}")]
    Encode(#[from] postcard::Error),
    /// The directory to restore into already holds a relay store.
    #[error(
        "{} already holds a relay store: restore into a fresh data directory, or move the store aside first",
        .0.display()
    )]
    NotEmpty(PathBuf),
    /// The relay has no data directory to take identity files from.
    #[error("this relay was not opened from a data directory")]
    NoDataDir,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] gridsync_core::Error),
}

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupSummary {
    /// The file written.
    pub file: PathBuf,
    /// The log head of the snapshot.
    pub head: u64,
    /// The log generation backed up.
    pub generation: u64,
    /// Log entries (changes) in it.
    pub changes: u64,
    /// Documents in it.
    pub documents: u64,
    /// Enrolled devices in it.
    pub devices: u64,
    /// Records in the file.
    pub records: u64,
    /// Size of the file.
    pub bytes: u64,
}

pub(crate) fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::File {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `path` owner-only (0600), truncating what a failed attempt left.
pub(crate) fn create_private(path: &Path) -> Result<std::fs::File, BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(file_error(path))
}

/// Syncs the directory holding `path`, so a rename into it survives a crash.
pub(crate) fn sync_parent(path: &Path) -> Result<(), BackupError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(file_error(parent))
}

impl Hub {
    /// Writes a consistent backup of the relay to `to` (see the module docs), calling
    /// `progress` with the documents written so far; then records its head as backed up,
    /// so handsets may forget what they had acknowledged at or below it.
    pub fn backup(&self, to: &Path, progress: &dyn Fn(u64)) -> Result<BackupSummary, BackupError> {
        let _span = tracing::info_span!("backup", to = %to.display()).entered();
        let data_dir = self.data_dir().ok_or(BackupError::NoDataDir)?.to_path_buf();
        let mut partial = to.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let file = create_private(&partial)?;
        let written = self.write_backup(std::io::BufWriter::new(file), &data_dir, progress);
        let (file, mut summary) = match written {
            Ok(done) => done,
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                return Err(e);
            }
        };
        file.sync_all().map_err(file_error(&partial))?;
        summary.bytes = file.metadata().map_err(file_error(&partial))?.len();
        std::fs::rename(&partial, to).map_err(file_error(to))?;
        sync_parent(to)?;
        summary.file = to.to_path_buf();
        self.backed_up(summary.head)?;
        tracing::info!(?summary, "backup written");
        Ok(summary)
    }

    fn write_backup<W: Write>(
        &self,
        out: std::io::BufWriter<W>,
        data_dir: &Path,
        progress: &dyn Fn(u64),
    ) -> Result<(W, BackupSummary), BackupError> {
        let snapshot = snapshot::Snapshot::begin(self)?;
        let header = Header {
            generation: self.lineage().generation,
            forks: self.lineage().forks,
            head: snapshot.head(),
            created_at: gridsync_core::ids::now(),
            relay_version: env!("CARGO_PKG_VERSION").to_string(),
        };
        let mut w = format::Writer::new(out, &header)?;
        let counts = snapshot.write(self, &mut w, progress)?;
        for name in IDENTITY_FILES {
            let path = data_dir.join(name);
            match std::fs::read(&path) {
                Ok(bytes) => w.record(&format::Record::File {
                    name: name.to_string(),
                    bytes,
                })?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(file_error(&path)(e)),
            }
        }
        let (out, records) = w.finish()?;
        let file = out
            .into_inner()
            .map_err(|e| BackupError::Io(e.into_error()))?;
        let summary = BackupSummary {
            file: PathBuf::new(),
            head: header.head,
            generation: header.generation,
            changes: counts.changes,
            documents: counts.documents,
            devices: counts.devices,
            records,
            bytes: 0,
        };
        Ok((file, summary))
    }
}
