//! The embedded default [`Store`]: sled 0.34, one named sled tree per store tree, each
//! commit a multi-tree sled transaction followed by a flush (fsync), so a commit that
//! returned `Ok` survives `kill -9` and power loss.

use std::collections::HashMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Mutex;

use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

use super::{Batch, Op, Scan, Store, compact, prefix_end};

/// File in the store directory that remembers the size right after the last compaction.
const COMPACTED_MARKER: &str = "gridsync-compacted-size";
use crate::error::{Error, Result};

/// Tuning for [`SledStore::open`].
#[derive(Debug, Clone)]
pub struct SledOptions {
    /// Page cache size in bytes. Small on a handset: lists come from indexes.
    pub cache_bytes: u64,
    /// Flush (fsync) after every commit. Turn off only for bulk imports that flush at the end.
    pub flush_every_commit: bool,
    /// Compact at open when the store's files exceed this many bytes and twice their size
    /// after the last compaction (0: never). See `store::compact`.
    pub compact_over_bytes: u64,
    /// Favour write throughput over disk space (sled's `HighThroughput` mode): for the
    /// relay. Handsets keep the default, `LowSpace`.
    pub high_throughput: bool,
}

impl Default for SledOptions {
    fn default() -> Self {
        SledOptions {
            cache_bytes: 8 << 20,
            flush_every_commit: true,
            compact_over_bytes: 16 << 20,
            high_throughput: false,
        }
    }
}

/// How long an open waits for the database's file lock to be released.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Opens `config`'s database. sled's background flusher can hold the file lock for a
/// moment after the last handle of the same database is dropped (an app closing and
/// reopening its store), so a lock held elsewhere is retried for up to [`LOCK_WAIT`]
/// before it is reported.
fn open_waiting_for_lock(config: &sled::Config) -> sled::Result<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        match config.open() {
            // sled reports the lock as a plain I/O error with this text.
            Err(sled::Error::Io(e))
                if e.to_string().starts_with("could not acquire lock")
                    && started.elapsed() < LOCK_WAIT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// A [`Store`] in a sled database directory.
pub struct SledStore {
    db: sled::Db,
    trees: Mutex<HashMap<&'static str, sled::Tree>>,
    options: SledOptions,
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
        let config = || {
            sled::Config::new()
                .cache_capacity(options.cache_bytes)
                .mode(if options.high_throughput {
                    sled::Mode::HighThroughput
                } else {
                    sled::Mode::LowSpace
                })
        };
        let open = || {
            open_waiting_for_lock(&config().path(path)).map_err(|e| match e {
                sled::Error::Corruption { .. } => {
                    Error::corrupt(format!("store at {}", path.display()), e)
                }
                other => {
                    Error::Storage(format!("cannot open store at {}: {other}", path.display()))
                }
            })
        };
        let mut db = open()?;
        let size = compact::dir_bytes(path);
        let marker = path.join(COMPACTED_MARKER);
        let last: u64 = std::fs::read_to_string(&marker)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        if options.compact_over_bytes > 0 && size > options.compact_over_bytes && size > 2 * last {
            let _span = tracing::info_span!("sled_compact", before = size).entered();
            let tmp = compact::copy_out(&db, path, config())?;
            drop(db);
            compact::swap_in(path, &tmp)?;
            db = open()?;
            let after = compact::dir_bytes(path);
            std::fs::write(&marker, after.to_string())
                .map_err(|e| Error::Storage(format!("writing {}: {e}", marker.display())))?;
            tracing::info!(before = size, after, "store compacted");
        }
        Ok(SledStore {
            db,
            trees: Mutex::new(HashMap::new()),
            options,
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
        Ok(self.tree(tree)?.get(key)?.map(|v| v.to_vec()))
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
            out.push((k.to_vec(), v.to_vec()));
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
        refs.as_slice()
            .transaction(|tx| {
                for (tree, key, op) in &batch.ops {
                    let i = names.binary_search(tree).map_err(|_| {
                        ConflictableTransactionError::Abort(Error::Storage("tree missing".into()))
                    })?;
                    match op {
                        Op::Put(v) => {
                            tx[i].insert(key.as_slice(), v.as_slice())?;
                        }
                        Op::Delete => {
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
    fn an_open_waits_briefly_for_a_closing_handle_to_release_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let first = SledStore::open(dir.path(), SledOptions::default()).unwrap();
        let closer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(first);
        });
        // Held for 300 ms: the second open waits instead of failing.
        let second = SledStore::open(dir.path(), SledOptions::default());
        closer.join().unwrap();
        assert!(second.is_ok(), "{:?}", second.err());
    }

    #[test]
    fn reopening_a_bloated_store_compacts_it_and_keeps_every_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let opts = SledOptions {
            compact_over_bytes: 1 << 20,
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
