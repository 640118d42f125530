//! Following other relay nodes on a shared database (PostgreSQL, issue 17). Each node
//! reads the shared state every [`FOLLOW_EVERY`]: when the log head moved past its own,
//! it reads the new changes' grids into its tail and publishes the head, so its live
//! connections pull what another node accepted; when the device epoch changed (a revoke,
//! wipe or rescope anywhere), it rechecks its connections, as after a local revoke.
//!
//! ```text
//! rmeta  "device_epoch"  → 8 random bytes, new in every commit that revokes, wipes or
//!                          rescopes a device
//! ```

use std::sync::Arc;
use std::time::Duration;

use gridsync_core::error::Result;
use gridsync_core::store::{Batch, Scan};
use tokio::sync::watch;

use super::tail::TAIL_CHANGES;
use super::{HEAD_KEY, Hub, LOG, LogRecord, RMETA, decode};

/// How often a node reads what the others did.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(100);

/// `rmeta` key of the device epoch.
pub(crate) const DEVICE_EPOCH_KEY: &[u8] = b"device_epoch";

/// Log records read at once when catching the tail up.
const CATCH_UP_PAGE: usize = 1024;

/// Stages a new device epoch: other nodes recheck their connections when they see it.
pub(crate) fn stage_device_epoch(batch: &mut Batch) -> Result<()> {
    let mut epoch = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut epoch)
        .map_err(|_| gridsync_core::Error::Storage("no randomness for the device epoch".into()))?;
    batch.put(RMETA, DEVICE_EPOCH_KEY.to_vec(), epoch.to_vec());
    Ok(())
}

impl Hub {
    /// Reads into the tail the changes after its newest up to `upto`, all committed
    /// (by any node). Cheap when the tail is current.
    pub(crate) fn catch_up_tail(&self, upto: u64) -> Result<()> {
        let mut newest = self.tail.newest();
        if upto.saturating_sub(newest) > TAIL_CHANGES as u64 {
            // More than the tail holds (a node long cut off): start it over at `upto`;
            // pulls from before read the grid logs.
            self.tail.start_over(upto);
            return Ok(());
        }
        while newest < upto {
            let after = newest.to_be_bytes();
            let page = self.store.scan(
                LOG,
                Scan {
                    prefix: b"",
                    after: Some(&after),
                    limit: CATCH_UP_PAGE.min(usize::try_from(upto - newest).unwrap_or(1)),
                    reverse: false,
                },
            )?;
            let Some(last) = page.last() else { break };
            let last_seq = seq_of(&last.0)?;
            let mut read = Vec::with_capacity(page.len());
            for (key, value) in &page {
                let record: LogRecord = decode("relay log record", value)?;
                read.push((seq_of(key)?, record.grid));
            }
            self.tail.extend(read);
            newest = last_seq;
        }
        Ok(())
    }

    /// The durable head; on a shared store read from it first, so a pull right after a
    /// push on another node sees that push (not only after the next look).
    pub(crate) fn current_head(&self) -> Result<u64> {
        if self.shared {
            self.publish_shared_head(super::read_head(self.store.as_ref())?)?;
        }
        Ok(self.durable_head())
    }

    /// Publishes a head other nodes committed, once the tail holds what led to it. A
    /// database head behind the one published (the database lost commits: a failover to
    /// an asynchronous standby, a restore to an earlier point) is refused: serving on
    /// would number new changes with sequences handsets' cursors have passed.
    fn publish_shared_head(&self, head: u64) -> Result<()> {
        self.refuse_if_behind(head)?;
        if head > self.durable_head() {
            let _guard = self.lock()?;
            self.catch_up_tail(head)?;
            self.make_durable(head)?;
        }
        Ok(())
    }

    /// Refuses a database head behind the one this node published (see
    /// [`Hub::publish_shared_head`]). Takes no lock.
    pub(crate) fn refuse_if_behind(&self, head: u64) -> Result<()> {
        let published = self.durable_head();
        if head < published {
            tracing::error!(head, published, "the database's log head went back");
            return Err(gridsync_core::Error::Storage(format!(
                "the database's log head went back from {published} to {head}: it lost \
                 commits this relay acknowledged; stop every relay node (docs/SCALING.md)"
            )));
        }
        Ok(())
    }

    /// One look at the shared state: a head moved by another node is published (after
    /// the tail caught up), a new device epoch wakes the connections to recheck.
    /// `epoch` is the device epoch seen at the last look (`None` before the first).
    pub(crate) fn follow_once(&self, epoch: &mut Option<Option<Vec<u8>>>) -> Result<()> {
        let meta = self.store.scan(RMETA, Scan::prefix(b""))?;
        let find = |key: &[u8]| meta.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let head = match find(HEAD_KEY) {
            Some(v) => seq_of(&v)?,
            None => 0,
        };
        // Revocations first: a head that cannot be published must not hold them up.
        let now = Some(find(DEVICE_EPOCH_KEY));
        if now != *epoch {
            // The first look only learns the epoch: nothing to recheck yet.
            if epoch.is_some() {
                self.revoked();
            }
            *epoch = now;
        }
        self.publish_shared_head(head)
    }

    /// Follows the other nodes until `shutdown` turns true (the relay's serve loop runs
    /// it when its store is shared). A failed look is logged and tried again.
    pub async fn follow_other_nodes(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut epoch = None;
        loop {
            let hub = self.clone();
            let mut seen = epoch.clone();
            let looked =
                tokio::task::spawn_blocking(move || hub.follow_once(&mut seen).map(|()| seen))
                    .await;
            match looked {
                Ok(Ok(seen)) => epoch = seen,
                Ok(Err(e)) => tracing::warn!(error = %e, "reading the shared store failed"),
                Err(e) => tracing::warn!(error = %e, "following the other nodes panicked"),
            }
            tokio::select! {
                _ = tokio::time::sleep(FOLLOW_EVERY) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }
}

/// A sequence number as stored (8 bytes, big-endian): a log key or the head.
pub(super) fn seq_of(bytes: &[u8]) -> Result<u64> {
    Ok(u64::from_be_bytes(bytes.try_into().map_err(|_| {
        gridsync_core::Error::corrupt("relay store", "a sequence is not 8 bytes")
    })?))
}
