//! The embedded default [`Store`]: sled 0.34, one named sled tree per store tree, each
//! commit a multi-tree sled transaction followed (by default) by a flush (fsync), so a
//! commit that returned `Ok` survives `kill -9` and power loss. The relay turns the
//! per-commit flush off and flushes once per group of commits (see [`Store`]).

use std::collections::HashMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Mutex;

use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

use super::codec::{self, Codec};
use super::{Batch, Op, Scan, Store, compact, prefix_end, sled_open, trees};
use crate::error::{Error, Result};

/// File in the store directory that remembers the size right after the last compaction.
const COMPACTED_MARKER: &str = "gridsync-compacted-size";

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
        }
    }
}

/// A store this big is worth a (first or better) dictionary.
const TRAIN_FROM_BYTES: u64 = 1 << 20;

/// A [`Store`] in a sled database directory.
pub struct SledStore {
    db: sled::Db,
    trees: Mutex<HashMap<&'static str, sled::Tree>>,
    options: SledOptions,
    codec: Codec,
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
    /// [`Error::Storage`].
    pub fn open(path: &Path, options: SledOptions) -> Result<Self> {
        let _span = tracing::debug_span!("sled_open", path = %path.display()).entered();
        compact::recover(path)?;
        let wanted = options.compression > 0;
        let mut db = sled_open::open_db(path, &options)?;
        let mut codec = Codec::load(&db, options.dictionary_trees.clone())?;
        if !codec.is_tagged() && codec::coded_trees_empty(&db, &codec)? {
            // A new store (or one with nothing to convert): tagged from the start.
            codec = Codec::fresh(options.dictionary_trees.clone(), None, 0);
            codec.save(&db)?;
        }
        let size = compact::dir_bytes(path);
        let marker = path.join(COMPACTED_MARKER);
        let last: u64 = std::fs::read_to_string(&marker)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        let grown =
            options.compact_over_bytes > 0 && size > options.compact_over_bytes && size > 2 * last;
        let recompress = sled_open::stored_compression(path).is_some_and(|c| c != wanted);
        let untagged = !codec.is_tagged();
        let train = !options.dictionary_trees.is_empty()
            && size >= TRAIN_FROM_BYTES
            && size > 4 * codec.trained_at_bytes()
            && codec::has_samples(&db, &codec)?;
        if grown || recompress || untagged || train {
            let _span =
                tracing::info_span!("sled_compact", before = size, recompress, untagged, train)
                    .entered();
            let next = codec::retrain(&db, &codec, size)?;
            let config = sled_open::config(&options, wanted);
            let tmp = compact::copy_out(&db, path, config, &codec, &next)?;
            drop(db);
            compact::swap_in(path, &tmp)?;
            db = sled_open::open_db(path, &options)?;
            // The copy was written with `next`, dictionaries and all.
            codec = next;
            let after = compact::dir_bytes(path);
            std::fs::write(&marker, after.to_string())
                .map_err(|e| Error::Storage(format!("writing {}: {e}", marker.display())))?;
            tracing::info!(before = size, after, dictionary = ?codec.dictionary_id(), "store compacted");
        }
        Ok(SledStore {
            db,
            trees: Mutex::new(HashMap::new()),
            options,
            codec,
        })
    }

    fn tree(&self, name: &'static str) -> Result<sled::Tree> {
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
            .map(|v| self.codec.decode(tree, &v))
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
            out.push((k.to_vec(), self.codec.decode(tree, &v)?));
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
        let mut names: Vec<&'static str> = batch.ops.iter().map(|(t, _, _)| *t).collect();
        names.sort_unstable();
        names.dedup();
        let trees: Vec<sled::Tree> = names.iter().map(|n| self.tree(n)).collect::<Result<_>>()?;
        let refs: Vec<&sled::Tree> = trees.iter().collect();
        // Encoded once, outside the transaction (which may run its closure again).
        let stored: Vec<Option<Vec<u8>>> = batch
            .ops
            .iter()
            .map(|(tree, _, op)| match op {
                Op::Put(v) => self.codec.encode(tree, v).map(Some),
                Op::Delete => Ok(None),
            })
            .collect::<Result<_>>()?;
        refs.as_slice()
            .transaction(|tx| {
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
                Ok(())
            })
            .map_err(Error::from)?;
        if self.options.flush_every_commit {
            self.db.flush()?;
        }
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db.size_on_disk()?)
    }

    fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
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
mod tests {
    use super::*;

