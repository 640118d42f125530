//! An in-memory [`Store`]: the same contract as sled without the disk, for tests and
//! simulations that run many replicas in one process.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Batch, Op, Scan, Store, prefix_end};
use crate::error::{Error, Result};

type Tree = BTreeMap<Vec<u8>, Vec<u8>>;

/// A [`Store`] held in memory. Commits are atomic (one lock); nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    trees: RwLock<HashMap<&'static str, Tree>>,
    erased: AtomicBool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn check_open(&self) -> Result<()> {
        if self.erased.load(Ordering::SeqCst) {
            return Err(Error::Erased {
                path: "(memory)".into(),
            });
        }
        Ok(())
    }
}

fn poisoned() -> Error {
    Error::Storage("memory store lock poisoned by a panic in another thread".into())
}

impl Store for MemoryStore {
    fn get(&self, tree: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_open()?;
        let trees = self.trees.read().map_err(|_| poisoned())?;
        Ok(trees.get(tree).and_then(|t| t.get(key)).cloned())
    }

    fn scan(&self, tree: &'static str, scan: Scan<'_>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.check_open()?;
        let trees = self.trees.read().map_err(|_| poisoned())?;
        let Some(t) = trees.get(tree) else {
            return Ok(Vec::new());
        };
        let end = prefix_end(scan.prefix);
        let range = (
            Bound::Included(scan.prefix.to_vec()),
            end.map_or(Bound::Unbounded, Bound::Excluded),
        );
        let iter = t.range(range);
        let pick = |(k, v): (&Vec<u8>, &Vec<u8>)| (k.clone(), v.clone());
        Ok(if scan.reverse {
            iter.rev()
                .filter(|(k, _)| scan.after.is_none_or(|a| k.as_slice() < a))
                .take(scan.limit)
                .map(pick)
                .collect()
        } else {
            iter.filter(|(k, _)| scan.after.is_none_or(|a| k.as_slice() > a))
                .take(scan.limit)
                .map(pick)
                .collect()
        })
    }

    fn commit(&self, batch: Batch) -> Result<()> {
        self.check_open()?;
        let mut trees = self.trees.write().map_err(|_| poisoned())?;
        for (tree, key, value) in &batch.expected {
            let held = trees.get(tree).and_then(|t| t.get(key));
            if held != value.as_ref() {
                return Err(crate::Error::conflict(tree, key));
            }
        }
        for (tree, key, op) in batch.ops {
            let t = trees.entry(tree).or_default();
            match op {
                Op::Put(v) => {
                    t.insert(key, v);
                }
                Op::Delete => {
                    t.remove(&key);
                }
            }
        }
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64> {
        Ok(0)
    }

    fn erase(&self) -> Result<()> {
        self.erased.store(true, Ordering::SeqCst);
        self.trees.write().map_err(|_| poisoned())?.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conformance() {
        super::super::conformance::run_all(MemoryStore::new);
    }
}
