//! Retiring old visit history from the handset. A visit is its own document, so retiring
//! one deletes that document and its index entries and rewrites nothing else. Visits with
//! changes the relay has not acknowledged (pending or refused) are kept: retiring never
//! loses data.

use super::{RecordSyncState, Replica};
use crate::error::Result;
use crate::ids::{DocId, Timestamp};
use crate::index::{self, VisitSummary, decode};
use crate::store::{Batch, Scan, trees};

impl Replica {
    /// Deletes, on this device only, visits made before `cutoff` whose changes the relay
    /// has all acknowledged (none pending or refused). Returns how many were retired.
    pub fn retire_visits_before(&self, cutoff: Timestamp) -> Result<usize> {
        let _span = tracing::info_span!("retire_visits", cutoff).entered();
        let mut retired = 0;
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self.store.scan(
                trees::INDEX,
                Scan {
                    prefix: index::keys::ALL_VISITS_BY_DATE,
                    after: after.as_deref(),
                    limit: 256,
                    reverse: false,
                },
            )?;
            let Some((last, _)) = page.last() else {
                return Ok(retired);
            };
            after = Some(last.clone());
            let mut batch = Batch::new();
            let mut gone: Vec<DocId> = Vec::new();
            for (_, v) in &page {
                let s: VisitSummary = decode(v)?;
                if s.at >= cutoff || self.record_sync_state(&s.id)? != RecordSyncState::Acknowledged
                {
                    continue;
                }
                batch.delete(trees::DOCS, s.id.as_str().as_bytes().to_vec());
                index::remove(self.store.as_ref(), &mut batch, &s.id)?;
                gone.push(s.id);
            }
            self.store.commit(batch)?;
            let mut inner = self.lock()?;
            for id in &gone {
                inner.cache.forget(id);
            }
            retired += gone.len();
        }
    }
}
