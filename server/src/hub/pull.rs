//! Answering pulls. A fresh handset gets compacted snapshots of every document in its
//! scopes as of the current log head, in (grid, document) order and resumable from the
//! last document received; then, like every other handset, the log entries in its scopes
//! after its cursor, in sequence order.

use gridsync_core::error::Result;
use gridsync_core::ids::{DocId, GridPath};
use gridsync_core::store::Scan;
use gridsync_core::sync::backend::PullBatch;
use gridsync_core::sync::wire::{Cursor, Entry, Payload};
use gridsync_core::untrusted::contain;

use super::{GDOCS, GRID_LOG, GRIDS, Hub, LOG, LogRecord, RDOCS, RelayDoc, decode, grid_key};

/// Per-grid page when merging grid logs.
const PAGE: usize = 256;
/// Most sequences taken from the in-memory tail for one pull.
const TAIL_PAGE: usize = 4_096;
/// Log records read at once (one round trip on a database).
const LOG_READS: usize = 64;

/// Sorted scopes with nested ones removed (a grant of `a` already covers `a/b`).
fn normalise(scopes: &[GridPath]) -> Vec<GridPath> {
    let mut s = scopes.to_vec();
    s.sort();
    s.dedup();
    let all = s.clone();
    s.retain(|g| !all.iter().any(|o| o != g && g.is_within(o)));
    s
}

/// Whether stored bytes are an automerge change chunk (magic, checksum, then chunk type 1
/// or 2: change, compressed change) rather than a saved document (type 0).
fn is_change_chunk(b: &[u8]) -> bool {
    b.len() > 9 && b[..4] == [0x85, 0x6f, 0x4a, 0x83] && matches!(b[8], 1 | 2)
}

fn split_grid_key(k: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = k.iter().position(|b| *b == 0)?;
    Some((&k[..i], &k[i + 1..]))
}

impl Hub {
    pub(crate) fn pull_batch(
        &self,
        scopes: &[GridPath],
        cursor: &Cursor,
        max_bytes: usize,
    ) -> Result<PullBatch> {
        // Only what is on disk goes out: a cursor never passes a sequence that a crash
        // could hand to another change.
        let head = self.current_head()?;
        let scopes = normalise(scopes);
        match cursor {
            Cursor::Fresh => self.snapshot(&scopes, head, head, None, max_bytes),
            Cursor::Snapshot {
                high_water,
                after_doc,
            } if *high_water <= head => {
                self.snapshot(&scopes, head, *high_water, after_doc.as_ref(), max_bytes)
            }
            Cursor::Log { after } if *after <= head => {
                self.log_after(&scopes, *after, head, max_bytes)
            }
            other => {
                // A relay restored from an older backup: the handset moves its cursor back
                // when it reads the lineage in Welcome and ignores this answer to its
                // first pull, so send nothing but where to go, not a snapshot batch. A
                // handset that did not move back starts over from there.
                tracing::info!(
                    ?other,
                    head,
                    "cursor ahead of the relay's log; the handset starts over"
                );
                Ok(PullBatch {
                    entries: Vec::new(),
                    next: Cursor::Fresh,
                    more: true,
                })
            }
        }
    }

