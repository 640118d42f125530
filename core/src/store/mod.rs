//! The on-device store: a few named, ordered key-value trees with atomic multi-tree
//! commits, durable as the store's owner configures it (see [`Store`]: a handset flushes
//! every commit; the relay group-commits). [`Store`] is the only interface the rest of
//! the core sees; [`SledStore`] is the embedded default and [`MemoryStore`] the in-memory
//! twin used in tests and simulations. One conformance suite (`conformance`, with
//! feature `testing`) runs against both.
//!
//! A [`SledStore`] cannot lose silently: a commit counter and a witness file outside sled
//! tell at open that its files lost durable commits (`witness`, ADR 0013); it is then
//! read-only until [`SledStore::salvage`] copies what still reads into fresh files.
//!
//! The trees the replica uses are named in [`trees`]; the relay adds its own.

mod cipher;
mod codec;
mod compact;
mod keyring;
mod memory;
#[cfg(test)]
mod sealed_tests;
#[cfg(test)]
mod sled_codec_tests;
mod sled_copy;
mod sled_expect;
mod sled_open;
mod sled_store;
mod witness;

#[cfg(any(test, feature = "testing"))]
pub mod conformance;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use cipher::StoreKey;
pub use keyring::KEY_FILE;
pub use memory::MemoryStore;
pub use sled_store::{DEFAULT_COMPRESSION, Salvaged, SledOptions, SledStore};
pub use witness::WITNESS_FILE;

use crate::error::Result;

/// Names of the trees a handset replica keeps.
pub mod trees {
    /// Document id → saved automerge document.
    pub const DOCS: &str = "docs";
    /// Outbox sequence (u64 big-endian) → a local change the relay has not acknowledged.
    pub const OUTBOX: &str = "outbox";
    /// Secondary index keys → small summaries (lists and counts are answered from here).
    pub const INDEX: &str = "index";
    /// Device identity, actor id, schema version, sync cursor.
    pub const META: &str = "meta";
}

/// One write in a [`Batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Insert or overwrite the value under a key.
    Put(Vec<u8>),
    /// Remove a key (absent keys are fine).
    Delete,
}

/// Writes to several trees that land together or not at all, optionally only if some keys
/// still hold what the writer read ([`Batch::expect`]).
#[derive(Debug, Default, Clone)]
pub struct Batch {
    /// `(tree, key, op)` in the order given; later ops on one key win.
    pub ops: Vec<(&'static str, Vec<u8>, Op)>,
    /// What must hold when the batch lands.
    pub expected: Vec<Expected>,
}

/// `(tree, key, value)`: `key` in `tree` must hold `value` (`None`: be absent) for a
/// [`Batch`] to land ([`Batch::expect`]).
pub type Expected = (&'static str, Vec<u8>, Option<Vec<u8>>);

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a put.
    pub fn put(&mut self, tree: &'static str, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push((tree, key.into(), Op::Put(value.into())));
    }

    /// Adds a delete.
    pub fn delete(&mut self, tree: &'static str, key: impl Into<Vec<u8>>) {
        self.ops.push((tree, key.into(), Op::Delete));
    }

    /// Makes the commit conditional: it lands only if `key` in `tree` still holds `value`
    /// (`None`: is absent) at that moment, and otherwise fails with
    /// [`Error::Conflict`](crate::Error::Conflict), writing nothing. Relay nodes sharing
    /// one database order their writes this way (the log head).
    pub fn expect(&mut self, tree: &'static str, key: impl Into<Vec<u8>>, value: Option<Vec<u8>>) {
        self.expected.push((tree, key.into(), value));
    }

    /// The last op staged for `key` in `tree`, if any: what a read after the commit would
    /// see in place of the store's current value.
    pub fn pending(&self, tree: &str, key: &[u8]) -> Option<&Op> {
        self.ops
            .iter()
            .rev()
            .find(|(t, k, _)| *t == tree && k == key)
            .map(|(_, _, op)| op)
    }

    /// True when nothing would be written or checked.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.expected.is_empty()
    }
}

/// Which keys a [`Store::scan`] returns, in key order.
#[derive(Debug, Clone, Default)]
pub struct Scan<'a> {
    /// Only keys starting with this prefix.
    pub prefix: &'a [u8],
    /// Only keys strictly greater than this one (to page through a prefix).
    pub after: Option<&'a [u8]>,
    /// At most this many entries (`usize::MAX` for all).
    pub limit: usize,
    /// Walk from the largest key down (then `after` means strictly smaller).
    pub reverse: bool,
}

impl<'a> Scan<'a> {
    /// Every key under `prefix`.
    pub fn prefix(prefix: &'a [u8]) -> Self {
        Scan {
            prefix,
            after: None,
            limit: usize::MAX,
            reverse: false,
        }
    }
}

