//! Writing a data directory from a backup. The store is built in `store.restoring` beside
//! where it goes and renamed to `store` only once the whole file has been read and its
//! checksum matched, with a new log generation that records the fork; the identity files
//! are written last. A failure at any point leaves no `store`, so the command can be run
//! again.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gridsync_core::store::{Batch, SledStore, Store};
use gridsync_core::sync::wire::{Fork, Lineage};
use serde::{Deserialize, Serialize};

use super::format::{Reader, Record};
use super::{BackupError, IDENTITY_FILES, file_error, sync_parent};
use crate::hub::{
    ACTIVITY, DEVICES, GDOCS, GRID_DAYS, GRID_LOG, GRIDS, HASHES, LOG, RDOCS, RMETA, TOKENS,
    lineage,
};

/// Store operations per commit while restoring.
const OPS_PER_COMMIT: usize = 4096;

/// What a restore brought back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreSummary {
    /// The data directory written.
    pub data_dir: PathBuf,
    /// The log head of the backup: the restored relay's head.
    pub head: u64,
    /// The generation the backup was taken from.
    pub from_generation: u64,
    /// The restored relay's new generation.
    pub generation: u64,
    /// Store entries written.
    pub entries: u64,
    /// Identity files written.
    pub files: Vec<String>,
}

/// An identity file of the backup: its name in the data directory and its bytes.
type IdentityFile = (String, Vec<u8>);

/// Counts the bytes read through it, for a progress bar.
struct Counting<'a, R> {
    inner: R,
    read: u64,
    progress: &'a dyn Fn(u64),
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        (self.progress)(self.read);
        Ok(n)
    }
}

/// The store tree a record names (only the relay's own trees are restored).
fn tree(name: &str) -> Result<&'static str, BackupError> {
    [
        DEVICES, TOKENS, LOG, GRID_LOG, GRIDS, GDOCS, RDOCS, HASHES, RMETA, ACTIVITY, GRID_DAYS,
    ]
    .into_iter()
    .find(|t| *t == name)
    .ok_or(BackupError::Damaged)
}

/// Restores the backup `from` into `data_dir` (which must hold no store), calling
/// `progress` with the bytes of the file read so far.
pub fn restore(
    from: &Path,
    data_dir: &Path,
    cache_mib: u64,
    progress: &dyn Fn(u64),
) -> Result<RestoreSummary, BackupError> {
    let _span = tracing::info_span!("restore", from = %from.display()).entered();
    let store_dir = data_dir.join(crate::STORE_DIR);
    if store_dir.exists() {
        return Err(BackupError::NotEmpty(data_dir.to_path_buf()));
    }
    std::fs::create_dir_all(data_dir).map_err(file_error(data_dir))?;
    let staging = data_dir.join("store.restoring");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(file_error(&staging))?;
    }
    let file = std::fs::File::open(from).map_err(file_error(from))?;
    let input = Counting {
        inner: std::io::BufReader::new(file),
        read: 0,
        progress,
    };
    let built = build(input, &staging, cache_mib);
    let (summary, files) = match built {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    for (name, bytes) in &files {
        write_private(&data_dir.join(name), bytes)?;
    }
    std::fs::rename(&staging, &store_dir).map_err(file_error(&store_dir))?;
    sync_parent(&store_dir)?;
    crate::perms::restrict(data_dir).map_err(|e| BackupError::File {
        path: data_dir.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let summary = RestoreSummary {
        data_dir: data_dir.to_path_buf(),
        files: files.into_iter().map(|(n, _)| n).collect(),
        ..summary
    };
    tracing::info!(?summary, "restored");
    Ok(summary)
}

/// Reads every record into a new store at `staging`, then gives it its lineage; returns
/// the summary and the identity files (written once the store is complete).
fn build<R: Read>(
    input: R,
    staging: &Path,
    cache_mib: u64,
) -> Result<(RestoreSummary, Vec<IdentityFile>), BackupError> {
    let (mut reader, header) = Reader::open(input)?;
    let store = Arc::new(SledStore::open(staging, crate::store_options(cache_mib))?);
    let mut batch = Batch::new();
    let mut files = Vec::new();
    let mut entries = 0u64;
    while let Some(record) = reader.next_record()? {
        match record {
            Record::Put {
                tree: t,
                key,
                value,
            } => {
                batch.put(tree(&t)?, key, value);
                entries += 1;
            }
            Record::Delete { tree: t, key } => batch.delete(tree(&t)?, key),
            Record::File { name, bytes } if IDENTITY_FILES.contains(&name.as_str()) => {
                files.push((name, bytes));
            }
            Record::File { .. } | Record::End { .. } => return Err(BackupError::Damaged),
        }
        if batch.ops.len() >= OPS_PER_COMMIT {
            store.commit(std::mem::take(&mut batch))?;
        }
    }
    let mut forks = header.forks.clone();
    forks.push(Fork {
        generation: header.generation,
        head: header.head,
    });
    let new = Lineage {
        generation: lineage::random_generation()?,
        forks,
        backed_up: header.head,
    };
    lineage::stage_lineage(&mut batch, &new)?;
    store.commit(batch)?;
    store.flush()?;
    drop(store);
    let summary = RestoreSummary {
        data_dir: PathBuf::new(),
        head: header.head,
        from_generation: header.generation,
        generation: new.generation,
        entries,
        files: Vec::new(),
    };
    Ok((summary, files))
}

/// Writes a file owner-only through a temporary name, so it is whole or absent.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    use std::io::Write;
    let tmp = path.with_extension("restoring");
    let mut f = super::create_private(&tmp)?;
    f.write_all(bytes).map_err(file_error(&tmp))?;
    f.sync_all().map_err(file_error(&tmp))?;
    std::fs::rename(&tmp, path).map_err(file_error(path))
}
