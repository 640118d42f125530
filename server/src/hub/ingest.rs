//! Accepting pushed changes. The session has parsed each one and checked its scope
//! ([`CheckedChange`]); here: its dependencies, its grid and the document's identity; then
//! append to the log and update the document, all in one atomic commit per push, made
//! durable (by a flush shared with concurrent pushes) before the push is acknowledged. A
//! refused change is stored nowhere.
//!
//! The work that needs no relay state runs before the writer lock is taken, so pushes on
//! different connections use every core: for the first change of a document (most visits
//! are one change), building and checking the whole document. Under the lock only what
//! depends on the relay's state is left.

mod apply;
mod prepare;
mod reads;

use std::collections::{HashMap, HashSet};

use automerge::{Automerge, Change};
use gridsync_core::error::{Error, Result};
use gridsync_core::ids::{DocId, GridPath, now as now_ms};
use gridsync_core::model::admit::Admission;
use gridsync_core::store::Batch;
use gridsync_core::sync::CheckedChange;
use gridsync_core::sync::backend::{DeviceGrant, NotIngested};
use gridsync_core::sync::wire::{ChangeHash, PushedChange};
use gridsync_core::untrusted::contain;

use self::apply::apply_checked;
use self::prepare::{Prepared, prepare};
use self::reads::Reads;
use super::{
    GDOCS, GRID_LOG, GRIDS, HASHES, HEAD_KEY, Hub, LOG, LogRecord, RDOCS, RMETA, RelayDoc, decode,
    encode, grid_days, grid_key, read_head_as_held, stage_head,
};

/// A document touched by one push.
enum Touched {
    /// Created by this push from one change: stored as that change (automerge loads a
    /// change chunk as a document), with no document to save.
    Fresh(Vec<u8>, GridPath),
    /// Loaded (or created) and changed: saved at the end of the push. The size is the
    /// saved document's as loaded plus the changes applied since (an upper bound of
    /// what it saves to, checked against [`MAX_DOCUMENT_BYTES`]).
    Doc(Box<Automerge>, GridPath, usize),
}

/// Largest a document may grow on the relay (4 MiB, saved). A household's whole history
/// is tens of kilobytes; the limit keeps one device from growing a document no snapshot
/// batch can carry to the others (a batch travels in one frame of at most
/// [`gridsync_core::sync::MAX_FRAME`]).
pub const MAX_DOCUMENT_BYTES: usize = 4 << 20;

type TouchedDocs = HashMap<DocId, Touched>;

/// Per change of a push, in order: accepted or why not.
type Outcomes = Vec<std::result::Result<(), NotIngested>>;

/// Times a push is numbered again after other nodes committed first, before it fails
/// (the handset pushes it again later).
const MAX_CONFLICT_RETRIES: usize = 64;

impl Hub {
    pub(crate) fn ingest_changes(
        &self,
        grant: &DeviceGrant,
        changes: &[CheckedChange],
    ) -> Result<Vec<std::result::Result<(), NotIngested>>> {
        let _span =
            tracing::debug_span!("ingest", device = %grant.device_id, changes = changes.len())
                .entered();
        // Grids lost in a recent rescope stay writable: checked as if still granted.
        let grant = &DeviceGrant {
            grants: grant.writing_grants(),
            ..grant.clone()
        };
        let now = now_ms();
        let reads = Reads::new(self.store.as_ref());
        reads.prefetch(RDOCS, changes.iter().map(|c| doc_key(&c.pushed().doc)))?;
        let stored = |id: &DocId| self.stored_grid(&reads, id);
        let in_push: HashMap<&DocId, &GridPath> = changes
            .iter()
            .map(|c| (&c.pushed().doc, &c.pushed().grid))
            .collect();
        let prepared: Vec<Prepared> = changes
            .iter()
            .map(|c| prepare(c, &grant.grants, now, &stored, &in_push))
            .collect();
        // On a database other relay nodes share, a node that committed first makes this
        // push's numbering stale: number it again from the new head.
        let mut attempts = 0;
        let (out, head) = loop {
            let guard = self.lock()?;
            // Other nodes on a shared database wait too (only a conflict if they did not).
            let writers = self.store.lock_writers()?;
            let locked = self.ingest_locked(grant, changes, prepared.clone(), now);
            drop(writers);
            match locked {
                Err(Error::Conflict { .. }) if attempts < MAX_CONFLICT_RETRIES => {
                    drop(guard);
                    attempts += 1;
                    self.metrics.push_conflicts.inc();
                }
                done => {
                    drop(guard);
                    break done?;
                }
            }
        };
        // Flush outside the lock: the next push builds its batch meanwhile, and pushes
        // that commit during this flush share the next one. A change this push found
        // already accepted (by a push still flushing) is durable once this flush returns,
        // since a flush covers every commit before it.
        self.make_durable(head)?;
        Ok(out)
    }

