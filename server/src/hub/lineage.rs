//! The relay's lineage (`rmeta`): the generation of its log, the forks it descends from
//! and the head of its newest backup. Handsets read it in `Welcome` to learn that a relay
//! was restored from an older backup and push again what it lost (ADR 0012).
//!
//! ```text
//! rmeta  "generation"  → u64 BE      (random, made when the store is first opened)
//! rmeta  "forks"       → postcard Vec<Fork>  (one per restore, oldest first)
//! rmeta  "backed_up"   → u64 BE      (head of the newest backup taken of this store)
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use gridsync_core::error::{Error, Result};
use gridsync_core::store::{Batch, Store};
use gridsync_core::sync::wire::{Fork, Lineage};
use ring::rand::{SecureRandom, SystemRandom};

use super::{Hub, RMETA, decode, encode};

const GENERATION_KEY: &[u8] = b"generation";
const FORKS_KEY: &[u8] = b"forks";
const BACKED_UP_KEY: &[u8] = b"backed_up";

/// The lineage as the hub keeps it: fixed for the life of a store but for the backup head.
#[derive(Debug)]
pub(crate) struct LineageState {
    generation: u64,
    forks: Vec<Fork>,
    backed_up: AtomicU64,
}

/// A new random generation (never 0, which means "none").
pub(crate) fn random_generation() -> Result<u64> {
    let mut buf = [0u8; 8];
    loop {
        SystemRandom::new()
            .fill(&mut buf)
            .map_err(|_| Error::Storage("no system randomness".into()))?;
        let g = u64::from_be_bytes(buf);
        if g != 0 {
            return Ok(g);
        }
    }
}

fn read_u64(store: &dyn Store, key: &[u8]) -> Result<Option<u64>> {
    store
        .get(RMETA, key)?
        .map(|v| {
            v.as_slice()
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| Error::corrupt("relay store", "a lineage value is not 8 bytes"))
        })
        .transpose()
}

/// Stages a whole lineage (a restore writes its new one).
pub(crate) fn stage_lineage(batch: &mut Batch, lineage: &Lineage) -> Result<()> {
    let g = lineage.generation.to_be_bytes().to_vec();
    batch.put(RMETA, GENERATION_KEY.to_vec(), g);
    batch.put(RMETA, FORKS_KEY.to_vec(), encode(&lineage.forks)?);
    let b = lineage.backed_up.to_be_bytes().to_vec();
    batch.put(RMETA, BACKED_UP_KEY.to_vec(), b);
    Ok(())
}

impl LineageState {
    /// Reads the lineage, giving a store that has none (new, or from before lineages) a
    /// generation of its own, durably.
    pub(crate) fn load_or_create(store: &dyn Store) -> Result<Self> {
        let forks: Vec<Fork> = match store.get(RMETA, FORKS_KEY)? {
            Some(v) => decode("relay forks", &v)?,
            None => Vec::new(),
        };
        let backed_up = read_u64(store, BACKED_UP_KEY)?.unwrap_or(0);
        let generation = match read_u64(store, GENERATION_KEY)? {
            Some(g) => g,
            None => {
                let g = random_generation()?;
                let mut b = Batch::new();
                // Relay nodes starting together on one new database: one generation wins.
                b.expect(RMETA, GENERATION_KEY.to_vec(), None);
                b.put(RMETA, GENERATION_KEY.to_vec(), g.to_be_bytes().to_vec());
                match store.commit(b) {
                    Ok(()) => {
                        store.flush()?;
                        tracing::info!(generation = g, "new relay log generation");
                        g
                    }
                    Err(Error::Conflict { .. }) => read_u64(store, GENERATION_KEY)?
                        .ok_or_else(|| Error::corrupt("relay lineage", "generation vanished"))?,
                    Err(e) => return Err(e),
                }
            }
        };
        Ok(LineageState {
            generation,
            forks,
            backed_up: AtomicU64::new(backed_up),
        })
    }

    pub(crate) fn lineage(&self) -> Lineage {
        Lineage {
            generation: self.generation,
            forks: self.forks.clone(),
            backed_up: self.backed_up.load(Ordering::Acquire),
        }
    }
}

impl Hub {
    /// Where this relay's log comes from, as `Welcome` tells handsets.
    ///
    /// On a shared database (PostgreSQL) the database keeps the log safe (a synchronous
    /// standby, its own backups: `docs/SCALING.md`), not a `gridsync-relay backup`: every
    /// durable change counts as backed up, so handsets do not keep acknowledged changes
    /// against a restore that never comes (ADR 0016).
    pub fn lineage(&self) -> Lineage {
        let mut lineage = self.lineage.lineage();
        if self.is_shared() {
            lineage.backed_up = lineage.backed_up.max(self.durable_head());
        }
        lineage
    }

    /// Records durably that a backup holding the log up to `head` was written, so
    /// handsets may forget what they had acknowledged at or below it.
    pub(crate) fn backed_up(&self, head: u64) -> Result<()> {
        let mut b = Batch::new();
        b.put(RMETA, BACKED_UP_KEY.to_vec(), head.to_be_bytes().to_vec());
        self.commit_durable(b)?;
        self.lineage.backed_up.fetch_max(head, Ordering::AcqRel);
        Ok(())
    }
}
