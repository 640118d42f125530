//! What one push reads of the relay's state, fetched together: the documents and change
//! hashes of the whole push in one `get_many` each (one round trip on PostgreSQL, where a
//! read per change would cost more than the change), then served from memory. Reads see
//! committed state only, as direct reads did: what the push itself changes is in its
//! `touched` documents and accepted hashes.

use std::cell::RefCell;
use std::collections::HashMap;

use gridsync_core::error::Result;
use gridsync_core::store::Store;

/// Values read, by tree and key (`None`: absent).
type Held = HashMap<(&'static str, Vec<u8>), Option<Vec<u8>>>;

/// A read-through cache over a store, for the span of one push.
pub(super) struct Reads<'a> {
    store: &'a dyn Store,
    cache: RefCell<Held>,
}

impl<'a> Reads<'a> {
    /// Nothing read yet.
    pub(super) fn new(store: &'a dyn Store) -> Self {
        Reads {
            store,
            cache: RefCell::new(HashMap::new()),
        }
    }

    /// Reads `keys` of `tree` that are not held yet, at once.
    pub(super) fn prefetch(
        &self,
        tree: &'static str,
        keys: impl IntoIterator<Item = Vec<u8>>,
    ) -> Result<()> {
        let mut wanted: Vec<Vec<u8>> = {
            let cache = self.cache.borrow();
            keys.into_iter()
                .filter(|k| !cache.contains_key(&(tree, k.clone())))
                .collect()
        };
        wanted.sort_unstable();
        wanted.dedup();
        let values = self.store.get_many(tree, &wanted)?;
        let mut cache = self.cache.borrow_mut();
        for (k, v) in wanted.into_iter().zip(values) {
            cache.insert((tree, k), v);
        }
        Ok(())
    }

    /// The value under `key`, from memory when read before.
    pub(super) fn get(&self, tree: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(v) = self.cache.borrow().get(&(tree, key.to_vec())) {
            return Ok(v.clone());
        }
        let v = self.store.get(tree, key)?;
        self.cache
            .borrow_mut()
            .insert((tree, key.to_vec()), v.clone());
        Ok(v)
    }
}