    /// Numbers, checks and commits a push under the writer lock (held by the caller):
    /// the outcomes and the head after it. [`Error::Conflict`]: another node committed
    /// first, nothing was written.
    fn ingest_locked(
        &self,
        grant: &DeviceGrant,
        changes: &[CheckedChange],
        prepared: Vec<Prepared>,
        now: i64,
    ) -> Result<(Outcomes, u64)> {
        let (held, start) = read_head_as_held(self.store.as_ref())?;
        // Whatever other nodes committed up to `start` goes into the tail first: the head
        // published after this push (even one that adds nothing) must not pass changes
        // the tail lacks, or live pulls would step over them.
        self.catch_up_tail(start)?;
        if self.is_shared() {
            // Refused if the database lost commits (`follow.rs`).
            self.refuse_if_behind(start)?;
        }
        // Read afresh under the lock: other pushes committed since `prepare`.
        let reads = Reads::new(self.store.as_ref());
        reads.prefetch(RDOCS, changes.iter().map(|c| doc_key(&c.pushed().doc)))?;
        reads.prefetch(HASHES, changes.iter().map(|c| c.pushed().hash.to_vec()))?;
        let mut head = start;
        let mut batch = Batch::new();
        let mut touched: TouchedDocs = HashMap::new();
        let mut accepted_now: HashSet<ChangeHash> = HashSet::new();
        // Changes accepted per grid: the `grids` index and the day's counts.
        let mut grids: HashMap<GridPath, u64> = HashMap::new();
        let mut out = Vec::with_capacity(changes.len());
        // What this push appends to the log, for the tail once committed.
        let mut appended: Vec<(u64, GridPath)> = Vec::new();
        for (pc, prep) in changes.iter().map(CheckedChange::pushed).zip(prepared) {
            // automerge may panic on a malformed change: that refuses the change, nothing
            // more (the document being changed is a fork until every check passed).
            let contained = contain(format!("change for {}", pc.doc), || {
                let accepted = match prep {
                    Prepared::Refused(reason) => return Ok(Err(NotIngested::Refused(reason))),
                    // Repeated within this push.
                    _ if accepted_now.contains(&pc.hash) => return Ok(Ok(())),
                    Prepared::Parsed(change) => {
                        self.accept(&reads, pc, change, grant, now, &mut touched)?
                    }
                    Prepared::Fresh(change, relied_on) => {
                        let stands = relied_on.iter().all(|d| touched.contains_key(d));
                        if stands {
                            self.accept_fresh(&reads, pc, change, grant, now, &mut touched)?
                        } else {
                            self.accept(&reads, pc, change, grant, now, &mut touched)?
                        }
                    }
                };
                if accepted == Ok(true) {
                    head += 1;
                    stage_log(&mut batch, grant, pc, head, &mut grids)?;
                    appended.push((head, pc.grid.clone()));
                    accepted_now.insert(pc.hash);
                }
                Ok(accepted.map(|_| ()))
            });
            let outcome = match contained {
                Ok(outcome) => outcome,
                Err(Error::Corrupt { detail, .. }) => {
                    Err(NotIngested::Refused(format!("malformed change: {detail}")))
                }
                Err(e) => return Err(e),
            };
            if let Err(why) = &outcome {
                let reason = why.reason();
                tracing::info!(device = %grant.device_id, doc = %pc.doc, reason, "change not stored");
            }
            out.push(outcome);
        }
        if head != start {
            for (id, t) in &touched {
                let (grid, saved) = match t {
                    Touched::Fresh(bytes, grid) => (grid.clone(), bytes.clone()),
                    Touched::Doc(doc, grid, _) => (grid.clone(), doc.save_nocompress()),
                };
                batch.put(
                    RDOCS,
                    id.as_str().as_bytes().to_vec(),
                    encode(&RelayDoc { grid, saved })?,
                );
            }
            self.stage_grid_days(&mut batch, &grids, grid_days::day_of(now))?;
            stage_head(&mut batch, head);
            // The head this push was numbered from must still be the head when it lands.
            batch.expect(RMETA, HEAD_KEY.to_vec(), held);
            self.store.commit(batch)?;
            self.tail.extend(appended);
            self.committed_push();
        }
        Ok((out, head))
    }

    /// The relay's document, its grid and its saved size.
    fn load_doc(
        &self,
        reads: &Reads<'_>,
        id: &DocId,
    ) -> Result<Option<(Automerge, GridPath, usize)>> {
        match reads.get(RDOCS, id.as_str().as_bytes())? {
            None => Ok(None),
            Some(v) => {
                let rd: RelayDoc = decode("relay document", &v)?;
                let what = format!("relay document {id}");
                let doc = contain(what.clone(), || {
                    Automerge::load(&rd.saved).map_err(|e| Error::corrupt(what.clone(), e))
                })?;
                Ok(Some((doc, rd.grid, rd.saved.len())))
            }
        }
    }

    /// Whether the relay has logged this change already (in an earlier push).
    fn logged(&self, reads: &Reads<'_>, hash: &ChangeHash) -> Result<bool> {
        Ok(reads.get(HASHES, hash)?.is_some())
    }

