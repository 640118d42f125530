//! The simulated relay's storage ([`SimRelay`]): enrollments, documents and the change log,
//! all in memory, over real automerge documents.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;

use automerge::Automerge;

use super::backends::{corrupt, grid, put, sorted_heads};
use crate::error::Result;
use crate::ids::{DocId, GridPath};
use crate::sync::backend::{
    DeviceGrant, NotIngested, PullBatch, RelayBackend, denied_revoked, denied_unknown_token,
};
use crate::sync::checked::CheckedChange;
use crate::sync::wire::{ChangeHash, Cursor, Entry, Payload};

#[derive(Debug, Default)]
struct RelayState {
    tokens: HashMap<String, String>,
    devices: HashMap<String, (DeviceGrant, bool)>,
    docs: BTreeMap<DocId, (GridPath, Automerge)>,
    log: Vec<Entry>,
    held: HashSet<ChangeHash>,
    ingested: Vec<ChangeHash>,
}

/// The relay's storage: enrollments, documents and the change log, all in memory.
#[derive(Debug, Default)]
pub(crate) struct SimRelay {
    state: RefCell<RelayState>,
}

impl SimRelay {
    /// Enrolls a device with `token`; its device id is `dev-<token>`.
    pub fn enroll(&self, token: &str, scopes: &[&str]) -> String {
        let id = format!("dev-{token}");
        let mut grant = DeviceGrant::for_tests(&id, scopes.iter().map(|s| grid(s)).collect());
        grant.name = format!("phone {token}");
        let mut st = self.state.borrow_mut();
        st.tokens.insert(token.to_string(), id.clone());
        st.devices.insert(id.clone(), (grant, false));
        id
    }

    pub fn revoke(&self, device_id: &str) {
        if let Some(d) = self.state.borrow_mut().devices.get_mut(device_id) {
            d.1 = true;
        }
    }

    /// An edit made on the relay side (as if another device's change was ingested).
    pub fn write(&self, doc: &DocId, grid: &GridPath, key: &str, value: &str) {
        let mut st = self.state.borrow_mut();
        let (_, d) = st
            .docs
            .entry(doc.clone())
            .or_insert_with(|| (grid.clone(), Automerge::new()));
        let change = put(d, key, value);
        st.held.insert(change.hash().0);
        let payload = Payload::Change(change.raw_bytes().to_vec());
        st.log.push(Entry {
            doc: doc.clone(),
            grid: grid.clone(),
            payload,
        });
    }

    pub fn heads(&self, doc: &DocId) -> Vec<ChangeHash> {
        self.state
            .borrow()
            .docs
            .get(doc)
            .map(|(_, d)| sorted_heads(d))
            .unwrap_or_default()
    }

    pub fn doc_ids(&self) -> Vec<(DocId, GridPath)> {
        self.state
            .borrow()
            .docs
            .iter()
            .map(|(id, (g, _))| (id.clone(), g.clone()))
            .collect()
    }

    pub fn ingested(&self) -> Vec<ChangeHash> {
        self.state.borrow().ingested.clone()
    }

    pub fn log_len(&self) -> usize {
        self.state.borrow().log.len()
    }

    fn snapshot(
        &self,
        scopes: &[GridPath],
        hw: u64,
        after: Option<&DocId>,
        max: usize,
    ) -> PullBatch {
        let st = self.state.borrow();
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let (mut entries, mut bytes, mut last) = (Vec::new(), 0, None);
        let mut done = true;
        for (id, (g, d)) in st.docs.range::<DocId, _>((start, Bound::Unbounded)) {
            if !scopes.iter().any(|s| g.is_within(s)) {
                continue;
            }
            if bytes >= max && !entries.is_empty() {
                done = false;
                break;
            }
            let snap = d.save_nocompress();
            bytes += snap.len();
            entries.push(Entry {
                doc: id.clone(),
                grid: g.clone(),
                payload: Payload::Snapshot(snap),
            });
            last = Some(id.clone());
        }
        if done {
            PullBatch {
                entries,
                next: Cursor::Log { after: hw },
                more: (st.log.len() as u64) > hw,
            }
        } else {
            PullBatch {
                entries,
                next: Cursor::Snapshot {
                    high_water: hw,
                    after_doc: last,
                },
                more: true,
            }
        }
    }
}