    /// Snapshots of the documents in `scopes` after `after_doc`, in (grid, document)
    /// order, until `max_bytes`; then on to the log after `high_water`.
    fn snapshot(
        &self,
        scopes: &[GridPath],
        head: u64,
        high_water: u64,
        after_doc: Option<&DocId>,
        max_bytes: usize,
    ) -> Result<PullBatch> {
        let resume = self.resume_at(scopes, after_doc)?;
        let mut entries = Vec::new();
        let mut bytes = 0usize;
        for (i, scope) in scopes.iter().enumerate() {
            // Scopes before the one the last document came from are done; that one
            // resumes after the document; later ones start at their beginning.
            let mut after = match &resume {
                Some((at, _)) if i < *at => continue,
                Some((at, key)) if i == *at => Some(key.clone()),
                _ => None,
            };
            let prefix = scope.as_str().as_bytes();
            loop {
                let page = self.store.scan(
                    GDOCS,
                    Scan {
                        prefix,
                        after: after.as_deref(),
                        limit: 64,
                        reverse: false,
                    },
                )?;
                let Some((last, _)) = page.last() else { break };
                after = Some(last.clone());
                let named: Vec<(GridPath, DocId)> = page
                    .iter()
                    .map(|(k, _)| snapshot_key(scope, k))
                    .collect::<Result<Vec<_>>>()?
                    .into_iter()
                    .flatten()
                    .collect();
                let keys: Vec<Vec<u8>> = named
                    .iter()
                    .map(|(_, d)| d.as_str().as_bytes().to_vec())
                    .collect();
                let saved = self.store.get_many(RDOCS, &keys)?;
                for ((grid, doc), v) in named.into_iter().zip(saved) {
                    let Some(v) = v else { continue };
                    let rd: RelayDoc = decode("relay document", &v)?;
                    let payload = snapshot_payload(&doc, rd)?;
                    let entry = Entry { doc, grid, payload };
                    bytes += payload_len(&entry.payload);
                    let doc = entry.doc.clone();
                    entries.push(entry);
                    if bytes >= max_bytes {
                        let next = Cursor::Snapshot {
                            high_water,
                            after_doc: Some(doc),
                        };
                        return Ok(PullBatch {
                            entries,
                            next,
                            more: true,
                        });
                    }
                }
            }
        }
        Ok(PullBatch {
            entries,
            next: Cursor::Log { after: high_water },
            more: head > high_water,
        })
    }

    /// Where a snapshot resumes: the index in `scopes` of the scope holding `after_doc`,
    /// and the document's `gdocs` key. `None` (start over) for no document, or one the
    /// relay does not know or that lies in none of the scopes.
    ///
    /// Scopes are walked in their sorted order, which is not the byte order of their keys
    /// (`a/b-x` sorts after `a/b` but its keys come first, `-` < `/`), so the position is
    /// the scope's index, never a comparison of keys across scopes.
    fn resume_at(
        &self,
        scopes: &[GridPath],
        after_doc: Option<&DocId>,
    ) -> Result<Option<(usize, Vec<u8>)>> {
        let Some(doc) = after_doc else {
            return Ok(None);
        };
        let Some(grid) = self.doc_grid(doc)? else {
            return Ok(None);
        };
        Ok(scopes
            .iter()
            .position(|s| grid.is_within(s))
            .map(|i| (i, grid_key(&grid, doc.as_str().as_bytes()))))
    }

    /// The log entries in `scopes` after sequence `after` (up to `head`), in sequence
    /// order, until `max_bytes`. Every entry in the scopes goes out, the pulling device's
    /// own as well: the session leaves out what its connection pushed.
    fn log_after(
        &self,
        scopes: &[GridPath],
        after: u64,
        head: u64,
        max_bytes: usize,
    ) -> Result<PullBatch> {
        let (candidates, bound) = self.log_candidates(scopes, after, head)?;
        let mut entries = Vec::new();
        let mut bytes = 0usize;
        let mut last = None;
        let due: Vec<u64> = candidates
            .into_iter()
            .filter(|s| *s <= bound && *s <= head)
            .collect();
        // Read a few at a time: one round trip each on a database.
        for chunk in due.chunks(LOG_READS) {
            let keys: Vec<Vec<u8>> = chunk.iter().map(|s| s.to_be_bytes().to_vec()).collect();
            for (&seq, v) in chunk.iter().zip(self.store.get_many(LOG, &keys)?) {
                let Some(v) = v else { continue };
                let r: LogRecord = decode("log record", &v)?;
                bytes += r.bytes.len();
                entries.push(Entry {
                    doc: r.doc,
                    grid: r.grid,
                    payload: Payload::Change(r.bytes),
                });
                last = Some(seq);
                if bytes >= max_bytes {
                    return Ok(PullBatch {
                        entries,
                        next: Cursor::Log { after: seq },
                        more: true,
                    });
                }
            }
        }
        // A full grid page makes the list complete only up to `bound`. A bound past the
        // durable head (the page reached commits not yet flushed) is no bound: the list
        // is complete up to the head, and the cursor must not pass the head, or the
        // sequences between would be skipped for good.
        if bound < head {
            let next = last.unwrap_or(after);
            return Ok(PullBatch {
                entries,
                next: Cursor::Log {
                    after: next.max(bound),
                },
                more: true,
            });
        }
        Ok(PullBatch {
            entries,
            next: Cursor::Log {
                after: head.max(after),
            },
            more: false,
        })
    }

