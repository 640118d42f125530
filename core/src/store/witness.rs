//! A store that cannot lose silently (issue 12, ADR 0013). Every commit also writes a
//! commit counter into the database (tree [`COUNTER_TREE`], in the commit's own sled
//! transaction), and after every flush the counter the flush covered is written to a small
//! checksummed file outside sled, `gridsync-witness` in the store's directory. At open,
//! a database that holds an earlier counter than its witness lost commits it had made
//! durable (bit rot in its files: sled's recovery stops at the first damaged record and
//! drops everything after it, again at every open): the store opens read-only and says so.
//!
//! The witness is written after sled's flush returned and is not synced itself, so after
//! a power cut it can only be older than the database (never a false alarm). A witness that
//! does not pass its own checksum is ignored with a warning and written again.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use ring::digest::{SHA256, digest};

use crate::error::{Error, Result};

/// The sled tree holding the commit counter (not one of the store's trees).
pub(super) const COUNTER_TREE: &str = "__gridsync_commits";
/// Its one key.
pub(super) const COUNTER_KEY: &[u8] = b"n";
/// The witness file in the store's directory.
pub const WITNESS_FILE: &str = "gridsync-witness";

const MAGIC: &[u8; 4] = b"GSW1";
const LEN: usize = 4 + 8 + 20;

fn encode(counter: u64) -> [u8; LEN] {
    let mut out = [0u8; LEN];
    out[..4].copy_from_slice(MAGIC);
    out[4..12].copy_from_slice(&counter.to_le_bytes());
    let sum = digest(&SHA256, &out[..12]);
    out[12..].copy_from_slice(&sum.as_ref()[..20]);
    out
}

fn decode(bytes: &[u8]) -> Option<u64> {
    let bytes: &[u8; LEN] = bytes.try_into().ok()?;
    let counter = u64::from_le_bytes(bytes[4..12].try_into().ok()?);
    (encode(counter) == *bytes).then_some(counter)
}

/// The counter a database holds (0 for one made before counters were kept).
pub(super) fn db_counter(db: &sled::Db) -> Result<u64> {
    Ok(db
        .open_tree(COUNTER_TREE)?
        .get(COUNTER_KEY)?
        .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(0))
}

/// The counter the witness in `dir` names: `None` without a witness, or with one that does
/// not pass its checksum (logged).
pub(super) fn read(dir: &Path) -> Option<u64> {
    let path = dir.join(WITNESS_FILE);
    let bytes = std::fs::read(&path).ok()?;
    let counter = decode(&bytes);
    if counter.is_none() {
        tracing::warn!(path = %path.display(), "the store's witness is damaged; ignored");
    }
    counter
}

/// Compares a database's counter with its witness: `Some(lost commits)` when the
/// database holds fewer commits than the witness saw made durable.
pub(super) fn lost_commits(dir: &Path, db: &sled::Db) -> Result<Option<u64>> {
    let held = db_counter(db)?;
    Ok(read(dir)
        .filter(|witnessed| *witnessed > held)
        .map(|witnessed| witnessed - held))
}

/// The counter of a store's commits and its witness file.
#[derive(Debug)]
pub(super) struct Witness {
    path: PathBuf,
    /// The highest counter a commit has written (each commit's transaction counts up from
    /// the database's own value).
    counter: AtomicU64,
    /// The file, and the highest counter written to it.
    file: Mutex<(Option<File>, u64)>,
}

impl Witness {
    /// Starts from the database's counter; with `write`, witnesses it (a damaged store
    /// keeps the witness that tells what it lost).
    pub(super) fn open(dir: &Path, db: &sled::Db, write: bool) -> Result<Self> {
        let w = Witness {
            path: dir.join(WITNESS_FILE),
            counter: AtomicU64::new(db_counter(db)?),
            file: Mutex::new((None, 0)),
        };
        if write {
            w.write(w.current(), true)?;
        }
        Ok(w)
    }

    /// Notes a commit's counter (written in its transaction).
    pub(super) fn committed(&self, counter: u64) {
        self.counter.fetch_max(counter, Ordering::SeqCst);
    }

    /// The highest counter committed so far (read before a flush begins: the flush
    /// covers it).
    pub(super) fn current(&self) -> u64 {
        self.counter.load(Ordering::SeqCst)
    }

    /// Writes `counter` as witnessed durable (after the flush that covered it returned),
    /// unless a later one was written already.
    pub(super) fn witness(&self, counter: u64) -> Result<()> {
        self.write(counter, false)
    }

    fn write(&self, counter: u64, always: bool) -> Result<()> {
        let io = |e: std::io::Error| {
            Error::Storage(format!("writing the witness {}: {e}", self.path.display()))
        };
        let mut guard = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (file, written) = &mut *guard;
        if !always && counter <= *written {
            return Ok(());
        }
        if file.is_none() {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&self.path)
                .map_err(io)?;
            *file = Some(f);
        }
        if let Some(f) = file.as_mut() {
            f.seek(SeekFrom::Start(0)).map_err(io)?;
            f.write_all(&encode(counter)).map_err(io)?;
            f.set_len(LEN as u64).map_err(io)?;
        }
        *written = counter;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_witness_reads_back_and_a_damaged_one_is_ignored() {
        assert_eq!(decode(&encode(42)), Some(42));
        for at in 0..LEN {
            let mut bad = encode(42);
            bad[at] ^= 1;
            assert_eq!(decode(&bad), None, "flip at {at}");
        }
        assert_eq!(decode(&encode(42)[..LEN - 1]), None);
    }
}
