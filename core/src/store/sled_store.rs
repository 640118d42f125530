//! The embedded default [`Store`]: sled 0.34, one named sled tree per store tree, each
//! commit a multi-tree sled transaction followed (by default) by a flush (fsync), so a
//! commit that returned `Ok` survives `kill -9` and power loss. The relay turns the
//! per-commit flush off and flushes once per group of commits (see [`Store`]).
//!
//! Opened with a [`StoreKey`], every value is sealed (`store::cipher`, ADR 0008); a
//! plaintext store opened with a key for the first time is converted by the same
//! crash-safe copy a compaction makes.

use std::collections::HashMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

use super::cipher::{Cipher, StoreKey};
use super::codec::{self, Codec};
use super::sled_copy::copy_if_due;
use super::sled_expect::check_expected;
use super::witness::{self, COUNTER_KEY, COUNTER_TREE, Witness};
use super::{Batch, Op, Scan, Store, compact, keyring, prefix_end, sled_open, trees};
use crate::error::{Error, Result};

/// File in the store directory that remembers the size right after the last compaction.
pub(super) const COMPACTED_MARKER: &str = "gridsync-compacted-size";

/// zstd level of a handset's pages (ADR 0006): visit notes and ids shrink to less than
/// half, for a little CPU per page written.
pub const DEFAULT_COMPRESSION: i32 = 3;

/// Tuning for [`SledStore::open`].
#[derive(Debug, Clone)]
pub struct SledOptions {
    /// Page cache size in bytes. Small on a handset: lists come from indexes.
    pub cache_bytes: u64,
    /// Flush (fsync) after every commit. Turn off only when the caller flushes itself before
    /// relying on a commit: bulk imports that flush at the end, the relay's group commit.
    pub flush_every_commit: bool,
    /// Compact at open when the store's files exceed this many bytes and twice their size
    /// after the last compaction (0: never). See `store::compact`.
    pub compact_over_bytes: u64,
    /// Favour write throughput over disk space (sled's `HighThroughput` mode): for the
    /// relay. Handsets keep the default, `LowSpace`.
    pub high_throughput: bool,
    /// zstd level sled compresses pages with (0: no compression). sled fixes the choice
    /// when it creates a database; a store made with the other choice keeps it until its
    /// next compaction, which copies it into a database made with this one.
    pub compression: i32,
    /// Trees whose values are compressed with a dictionary trained on the store's own
    /// values (`store::codec`, ADR 0006). Handsets: the documents.
    pub dictionary_trees: Vec<&'static str>,
    /// The app's key: every value is sealed with the store's data key, which this key
    /// wraps (ADR 0008). `None`: a plaintext store (the relay's; tests).
    pub key: Option<StoreKey>,
}

impl Default for SledOptions {
    fn default() -> Self {
        SledOptions {
            cache_bytes: 8 << 20,
            flush_every_commit: true,
            compact_over_bytes: 16 << 20,
            high_throughput: false,
            compression: DEFAULT_COMPRESSION,
            dictionary_trees: vec![trees::DOCS],
            key: None,
        }
    }
}

/// A store this big is worth a (first or better) dictionary.
pub(super) const TRAIN_FROM_BYTES: u64 = 1 << 20;

/// What [`SledStore::salvage`] kept of a store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Salvaged {
    /// Entries copied into the fresh files.
    pub entries: u64,
    /// Entries that could not be read or decoded (left out).
    pub unreadable: u64,
    /// Commits the damaged files had lost, as the witness counted them.
    pub lost_commits: u64,
}