    /// A prepared first change: taken as it is when the document is new to the relay.
    /// `Ok(true)`: accepted and new; `Ok(false)`: a repeat.
    fn accept_fresh(
        &self,
        reads: &Reads<'_>,
        pc: &PushedChange,
        change: Change,
        grant: &DeviceGrant,
        now: i64,
        touched: &mut TouchedDocs,
    ) -> Result<std::result::Result<bool, NotIngested>> {
        let known = touched.contains_key(&pc.doc)
            || reads.get(RDOCS, pc.doc.as_str().as_bytes())?.is_some();
        if known {
            // `accept` checks for a repeat itself.
            return self.accept(reads, pc, change, grant, now, touched);
        }
        if self.logged(reads, &pc.hash)? {
            return Ok(Ok(false));
        }
        touched.insert(
            pc.doc.clone(),
            Touched::Fresh(pc.bytes.clone(), pc.grid.clone()),
        );
        Ok(Ok(true))
    }

    /// A change applied to the document the relay holds (or an empty one), checked.
    /// `Ok(true)`: accepted and new; `Ok(false)`: a repeat.
    fn accept(
        &self,
        reads: &Reads<'_>,
        pc: &PushedChange,
        change: Change,
        grant: &DeviceGrant,
        now: i64,
        touched: &mut TouchedDocs,
    ) -> Result<std::result::Result<bool, NotIngested>> {
        if self.logged(reads, &pc.hash)? {
            return Ok(Ok(false));
        }
        let (doc, grid, size, was_touched) = match touched.remove(&pc.doc) {
            Some(Touched::Doc(doc, grid, size)) => (*doc, grid, size, true),
            Some(Touched::Fresh(bytes, grid)) => {
                (load_change(&pc.doc, &bytes)?, grid, bytes.len(), true)
            }
            None => match self.load_doc(reads, &pc.doc)? {
                Some((doc, grid, size)) => (doc, grid, size, false),
                None => (Automerge::new(), pc.grid.clone(), 0, false),
            },
        };
        let size = size + pc.bytes.len();
        if size > MAX_DOCUMENT_BYTES {
            if was_touched {
                let restored = Touched::Doc(Box::new(doc), grid, size - pc.bytes.len());
                touched.insert(pc.doc.clone(), restored);
            }
            return Ok(Err(NotIngested::Refused(format!(
                "the document would grow to about {size} bytes, over the relay's limit of \
                 {MAX_DOCUMENT_BYTES} bytes for one document"
            ))));
        }
        let grid_of = |id: &DocId| match touched.get(id) {
            Some(Touched::Fresh(_, g) | Touched::Doc(_, g, _)) => Some(g.clone()),
            None => self.stored_grid(reads, id),
        };
        let admission = Admission {
            grants: &grant.grants,
            now,
            grid_of: &grid_of,
        };
        let checked = apply_checked(&doc, &grid, pc, change, &admission);
        Ok(match checked {
            Ok(next) => {
                touched.insert(pc.doc.clone(), Touched::Doc(Box::new(next), grid, size));
                Ok(true)
            }
            Err(reason) => {
                // Only what this push already changed is saved: a refused change leaves
                // the relay's document (or its absence) as it was.
                if was_touched {
                    let size = size - pc.bytes.len();
                    touched.insert(pc.doc.clone(), Touched::Doc(Box::new(doc), grid, size));
                }
                Err(reason)
            }
        })
    }
}

impl Hub {
    /// The grid of a document the relay holds (for references), `None` when it holds none
    /// or cannot read it.
    fn stored_grid(&self, reads: &Reads<'_>, id: &DocId) -> Option<GridPath> {
        let saved = reads.get(RDOCS, id.as_str().as_bytes()).ok().flatten()?;
        decode::<RelayDoc>("relay document", &saved)
            .ok()
            .map(|d| d.grid)
    }
}

fn doc_key(id: &DocId) -> Vec<u8> {
    id.as_str().as_bytes().to_vec()
}

fn load_change(id: &DocId, bytes: &[u8]) -> Result<Automerge> {
    let what = format!("relay document {id}");
    Automerge::load(bytes).map_err(|e| Error::corrupt(what, e))
}

/// Stages one accepted change: the log entry and the indexes that find it.
fn stage_log(
    batch: &mut Batch,
    grant: &DeviceGrant,
    pc: &PushedChange,
    head: u64,
    grids: &mut HashMap<GridPath, u64>,
) -> Result<()> {
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
    if let Some(n) = grids.get_mut(&pc.grid) {
        *n += 1;
    } else {
        grids.insert(pc.grid.clone(), 1);
        batch.put(GRIDS, pc.grid.as_str().as_bytes().to_vec(), Vec::new());
    }
    batch.put(
        GDOCS,
        grid_key(&pc.grid, pc.doc.as_str().as_bytes()),
        Vec::new(),
    );
    batch.put(HASHES, pc.hash.to_vec(), seq.to_vec());
    Ok(())
}