/// Calls `f` with every entry of `tree` in key order, `page` entries at a time (so a large
/// tree is never held in memory at once); stops at the first error `f` returns.
pub fn for_each_page(
    store: &dyn Store,
    tree: &'static str,
    page: usize,
    mut f: impl FnMut(&[(Vec<u8>, Vec<u8>)]) -> Result<()>,
) -> Result<()> {
    let mut after: Option<Vec<u8>> = None;
    loop {
        let entries = store.scan(
            tree,
            Scan {
                prefix: b"",
                after: after.as_deref(),
                limit: page,
                reverse: false,
            },
        )?;
        let Some((last, _)) = entries.last() else {
            return Ok(());
        };
        after = Some(last.clone());
        f(&entries)?;
    }
}

/// Held by a writer between reading what it builds a commit on and making that commit
/// ([`Store::lock_writers`]); dropping it lets the next writer in. Most stores need no
/// lock of their own (their one process orders its writers) and hold nothing.
pub struct WritersLock(Option<Box<dyn Send>>);

impl WritersLock {
    /// A lock that holds nothing.
    pub fn none() -> Self {
        WritersLock(None)
    }

    /// A lock released when `held` is dropped.
    pub fn holding(held: impl Send + 'static) -> Self {
        WritersLock(Some(Box::new(held)))
    }

    /// Whether anything is held.
    pub fn is_held(&self) -> bool {
        self.0.is_some()
    }
}

impl std::fmt::Debug for WritersLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("WritersLock").field(&self.is_held()).finish()
    }
}

/// Ordered key-value trees with atomic multi-tree commits.
///
/// Contract (checked by `conformance`): a `commit` that returned `Ok` is visible to every
/// later read; a `commit` that returned `Err` changed nothing; a commit whose
/// [`Batch::expect`] does not hold fails with [`Error::Conflict`](crate::Error::Conflict); scans return keys in byte
/// order; a crash loses no commit that a [`Store::flush`] returning `Ok` followed, and
/// never leaves part of a commit.
///
/// Durability of a single commit depends on how the store was opened. A handset's
/// [`SledStore`] (the default [`SledOptions`], `flush_every_commit: true`) flushes inside
/// every `commit`, so a commit that returned `Ok` survives a crash or power loss. The
/// relay opens its store with `flush_every_commit: false` and group-commits: concurrent
/// pushes commit one after another, then share one `flush`, and a push is acknowledged
/// (and its log sequences handed out) only after that flush returned. A crash may lose
/// commits made since the last flush, never part of one. [`MemoryStore`] keeps nothing
/// across a crash.
pub trait Store: Send + Sync + 'static {
    /// The value under `key`, if any.
    fn get(&self, tree: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// The values under `keys`, in their order (`None` where absent). A store over a
    /// network (PostgreSQL) answers them in one round trip; the default asks one by one.
    fn get_many(&self, tree: &'static str, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        keys.iter().map(|k| self.get(tree, k)).collect()
    }

    /// Entries selected by `scan`, in key order (or reverse order).
    fn scan(&self, tree: &'static str, scan: Scan<'_>) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;

    /// Applies all of `batch` atomically, if its expectations hold; durable before returning when the store flushes
    /// every commit (a handset's), otherwise once a later [`Store::flush`] returns.
    fn commit(&self, batch: Batch) -> Result<()>;

    /// Orders writers across processes that share the store (relay nodes on one
    /// database): held from a writer's first read to its commit, so another writer does
    /// not commit in between and make the commit's expectations fail ([`Batch::expect`]
    /// still guards correctness: the lock only saves redone work). The default holds
    /// nothing: one process orders its own writers.
    fn lock_writers(&self) -> Result<WritersLock> {
        Ok(WritersLock::none())
    }

    /// Number of keys in a tree (walks the tree: for tests and tools, not hot paths).
    fn len(&self, tree: &'static str) -> Result<usize> {
        Ok(self.scan(tree, Scan::prefix(b""))?.len())
    }

    /// Bytes the store occupies on disk (0 for memory stores).
    fn size_on_disk(&self) -> Result<u64>;

    /// Forces every commit so far to stable storage. A store that flushes every commit
    /// needs it only on shutdown paths that want to be sure; the relay calls it after each
    /// group of commits, before acknowledging them.
    fn flush(&self) -> Result<()> {
        Ok(())
    }

    /// Replaces the key an encrypted store is opened with, atomically: after a crash at
    /// any moment the store opens with either the old key or the new one. A plaintext
    /// store has no key to change ([`Error::NotEncrypted`](crate::Error::NotEncrypted)).
    fn rekey(&self, key: &StoreKey) -> Result<()> {
        let _ = key;
        Err(crate::Error::NotEncrypted)
    }

    /// Commits the store's files lost that it had made durable, if it found any at open
    /// (it is then read-only: [`crate::Error::StoreDamaged`]). Stores that cannot tell say
    /// `None`.
    fn damage(&self) -> Option<u64> {
        None
    }

    /// Makes the store's data unreadable at once (an encrypted store destroys its key
    /// material first), then removes it. Every later call on this store fails with
    /// [`Error::Erased`](crate::Error::Erased).
    fn erase(&self) -> Result<()>;
}

/// Returns the smallest key greater than every key starting with `prefix`, or `None` when
/// no such key exists (prefix of all 0xff).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}