    #[test]
    fn conformance() {
        let dirs = std::sync::Mutex::new(Vec::new());
        super::super::conformance::run_all(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = SledStore::open(dir.path(), SledOptions::default()).expect("open");
            dirs.lock().expect("lock").push(dir);
            store
        });
    }

    #[test]
    fn a_store_made_with_the_other_compression_is_copied_into_the_wanted_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let plain = SledOptions {
            compression: 0,
            ..SledOptions::default()
        };
        let text = "留守老人 独居 网格员将持续跟进。".repeat(40).into_bytes();
        {
            let s = SledStore::open(&path, plain.clone()).unwrap();
            let mut b = Batch::new();
            for k in 0..300u32 {
                b.put("docs", k.to_be_bytes().to_vec(), text.clone());
            }
            s.commit(b).unwrap();
        }
        assert_eq!(sled_open::stored_compression(&path), Some(false));
        let s = SledStore::open(&path, SledOptions::default()).unwrap();
        assert_eq!(sled_open::stored_compression(&path), Some(true));
        assert_eq!(s.len("docs").unwrap(), 300);
        assert_eq!(
            s.get("docs", &299u32.to_be_bytes()).unwrap(),
            Some(text.clone())
        );
        drop(s);
        // And back, when an operator turns compression off.
        let s = SledStore::open(&path, plain).unwrap();
        assert_eq!(sled_open::stored_compression(&path), Some(false));
        assert_eq!(s.get("docs", &0u32.to_be_bytes()).unwrap(), Some(text));
    }

    #[test]
    fn reopening_a_bloated_store_compacts_it_and_keeps_every_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let opts = SledOptions {
            compact_over_bytes: 1 << 20,
            // Compressed pages of repeated bytes would never bloat the files.
            compression: 0,
            ..SledOptions::default()
        };
        {
            let s = SledStore::open(&path, opts.clone()).unwrap();
            for round in 0..40u32 {
                let mut b = Batch::new();
                for k in 0..200u32 {
                    b.put("docs", k.to_be_bytes().to_vec(), vec![round as u8; 512]);
                }
                s.commit(b).unwrap();
            }
        }
        let before = compact::dir_bytes(&path);
        let s = SledStore::open(&path, opts.clone()).unwrap();
        let after = compact::dir_bytes(&path);
        assert!(
            after < before,
            "compaction did not shrink the store: {before} -> {after}"
        );
        assert_eq!(s.len("docs").unwrap(), 200);
        assert_eq!(
            s.get("docs", &7u32.to_be_bytes()).unwrap().unwrap(),
            vec![39u8; 512]
        );
        drop(s);
        // Nothing to gain the second time: no compaction, same contents.
        let s = SledStore::open(&path, opts).unwrap();
        assert_eq!(s.len("docs").unwrap(), 200);
    }

    #[test]
    fn survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = SledStore::open(dir.path(), SledOptions::default()).unwrap();
            let mut b = Batch::new();
            b.put("docs", b"k".to_vec(), b"v".to_vec());
            s.commit(b).unwrap();
        }
        let s = SledStore::open(dir.path(), SledOptions::default()).unwrap();
        assert_eq!(s.get("docs", b"k").unwrap().as_deref(), Some(&b"v"[..]));
    }

    #[test]
    fn garbage_directory_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("conf"), b"\xff\xfe garbage").unwrap();
        std::fs::write(dir.path().join("db"), vec![0xab; 4096]).unwrap();
        let r = SledStore::open(dir.path(), SledOptions::default());
        assert!(r.is_err(), "a damaged store opened");
    }
}