/// A [`Store`] in a sled database directory.
pub struct SledStore {
    db: sled::Db,
    path: PathBuf,
    trees: Mutex<HashMap<&'static str, sled::Tree>>,
    options: SledOptions,
    codec: Codec,
    /// Set by [`Store::erase`]: every later call fails.
    erased: AtomicBool,
    /// The commit counter and its witness file (`store::witness`).
    witness: Witness,
    /// Commits the database lost (its witness names a later one): read-only.
    damaged: Option<u64>,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl SledStore {
    /// Opens (creating if needed) the store in directory `path`. A directory that holds a
    /// damaged database is an [`Error::Corrupt`]; one locked by another process is an
    /// [`Error::StoreInUse`]. An encrypted store needs its key ([`Error::KeyNeeded`],
    /// [`Error::WrongKey`]); an erased one is [`Error::Erased`].
    pub fn open(path: &Path, options: SledOptions) -> Result<Self> {
        let _span = tracing::debug_span!("sled_open", path = %path.display()).entered();
        compact::recover(path)?;
        if path.exists() {
            keyring::discard_partial(path)?;
        }
        // The key is checked before sled touches the files: a wrong key changes nothing.
        let key_file = keyring::read(path)?;
        let cipher = unlock(path, key_file.as_deref(), options.key.as_ref())?;
        // Pages are compressed either way: sealed values do not shrink, but the keys
        // (ids, grid paths, times) do.
        let wanted = options.compression > 0;
        let mut db = sled_open::open_db(path, &options, wanted)?;
        if cipher.is_none() && codec::is_sealed(&db)? {
            return Err(Error::Erased {
                path: path.display().to_string(),
            });
        }
        let mut codec = Codec::load(&db, options.dictionary_trees.clone(), cipher.clone())?;
        // A store opened with a key for the first time gets a data key; one with records
        // is converted by the copy below.
        let mut seal_with = None;
        if let (None, Some(app_key)) = (&cipher, &options.key) {
            let data = Cipher::new(StoreKey::generate());
            let file = keyring::wrap(data.data_key(), app_key)?;
            seal_with = Some((data, file));
        }
        let fresh = match seal_with {
            Some(_) => codec::is_empty_db(&db)?,
            None => !codec.is_tagged() && codec::coded_trees_empty(&db, &codec)?,
        };
        if fresh {
            // A new store (or one with nothing to convert): tagged and sealed from the start.
            if let Some((data, file)) = seal_with.take() {
                keyring::write(path, &file)?;
                codec = Codec::fresh(options.dictionary_trees.clone(), None, 0, Some(data));
            } else {
                codec = Codec::fresh(options.dictionary_trees.clone(), None, 0, None);
            }
            codec.save(&db)?;
            db.flush()?;
        }
        let damaged = witness::lost_commits(path, &db)?;
        if let Some(lost) = damaged {
            tracing::error!(path = %path.display(), lost, "the store lost commits it had made durable; read-only until salvaged");
        } else if let Some(next) = copy_if_due(path, &db, &codec, &options, wanted, seal_with)? {
            drop(db);
            db = sled_open::open_db(path, &options, wanted)?;
            codec = next;
        }
        // A damaged store keeps its witness as it is: the evidence of what it lost.
        let witness = Witness::open(path, &db, damaged.is_none())?;
        Ok(SledStore {
            db,
            path: path.to_path_buf(),
            trees: Mutex::new(HashMap::new()),
            options,
            codec,
            erased: AtomicBool::new(false),
            witness,
            damaged,
        })
    }

    fn check_writable(&self) -> Result<()> {
        match self.damaged {
            Some(lost_commits) => Err(Error::StoreDamaged {
                path: self.path.display().to_string(),
                lost_commits,
            }),
            None => Ok(()),
        }
    }

    fn check_open(&self) -> Result<()> {
        if self.erased.load(Ordering::SeqCst) {
            return Err(Error::Erased {
                path: self.path.display().to_string(),
            });
        }
        Ok(())
    }

    /// Whether the store's values are sealed (it was opened with a key).
    pub fn is_encrypted(&self) -> bool {
        self.codec.cipher().is_some()
    }

    fn tree(&self, name: &'static str) -> Result<sled::Tree> {
        self.check_open()?;
        let mut trees = self
            .trees
            .lock()
            .map_err(|_| Error::Storage("sled tree table lock poisoned".into()))?;
        if let Some(t) = trees.get(name) {
            return Ok(t.clone());
        }
        let t = self.db.open_tree(name)?;
        trees.insert(name, t.clone());
        Ok(t)
    }
}

impl Store for SledStore {
    fn get(&self, tree: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.tree(tree)?
            .get(key)?
            .map(|v| self.codec.decode(tree, key, &v))
            .transpose()
    }