    /// The sequences after `after` in the logs of every grid within `scopes`, sorted; and
    /// the bound up to which that list is complete (`u64::MAX` when it is complete). From
    /// the in-memory tail when it reaches back to `after` and on to `head` (a live pull:
    /// work in proportion to what changed since), else at most a page from each grid's log.
    fn log_candidates(
        &self,
        scopes: &[GridPath],
        after: u64,
        head: u64,
    ) -> Result<(Vec<u64>, u64)> {
        // The tail answers only when it reaches the head too: changes another node
        // committed that it has not read yet would otherwise be stepped over.
        let tail = match self.tail.newest() >= head {
            true => self.tail.after(scopes, after, TAIL_PAGE),
            false => None,
        };
        if let Some((seqs, full)) = tail {
            let bound = match seqs.last() {
                Some(last) if full => *last,
                _ => u64::MAX,
            };
            return Ok((seqs, bound));
        }
        let mut candidates: Vec<u64> = Vec::new();
        let mut bound = u64::MAX;
        for scope in scopes {
            for (g, _) in self
                .store
                .scan(GRIDS, Scan::prefix(scope.as_str().as_bytes()))?
            {
                let grid = GridPath::parse(&String::from_utf8_lossy(&g))?;
                if !grid.is_within(scope) {
                    continue;
                }
                let seqs = self.grid_log_page(&grid, after)?;
                if seqs.len() == PAGE {
                    bound = bound.min(*seqs.last().unwrap_or(&u64::MAX));
                }
                candidates.extend(seqs);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        Ok((candidates, bound))
    }

    /// Up to a page of one grid's log sequences after `after`.
    fn grid_log_page(&self, grid: &GridPath, after: u64) -> Result<Vec<u64>> {
        let prefix = grid_key(grid, b"");
        let start = grid_key(grid, &after.to_be_bytes());
        let page = self.store.scan(
            GRID_LOG,
            Scan {
                prefix: &prefix,
                after: Some(&start),
                limit: PAGE,
                reverse: false,
            },
        )?;
        Ok(page
            .iter()
            .filter_map(|(k, _)| k[prefix.len()..].try_into().ok().map(u64::from_be_bytes))
            .collect())
    }
}

/// The grid and document a `gdocs` key names, if the grid lies within `scope`.
fn snapshot_key(scope: &GridPath, key: &[u8]) -> Result<Option<(GridPath, DocId)>> {
    let Some((grid, doc)) = split_grid_key(key) else {
        return Ok(None);
    };
    let grid = GridPath::parse(&String::from_utf8_lossy(grid))?;
    if !grid.is_within(scope) {
        return Ok(None);
    }
    let doc = DocId::parse(&String::from_utf8_lossy(doc))?;
    Ok(Some((grid, doc)))
}

fn payload_len(payload: &Payload) -> usize {
    match payload {
        Payload::Change(b) | Payload::Snapshot(b) => b.len(),
    }
}

/// What a snapshot sends for a document: its one change when it has only one (stored as
/// that change, or written once: smaller than a saved document, with no heads and no
/// document header), else the saved document.
fn snapshot_payload(doc: &DocId, rd: RelayDoc) -> Result<Payload> {
    if is_change_chunk(&rd.saved) {
        // Stored as its one change (created by one push, never changed).
        return Ok(Payload::Change(rd.saved));
    }
    let what = format!("relay document {doc}");
    contain(what.clone(), || {
        let loaded = automerge::Automerge::load(&rd.saved)
            .map_err(|e| gridsync_core::Error::corrupt(what.clone(), e))?;
        let changes = loaded.get_changes(&[]);
        Ok(match changes.as_slice() {
            [only] => Payload::Change(only.raw_bytes().to_vec()),
            _ => Payload::Snapshot(loaded.save_nocompress()),
        })
    })
}