impl RelayBackend for SimRelay {
    fn authenticate(&self, token: &str) -> Result<DeviceGrant> {
        let st = self.state.borrow();
        let id = st.tokens.get(token).ok_or_else(denied_unknown_token)?;
        match st.devices.get(id) {
            Some((grant, false)) => Ok(grant.clone()),
            Some((grant, true)) => Err(denied_revoked(&grant.name)),
            None => Err(denied_unknown_token()),
        }
    }

    fn still_active(&self, device_id: &str) -> Result<bool> {
        Ok(matches!(
            self.state.borrow().devices.get(device_id),
            Some((_, false))
        ))
    }

    fn ingest(
        &self,
        _grant: &DeviceGrant,
        changes: &[CheckedChange],
    ) -> Result<Vec<std::result::Result<(), NotIngested>>> {
        let mut st = self.state.borrow_mut();
        let mut out = Vec::new();
        for checked in changes {
            let (c, change) = (checked.pushed(), checked.change().clone());
            st.ingested.push(c.hash);
            if st.held.contains(&c.hash) {
                out.push(Ok(()));
            } else if st.docs.get(&c.doc).is_some_and(|(g, _)| *g != c.grid) {
                out.push(Err(NotIngested::Refused(
                    "the document belongs to another grid".to_string(),
                )));
            } else {
                let (_, d) = st
                    .docs
                    .entry(c.doc.clone())
                    .or_insert_with(|| (c.grid.clone(), Automerge::new()));
                d.apply_changes([change]).map_err(corrupt)?;
                st.held.insert(c.hash);
                let payload = Payload::Change(c.bytes.clone());
                st.log.push(Entry {
                    doc: c.doc.clone(),
                    grid: c.grid.clone(),
                    payload,
                });
                out.push(Ok(()));
            }
        }
        Ok(out)
    }

    fn pull(&self, scopes: &[GridPath], cursor: &Cursor, max_bytes: usize) -> Result<PullBatch> {
        let head = self.head()?;
        // Past the head (a restored relay): nothing but where to start over, as the hub.
        let start_over = PullBatch {
            entries: Vec::new(),
            next: Cursor::Fresh,
            more: true,
        };
        let after = match cursor {
            Cursor::Fresh => return Ok(self.snapshot(scopes, head, None, max_bytes)),
            Cursor::Snapshot {
                high_water,
                after_doc,
            } if *high_water <= head => {
                return Ok(self.snapshot(scopes, *high_water, after_doc.as_ref(), max_bytes));
            }
            Cursor::Log { after } if *after <= head => *after,
            _ => return Ok(start_over),
        };
        let st = self.state.borrow();
        let (mut entries, mut bytes, mut seq) = (Vec::new(), 0, after);
        for entry in st.log.iter().skip(after as usize) {
            if bytes >= max_bytes && !entries.is_empty() {
                break;
            }
            seq += 1;
            if scopes.iter().any(|s| entry.grid.is_within(s)) {
                bytes += crate::sync::entries_bytes(std::slice::from_ref(entry));
                entries.push(entry.clone());
            }
        }
        Ok(PullBatch {
            entries,
            next: Cursor::Log { after: seq },
            more: seq < head,
        })
    }

    fn head(&self) -> Result<u64> {
        Ok(self.state.borrow().log.len() as u64)
    }
}

#[test]
fn the_simulated_relay_passes_the_relay_conformance_suite() {
    crate::sync::relay_conformance::run_all(SimRelay::default, |relay, _grants| {
        relay.enroll("suite", &["suite/town"]);
        "suite".to_string()
    });
}