    fn scan(&self, tree: &'static str, scan: Scan<'_>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let t = self.tree(tree)?;
        let end = prefix_end(scan.prefix);
        let mut lower = Bound::Included(scan.prefix.to_vec());
        let mut upper = end.map_or(Bound::Unbounded, Bound::Excluded);
        if let Some(after) = scan.after {
            if scan.reverse {
                if upper_allows(&upper, after) {
                    upper = Bound::Excluded(after.to_vec());
                }
            } else if after >= scan.prefix {
                if !upper_allows(&upper, after) {
                    return Ok(Vec::new());
                }
                lower = Bound::Excluded(after.to_vec());
            }
        }
        let iter = t.range::<Vec<u8>, _>((lower, upper));
        let mut out = Vec::new();
        let mut push = |item: sled::Result<(sled::IVec, sled::IVec)>| -> Result<bool> {
            let (k, v) = item?;
            out.push((k.to_vec(), self.codec.decode(tree, &k, &v)?));
            Ok(out.len() < scan.limit)
        };
        if scan.limit == 0 {
            return Ok(out);
        }
        if scan.reverse {
            for item in iter.rev() {
                if !push(item)? {
                    break;
                }
            }
        } else {
            for item in iter {
                if !push(item)? {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn commit(&self, batch: Batch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.check_writable()?;
        let mut names: Vec<&'static str> = batch.ops.iter().map(|(t, _, _)| *t).collect();
        names.extend(batch.expected.iter().map(|(t, _, _)| *t));
        names.push(COUNTER_TREE);
        names.sort_unstable();
        names.dedup();
        let trees: Vec<sled::Tree> = names.iter().map(|n| self.tree(n)).collect::<Result<_>>()?;
        let refs: Vec<&sled::Tree> = trees.iter().collect();
        // Encoded once, outside the transaction (which may run its closure again).
        let stored: Vec<Option<Vec<u8>>> = batch
            .ops
            .iter()
            .map(|(tree, key, op)| match op {
                Op::Put(v) => self.codec.encode(tree, key, v).map(Some),
                Op::Delete => Ok(None),
            })
            .collect::<Result<_>>()?;
        let counter_at = names
            .binary_search(&COUNTER_TREE)
            .map_err(|_| Error::Storage("counter tree missing".into()))?;
        let counter = refs
            .as_slice()
            .transaction(|tx| {
                let held = tx[counter_at]
                    .get(COUNTER_KEY)?
                    .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
                    .unwrap_or(0);
                check_expected(tx, &names, &batch.expected, &self.codec)?;
                tx[counter_at].insert(COUNTER_KEY, &(held + 1).to_be_bytes()[..])?;
                for ((tree, key, _), value) in batch.ops.iter().zip(&stored) {
                    let i = names.binary_search(tree).map_err(|_| {
                        ConflictableTransactionError::Abort(Error::Storage("tree missing".into()))
                    })?;
                    match value {
                        Some(v) => {
                            tx[i].insert(key.as_slice(), v.as_slice())?;
                        }
                        None => {
                            tx[i].remove(key.as_slice())?;
                        }
                    }
                }
                Ok(held + 1)
            })
            .map_err(Error::from)?;
        self.witness.committed(counter);
        if self.options.flush_every_commit {
            self.db.flush()?;
            self.witness.witness(counter)?;
        }
        Ok(())
    }

    fn damage(&self) -> Option<u64> {
        self.damaged
    }

    fn size_on_disk(&self) -> Result<u64> {
        self.check_open()?;
        Ok(self.db.size_on_disk()?)
    }

    fn flush(&self) -> Result<()> {
        self.check_open()?;
        if self.damaged.is_some() {
            return Ok(()); // nothing was written since the open
        }
        let covered = self.witness.current();
        self.db.flush()?;
        self.witness.witness(covered)
    }

    fn rekey(&self, key: &StoreKey) -> Result<()> {
        self.check_open()?;
        let _span = tracing::info_span!("store_rekey").entered();
        let cipher = self.codec.cipher().ok_or(Error::NotEncrypted)?;
        keyring::write(&self.path, &keyring::wrap(cipher.data_key(), key)?)
    }

    fn erase(&self) -> Result<()> {
        let _span = tracing::info_span!("store_erase").entered();
        self.erased.store(true, Ordering::SeqCst);
        // The key file first: from here on nothing in the directory can be read.
        keyring::shred(&self.path)?;
        match std::fs::remove_dir_all(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::Storage(format!(
                "removing {}: {e}",
                self.path.display()
            ))),
        }
    }
}

/// The cipher of the store in `path`: its data key unwrapped with `app_key` when it has a
/// key file; `None` when it has none (a plaintext store, or an erased one).
pub(super) fn unlock(
    path: &Path,
    key_file: Option<&[u8]>,
    app_key: Option<&StoreKey>,
) -> Result<Option<Cipher>> {
    match (key_file, app_key) {
        (Some(file), Some(k)) => Ok(Some(Cipher::new(keyring::unwrap(path, file, k)?))),
        (Some(_), None) => Err(Error::KeyNeeded {
            path: path.display().to_string(),
        }),
        (None, _) => Ok(None),
    }
}

fn upper_allows(upper: &Bound<Vec<u8>>, key: &[u8]) -> bool {
    match upper {
        Bound::Excluded(e) => key < e.as_slice(),
        Bound::Included(e) => key <= e.as_slice(),
        Bound::Unbounded => true,
    }
}

#[cfg(test)]
#[path = "sled_store_tests.rs"]
mod tests;
