//! The hub as the sans-IO session sees it: [`RelayBackend`] over the hub's methods.

use gridsync_core::error::Result;
use gridsync_core::ids::GridPath;
use gridsync_core::sync::CheckedChange;
use gridsync_core::sync::backend::{DeviceGrant, NotIngested, PullBatch, RelayBackend};
use gridsync_core::sync::wire::Cursor;

use super::Hub;

impl RelayBackend for Hub {
    fn authenticate(&self, token: &str) -> Result<DeviceGrant> {
        self.grant_for_token(token)
    }

    fn still_active(&self, device_id: &str) -> Result<bool> {
        Ok(self
            .device(device_id)?
            .is_some_and(|d| d.revoked_at.is_none() && d.wipe_requested_at.is_none()))
    }

    fn wipe_requested(&self, device_id: &str) -> Result<bool> {
        Ok(self
            .device(device_id)?
            .is_some_and(|d| d.wipe_requested_at.is_some() && d.wiped_at.is_none()))
    }

    fn wiped(&self, device_id: &str) -> Result<()> {
        self.device_wiped(device_id)
    }

    fn ingest(
        &self,
        grant: &DeviceGrant,
        changes: &[CheckedChange],
    ) -> Result<Vec<std::result::Result<(), NotIngested>>> {
        self.ingest_changes(grant, changes)
    }

    fn pull(&self, scopes: &[GridPath], cursor: &Cursor, max_bytes: usize) -> Result<PullBatch> {
        self.pull_batch(scopes, cursor, max_bytes)
    }

    fn head(&self) -> Result<u64> {
        self.current_head()
    }

    fn lineage(&self) -> Result<gridsync_core::sync::wire::Lineage> {
        Ok(Hub::lineage(self))
    }

    fn pending_reported(&self, device_id: &str, changes: u64, bytes: u64) -> Result<()> {
        self.outbox_reported(device_id, changes, bytes)
    }
}
