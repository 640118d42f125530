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

use std::collections::{HashMap, HashSet};

use automerge::{Automerge, Change};
use gridsync_core::error::{Error, Result};
use gridsync_core::ids::{DocId, GridPath, now as now_ms};
use gridsync_core::model::Grants;
use gridsync_core::model::admit::{Admission, GridOf};
use gridsync_core::store::Batch;
use gridsync_core::sync::CheckedChange;
use gridsync_core::sync::backend::{DeviceGrant, NotIngested};
use gridsync_core::sync::wire::{ChangeHash, PushedChange};
use gridsync_core::untrusted::contain;

use self::apply::apply_checked;
use super::{
    GDOCS, GRID_LOG, GRIDS, HASHES, Hub, LOG, LogRecord, RDOCS, RelayDoc, decode, encode,
    grid_days, grid_key, read_head, stage_head,
};

/// What a change looks like before the relay's state is consulted.
enum Prepared {
    /// Refused whatever the relay holds (the decoder failed on it).
    Refused(String),
    /// A change to build on the document the relay holds.
    Parsed(Change),
    /// A document's first change (no dependencies), already applied to an empty document
    /// and checked: accepted as it is unless the relay has the document already. The ids
    /// are the documents of the same push its references were checked against (a visit
    /// to a household registered in the same push): it stands only if they were accepted.
    Fresh(Change, Vec<DocId>),
}

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
        let stored = |id: &DocId| self.stored_grid(id);
        let in_push: HashMap<&DocId, &GridPath> = changes
            .iter()
            .map(|c| (&c.pushed().doc, &c.pushed().grid))
            .collect();
        let prepared: Vec<Prepared> = changes
            .iter()
            .map(|c| prepare(c, &grant.grants, now, &stored, &in_push))
            .collect();
        let guard = self.lock()?;
        let start = read_head(self.store.as_ref())?;
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
                        self.accept(pc, change, grant, now, &mut touched)?
                    }
                    Prepared::Fresh(change, relied_on) => {
                        let stands = relied_on.iter().all(|d| touched.contains_key(d));
                        if stands {
                            self.accept_fresh(pc, change, grant, now, &mut touched)?
                        } else {
                            self.accept(pc, change, grant, now, &mut touched)?
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
            self.store.commit(batch)?;
            self.tail.extend(appended);
            self.committed_push();
        }
        // Flush outside the lock: the next push builds its batch meanwhile, and pushes
        // that commit during this flush share the next one. A change this push found
        // already accepted (by a push still flushing) is durable once this flush returns,
        // since a flush covers every commit before it.
        drop(guard);
        self.make_durable(head)?;
        Ok(out)
    }

    /// The relay's document, its grid and its saved size.
    fn load_doc(&self, id: &DocId) -> Result<Option<(Automerge, GridPath, usize)>> {
        match self.store.get(RDOCS, id.as_str().as_bytes())? {
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
    fn logged(&self, hash: &ChangeHash) -> Result<bool> {
        Ok(self.store.get(HASHES, hash)?.is_some())
    }

    /// A prepared first change: taken as it is when the document is new to the relay.
    /// `Ok(true)`: accepted and new; `Ok(false)`: a repeat.
    fn accept_fresh(
        &self,
        pc: &PushedChange,
        change: Change,
        grant: &DeviceGrant,
        now: i64,
        touched: &mut TouchedDocs,
    ) -> Result<std::result::Result<bool, NotIngested>> {
        let known = touched.contains_key(&pc.doc)
            || self.store.get(RDOCS, pc.doc.as_str().as_bytes())?.is_some();
        if known {
            // `accept` checks for a repeat itself.
            return self.accept(pc, change, grant, now, touched);
        }
        if self.logged(&pc.hash)? {
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
        pc: &PushedChange,
        change: Change,
        grant: &DeviceGrant,
        now: i64,
        touched: &mut TouchedDocs,
    ) -> Result<std::result::Result<bool, NotIngested>> {
        if self.logged(&pc.hash)? {
            return Ok(Ok(false));
        }
        let (doc, grid, size, was_touched) = match touched.remove(&pc.doc) {
            Some(Touched::Doc(doc, grid, size)) => (*doc, grid, size, true),
            Some(Touched::Fresh(bytes, grid)) => {
                (load_change(&pc.doc, &bytes)?, grid, bytes.len(), true)
            }
            None => match self.load_doc(&pc.doc)? {
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
            None => self.stored_grid(id),
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
    fn stored_grid(&self, id: &DocId) -> Option<GridPath> {
        self.doc_grid(id).ok().flatten()
    }
}

fn load_change(id: &DocId, bytes: &[u8]) -> Result<Automerge> {
    let what = format!("relay document {id}");
    Automerge::load(bytes).map_err(|e| Error::corrupt(what, e))
}

/// Everything that can be checked without the relay's state. A reference to a document
/// the relay does not hold is checked against the grid its change in this push (`in_push`)
/// names, and remembered: see [`Prepared::Fresh`].
fn prepare(
    checked: &CheckedChange,
    grants: &Grants,
    now: i64,
    stored: GridOf<'_>,
    in_push: &HashMap<&DocId, &GridPath>,
) -> Prepared {
    let (pc, change) = (checked.pushed(), checked.change());
    if !change.deps().is_empty() {
        return Prepared::Parsed(change.clone());
    }
    let relied_on = std::cell::RefCell::new(Vec::new());
    let grid_of = |id: &DocId| {
        stored(id).or_else(|| {
            let grid = in_push.get(id).map(|g| (*g).clone())?;
            relied_on.borrow_mut().push(id.clone());
            Some(grid)
        })
    };
    let admission = Admission {
        grants,
        now,
        grid_of: &grid_of,
    };
    let fresh = contain(format!("change for {}", pc.doc), || {
        Ok(apply_checked(&Automerge::new(), &pc.grid, pc, change.clone(), &admission).is_ok())
    });
    match fresh {
        Ok(true) => Prepared::Fresh(change.clone(), relied_on.into_inner()),
        // Checked again under the lock against what the relay holds.
        Ok(false) => Prepared::Parsed(change.clone()),
        Err(e) => Prepared::Refused(format!("malformed change: {e}")),
    }
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
