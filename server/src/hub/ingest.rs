//! Accepting pushed changes: check scope, integrity (the hash is recomputed from the bytes),
//! dependencies and the document's identity; then append to the log and update the
//! document, all in one durable commit per push. A refused change is stored nowhere.

use std::collections::{HashMap, HashSet};

use automerge::{Automerge, Change, ReadDoc};
use gridsync_core::error::{Error, Result};
use gridsync_core::ids::{DocId, GridPath};
use gridsync_core::model::grid_of;
use gridsync_core::store::Batch;
use gridsync_core::sync::backend::DeviceGrant;
use gridsync_core::sync::wire::{ChangeHash, PushedChange};
use gridsync_core::untrusted::contain;

use super::{
    GDOCS, GRID_LOG, GRIDS, HASHES, Hub, LOG, LogRecord, RDOCS, RelayDoc, decode, encode, grid_key,
    read_head, stage_head,
};

/// Documents touched by one push, with their grids.
type Touched = HashMap<DocId, (Automerge, GridPath)>;

impl Hub {
    pub(crate) fn ingest_changes(
        &self,
        grant: &DeviceGrant,
        changes: &[PushedChange],
    ) -> Result<Vec<std::result::Result<(), String>>> {
        let _span =
            tracing::debug_span!("ingest", device = %grant.device_id, changes = changes.len())
                .entered();
        let _guard = self.lock()?;
        let start = read_head(self.store.as_ref())?;
        let mut head = start;
        let mut batch = Batch::new();
        let mut touched: Touched = HashMap::new();
        let mut accepted_now: HashSet<ChangeHash> = HashSet::new();
        let mut out = Vec::with_capacity(changes.len());
        for pc in changes {
            // automerge may panic on a malformed change: that refuses the change, nothing
            // more (the document being changed is a fork until every check passed).
            let contained = contain(format!("change for {}", pc.doc), || {
                self.ingest_one(
                    grant,
                    pc,
                    &mut touched,
                    &mut batch,
                    &mut head,
                    &mut accepted_now,
                )
            });
            let outcome = match contained {
                Ok(outcome) => outcome,
                Err(Error::Corrupt { detail, .. }) => Err(format!("malformed change: {detail}")),
                Err(e) => return Err(e),
            };
            if let Err(reason) = &outcome {
                tracing::info!(device = %grant.device_id, doc = %pc.doc, reason, "change refused");
            }
            out.push(outcome);
        }
        if head != start {
            for (id, (doc, grid)) in &touched {
                batch.put(
                    RDOCS,
                    id.as_str().as_bytes().to_vec(),
                    encode(&RelayDoc {
                        grid: grid.clone(),
                        saved: doc.save_nocompress(),
                    })?,
                );
            }
            stage_head(&mut batch, head);
            self.store.commit(batch)?;
            self.head_tx.send_replace(head);
        }
        Ok(out)
    }

    fn load_doc(&self, id: &DocId) -> Result<Option<(Automerge, GridPath)>> {
        match self.store.get(RDOCS, id.as_str().as_bytes())? {
            None => Ok(None),
            Some(v) => {
                let rd: RelayDoc = decode("relay document", &v)?;
                let what = format!("relay document {id}");
                let doc = contain(what.clone(), || {
                    Automerge::load(&rd.saved).map_err(|e| Error::corrupt(what.clone(), e))
                })?;
                Ok(Some((doc, rd.grid)))
            }
        }
    }

    fn ingest_one(
        &self,
        grant: &DeviceGrant,
        pc: &PushedChange,
        touched: &mut Touched,
        batch: &mut Batch,
        head: &mut u64,
        accepted_now: &mut HashSet<ChangeHash>,
    ) -> Result<std::result::Result<(), String>> {
        if !grant.covers(&pc.grid) {
            return Ok(Err(format!(
                "grid {} is outside this device's scopes",
                pc.grid
            )));
        }
        if accepted_now.contains(&pc.hash) || self.store.get(HASHES, &pc.hash)?.is_some() {
            return Ok(Ok(()));
        }
        let change = match Change::from_bytes(pc.bytes.clone()) {
            Ok(c) => c,
            Err(e) => return Ok(Err(format!("malformed change: {e}"))),
        };
        if change.hash().0 != pc.hash {
            return Ok(Err("the hash does not match the change's bytes".into()));
        }
        if !touched.contains_key(&pc.doc) {
            let loaded = self
                .load_doc(&pc.doc)?
                .unwrap_or_else(|| (Automerge::new(), pc.grid.clone()));
            touched.insert(pc.doc.clone(), loaded);
        }
        let Some((doc, grid)) = touched.get_mut(&pc.doc) else {
            return Err(Error::Storage("document vanished during ingest".into()));
        };
        if *grid != pc.grid {
            return Ok(Err(format!(
                "document {} belongs to grid {grid}, not {}",
                pc.doc, pc.grid
            )));
        }
        if let Some(missing) = change
            .deps()
            .iter()
            .find(|d| doc.get_change_meta_by_hash(d).is_none())
        {
            return Ok(Err(format!(
                "depends on change {} that the relay does not have; push older changes first",
                &hex::encode(missing.0)[..12]
            )));
        }
        let mut next = doc.fork();
        if let Err(e) = next.apply_changes([change]) {
            return Ok(Err(format!("change does not apply: {e}")));
        }
        match grid_of(&next) {
            Ok(Some(g)) if g == pc.grid => {}
            Ok(Some(g)) => return Ok(Err(format!("the change moves the document to grid {g}"))),
            Ok(None) => return Ok(Err("the document has no grid".into())),
            Err(e) => return Ok(Err(format!("the document's grid is unreadable: {e}"))),
        }
        let id_field = next
            .get(automerge::ROOT, "id")
            .ok()
            .flatten()
            .and_then(|(v, _)| v.as_str().map(str::to_string));
        if id_field.as_deref() != Some(pc.doc.as_str()) {
            return Ok(Err(format!("the document does not call itself {}", pc.doc)));
        }
        *doc = next;
        *head += 1;
        let seq = head.to_be_bytes();
        let record = LogRecord {
            doc: pc.doc.clone(),
            grid: pc.grid.clone(),
            hash: pc.hash,
            bytes: pc.bytes.clone(),
            origin: grant.device_id.clone(),
        };
        batch.put(LOG, seq.to_vec(), encode(&record)?);
        batch.put(GRID_LOG, grid_key(&pc.grid, &seq), Vec::new());
        batch.put(GRIDS, pc.grid.as_str().as_bytes().to_vec(), Vec::new());
        batch.put(
            GDOCS,
            grid_key(&pc.grid, pc.doc.as_str().as_bytes()),
            Vec::new(),
        );
        batch.put(HASHES, pc.hash.to_vec(), seq.to_vec());
        accepted_now.insert(pc.hash);
        Ok(Ok(()))
    }
}
