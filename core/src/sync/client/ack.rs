//! The handset session's acknowledgements and rejoining a restored relay: what a
//! `PushAck` says of the push in flight (acknowledged, refused, deferred for a missing
//! dependency), and the lineage in `Welcome` (ADR 0012).

use tracing::warn;

use super::{ClientEvent, ClientSession};
use crate::error::Result;
use crate::sync::backend::{HandsetBackend, Rejoin};
use crate::sync::wire::{ChangeHash, Lineage, Refusal};

impl ClientSession {
    pub(super) fn on_ack(
        &mut self,
        id: u64,
        head: u64,
        refused: Vec<Refusal>,
        deferred: &[ChangeHash],
        backend: &mut dyn HandsetBackend,
    ) -> Result<()> {
        let done = self.pushes.complete(id, refused, deferred)?;
        let acked = done.acked;
        backend.acknowledge(&acked, head)?;
        let mut refused = done.refused;
        if !done.deferred.is_empty() {
            // Kept in the outbox unless they build on a change the relay refused.
            let built_on_refused = backend.built_on_refused(&done.deferred)?;
            warn!(
                deferred = done.deferred.len(),
                built_on_refused = built_on_refused.len(),
                "the relay lacks changes some pushed ones build on"
            );
            refused.extend(built_on_refused);
        }
        if !refused.is_empty() {
            backend.refuse(&refused)?;
        }
        self.stats.changes_accepted += acked.len() as u64;
        if !acked.is_empty() {
            self.events
                .push_back(ClientEvent::Acknowledged { count: acked.len() });
        }
        for refusal in refused {
            warn!(doc = %refusal.doc, seq = refusal.seq, reason = %refusal.reason, "relay refused a change");
            self.events.push_back(ClientEvent::Refused(refusal));
        }
        self.push_next(backend)
    }

    /// Handles the relay's lineage before anything else of the connection: after a
    /// relay restore, the cursor moved back (the pull already sent is answered for the old
    /// cursor, ignored, and pulled again) and the outbox is pushed again from its start.
    pub(super) fn rejoin(
        &mut self,
        lineage: &Lineage,
        backend: &mut dyn HandsetBackend,
    ) -> Result<()> {
        if let Rejoin::Rewound { requeued } = backend.rejoin(lineage)? {
            self.cursor = backend.cursor()?;
            warn!(
                generation = lineage.generation,
                requeued,
                cursor = ?self.cursor,
                "the relay was restored from a backup: pushing acknowledged work again"
            );
            self.pushes.restart();
            self.events
                .push_back(ClientEvent::RelayRestored { requeued });
            self.push_next(backend)?;
        }
        Ok(())
    }
}
