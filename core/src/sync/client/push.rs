//! The push half of a handset session: which outbox items went out on this connection,
//! which push is in flight, and what its acknowledgement covers.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::ids::DocId;
use crate::sync::backend::{HandsetBackend, RefusedChange};
use crate::sync::wire::{ChangeHash, PushedChange, Refusal};

/// What an acknowledgement says of the push in flight.
#[derive(Debug)]
pub(super) struct Completed {
    /// Outbox seqs now durable on the relay.
    pub(super) acked: Vec<u64>,
    /// Refused for good, matched to their outbox entries.
    pub(super) refused: Vec<RefusedChange>,
    /// Not stored for a missing dependency, matched to their outbox entries.
    pub(super) deferred: Vec<RefusedChange>,
}

/// One change of the push in flight: its outbox seq, its record and its hash.
#[derive(Debug)]
struct Sent {
    seq: u64,
    doc: DocId,
    hash: ChangeHash,
}

/// The push in flight.
#[derive(Debug)]
struct InFlight {
    id: u64,
    /// Every change in the push.
    changes: Vec<Sent>,
}

/// Push bookkeeping for one connection: at most one push in flight, ids increasing from
/// 1, and no outbox item sent twice.
#[derive(Debug)]
pub(super) struct Pushes {
    in_flight: Option<InFlight>,
    next_id: u64,
    /// Highest outbox seq sent on this connection.
    sent_through: Option<u64>,
}

impl Pushes {
    pub(super) fn new() -> Self {
        Pushes {
            in_flight: None,
            next_id: 1,
            sent_through: None,
        }
    }

    /// The highest outbox seq sent on this connection.
    pub(super) fn sent_through(&self) -> Option<u64> {
        self.sent_through
    }

    /// True while a push awaits its acknowledgement.
    pub(super) fn in_flight(&self) -> bool {
        self.in_flight.is_some()
    }

    /// The next chunk to push (its id and changes), unless a push is in flight or every
    /// outbox item was already sent on this connection.
    pub(super) fn next_chunk(
        &mut self,
        backend: &dyn HandsetBackend,
        max_bytes: usize,
    ) -> Result<Option<(u64, Vec<PushedChange>)>> {
        if self.in_flight.is_some() {
            return Ok(None);
        }
        let sent = self.sent_through;
        let items = backend.outbox_after(sent, max_bytes)?;
        // Never send an item twice on one connection, whatever the backend returns.
        let items: Vec<_> = items
            .into_iter()
            .filter(|i| sent.is_none_or(|s| i.seq > s))
            .collect();
        let Some(last) = items.iter().map(|i| i.seq).max() else {
            return Ok(None);
        };
        self.sent_through = Some(last);
        let id = self.next_id;
        self.next_id += 1;
        let sent = (items.iter())
            .map(|i| Sent {
                seq: i.seq,
                doc: i.change.doc.clone(),
                hash: i.change.hash,
            })
            .collect();
        let changes: Vec<_> = items.into_iter().map(|i| i.change).collect();
        self.in_flight = Some(InFlight { id, changes: sent });
        Ok(Some((id, changes)))
    }

    /// Sends the outbox from its start again with the next chunk (changes put back into it
    /// after a relay restore have older seqs than what was sent).
    pub(super) fn restart(&mut self) {
        self.sent_through = None;
    }

    /// Matches an acknowledgement to the push in flight: the outbox seqs accepted (every
    /// change of the push neither refused nor deferred), and the refusals and deferrals
    /// that concern that push, matched to the outbox entries that carried them (anything
    /// else the relay names is ignored).
    pub(super) fn complete(
        &mut self,
        id: u64,
        refused: Vec<Refusal>,
        deferred: &[ChangeHash],
    ) -> Result<Completed> {
        let push = match self.in_flight.take() {
            Some(push) if push.id == id => push,
            other => {
                self.in_flight = other;
                let msg = format!("relay acknowledged push {id}, which is not in flight");
                return Err(Error::Protocol(msg));
            }
        };
        let mut reasons: HashMap<ChangeHash, String> = HashMap::new();
        for r in refused {
            reasons.entry(r.hash).or_insert(r.reason);
        }
        let (mut acked, mut matched) = (Vec::new(), Vec::new());
        let mut put_off = Vec::new();
        for sent in push.changes {
            if deferred.contains(&sent.hash) {
                put_off.push(RefusedChange {
                    seq: sent.seq,
                    doc: sent.doc,
                    hash: sent.hash,
                    reason: "the relay lacks a change this one builds on".into(),
                });
                continue;
            }
            match reasons.get(&sent.hash) {
                Some(reason) => matched.push(RefusedChange {
                    seq: sent.seq,
                    doc: sent.doc,
                    hash: sent.hash,
                    reason: reason.clone(),
                }),
                None => acked.push(sent.seq),
            }
        }
        Ok(Completed {
            acked,
            refused: matched,
            deferred: put_off,
        })
    }
}
