//! The store at rest (issue 14, ADR 0008): opening an encrypted store with the app's key,
//! changing that key, and erasing the store (sign-out, remote wipe).

use std::path::Path;
use std::sync::Arc;

use super::{Replica, ReplicaConfig};
use crate::cache::DocCache;
use crate::error::Result;
use crate::store::{SledOptions, SledStore, StoreKey};

impl Replica {
    /// Opens (creating on first use) the store in directory `dir` for `device`, encrypted
    /// with `key` (32 bytes the app keeps in the platform keystore; the core never writes
    /// it). A plaintext store is converted on this first open with a key, crash-safely.
    /// A key that does not open the store is [`Error::WrongKey`](crate::Error::WrongKey)
    /// and changes nothing.
    pub fn open_encrypted(dir: &Path, device: &str, key: StoreKey) -> Result<Self> {
        let options = SledOptions {
            key: Some(key),
            ..SledOptions::default()
        };
        let store = SledStore::open(dir, options)?;
        Self::open_with(Arc::new(store), device, ReplicaConfig::default())
    }

    /// Replaces the key the store opens with. Atomic: after a crash at any moment the
    /// store opens with either the old key or `new`. A plaintext store has no key
    /// ([`Error::NotEncrypted`](crate::Error::NotEncrypted)).
    pub fn rekey(&self, new: StoreKey) -> Result<()> {
        self.store.rekey(&new)
    }

    /// Makes everything this replica stored unreadable at once (an encrypted store
    /// destroys its key file first), then removes the files. Every later call fails with
    /// [`Error::Erased`](crate::Error::Erased). A plaintext store's files are only deleted:
    /// encrypt stores that hold personal data.
    pub fn erase(&self) -> Result<()> {
        let _span = tracing::info_span!("replica_erase", device = %self.identity.device).entered();
        let result = self.store.erase();
        let mut inner = self.lock()?;
        inner.cache = DocCache::new(1);
        inner.pending = Default::default();
        drop(inner);
        *self
            .acting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        result?;
        tracing::info!("store erased");
        Ok(())
    }
}
