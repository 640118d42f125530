//! What the relay session does with a handset's pushes and pulls: each pushed change
//! checked ([`CheckedChange::check`]) and handed to the backend, each batch restricted to
//! the scopes asked for and granted, with echoes of this connection's own changes left out.

use tracing::{debug, warn};

use super::{MAX_ECHO_MEMORY, RelaySession};
use crate::error::Error;
use crate::ids::GridPath;
use crate::sync::backend::{DeviceGrant, NotIngested, RelayBackend};
use crate::sync::checked::{CheckedChange, Unchecked, sha256};
use crate::sync::wire::{Cursor, Payload, PushedChange, Refusal, RelayMsg};
use crate::sync::{BULK_THRESHOLD, Lane, entries_bytes};

impl RelaySession {
    pub(super) fn push(
        &mut self,
        grant: &DeviceGrant,
        id: u64,
        changes: Vec<PushedChange>,
        backend: &dyn RelayBackend,
    ) {
        self.stats.changes += changes.len() as u64;
        self.stats.pushes += 1;
        let mut refused = Vec::new();
        let mut inside = Vec::with_capacity(changes.len());
        for change in changes {
            match CheckedChange::check_counted(grant, change) {
                Ok(checked) => inside.push(checked),
                Err((refusal, why)) => {
                    match why {
                        Unchecked::Malformed => self.stats.refused_malformed += 1,
                        Unchecked::TooLarge => self.stats.refused_too_large += 1,
                        Unchecked::NotWritable => self.stats.refused_scope += 1,
                    }
                    refused.push(refusal);
                }
            }
        }
        let outcomes = if inside.is_empty() {
            Vec::new()
        } else {
            match backend.ingest(grant, &inside) {
                Ok(outcomes) if outcomes.len() == inside.len() => outcomes,
                Ok(outcomes) => {
                    let detail =
                        format!("{} outcomes for {} changes", outcomes.len(), inside.len());
                    return self.fail(Error::Storage(format!(
                        "ingest broke its contract: {detail}"
                    )));
                }
                Err(e) => return self.fail(e),
            }
        };
        let mut accepted = 0usize;
        let mut deferred = Vec::new();
        for (checked, outcome) in inside.iter().zip(outcomes) {
            let change = checked.pushed();
            match outcome {
                Ok(()) => {
                    if self.pushed.len() < MAX_ECHO_MEMORY {
                        self.pushed.insert(sha256(&change.bytes));
                    }
                    accepted += 1;
                }
                Err(NotIngested::Refused(reason)) => {
                    self.stats.refused_admission += 1;
                    warn!(doc = %change.doc, %reason, "ingest refused a change");
                    refused.push(Refusal {
                        hash: change.hash,
                        reason,
                    });
                }
                Err(NotIngested::MissingDependency(reason)) => {
                    self.stats.deferred += 1;
                    warn!(doc = %change.doc, %reason, "change deferred: a dependency is missing");
                    deferred.push(change.hash);
                }
            }
        }
        self.stats.changes_accepted += accepted as u64;
        let head = match backend.head() {
            Ok(head) => head,
            Err(e) => return self.fail(e),
        };
        debug!(
            id,
            accepted,
            refused = refused.len(),
            deferred = deferred.len(),
            "push handled"
        );
        let ack = RelayMsg::PushAck {
            id,
            head,
            refused,
            deferred,
        };
        self.send(ack, Lane::Control);
    }

    pub(super) fn pull(
        &mut self,
        grant: &DeviceGrant,
        from: Cursor,
        live: bool,
        backend: &dyn RelayBackend,
    ) {
        let scopes = self.narrowed.as_deref().unwrap_or(grant.scopes());
        let batch = match backend.pull(scopes, &from, self.live_bytes as usize) {
            Ok(batch) => batch,
            Err(e) => return self.fail(e),
        };
        let total = batch.entries.len();
        let mut entries: Vec<_> = batch
            .entries
            .into_iter()
            .filter(|e| scopes.iter().any(|s| e.grid.is_within(s)))
            .collect();
        if entries.len() < total {
            warn!(
                dropped = total - entries.len(),
                "backend returned entries outside the scopes"
            );
        }
        let in_scopes = entries.len();
        if !self.pushed.is_empty() {
            entries.retain(
                |e| !matches!(&e.payload, Payload::Change(b) if self.pushed.contains(&sha256(b))),
            );
        }
        if live && in_scopes == 0 && !batch.more {
            return; // nothing in the handset's scopes: the log moved elsewhere
        }
        // A live batch left empty by echo suppression still goes out: it moves the
        // handset's cursor past its own changes, so a reconnect does not pull them again.
        let bytes = entries_bytes(&entries);
        self.stats.entries += entries.len() as u64;
        self.stats.entry_bytes += bytes as u64;
        if live {
            self.stats.live_batches += 1;
            self.stats.live_entry_bytes += bytes as u64;
        }
        self.caught_up = !batch.more;
        self.client_cursor = Some(batch.next.clone());
        debug!(
            live,
            entries = entries.len(),
            bytes,
            more = batch.more,
            "batch"
        );
        let lane = if bytes > BULK_THRESHOLD {
            Lane::Bulk
        } else {
            Lane::Control
        };
        let msg = RelayMsg::Batch {
            from,
            next: batch.next,
            entries,
            more: batch.more,
            live,
        };
        self.send(msg, lane);
    }
}

/// The scopes a pull asks for, kept to those inside the grant (`None`: every granted
/// scope). A scope the device was not granted is dropped, not answered.
pub(super) fn narrow(grant: &DeviceGrant, asked: Vec<GridPath>) -> Option<Vec<GridPath>> {
    if asked.is_empty() {
        return None;
    }
    let total = asked.len();
    let kept: Vec<GridPath> = asked.into_iter().filter(|s| grant.covers(s)).collect();
    if kept.len() < total {
        warn!(
            dropped = total - kept.len(),
            "pull asked for scopes outside the grant"
        );
    }
    Some(kept)
}
