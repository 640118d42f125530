//! Secondary indexes: what every list and count is answered from, so no query loads every
//! document. Each document's index entries are derived from its current state and
//! replaced whole when it changes (the keys it wrote are remembered under `X`).
//!
//! ```text
//! H \0 grid \0 household            → HouseholdSummary
//! I \0 household                    → grid              (which grid a household is in)
//! V \0 household \0 at \0 visit     → VisitSummary      (a household's visits by time)
//! D \0 grid \0 at \0 visit          → VisitSummary      (a grid's visits by date)
//! C \0 case                         → CaseSummary
//! S \0 status \0 case               → ()                (cases by status)
//! K \0 class \0 case                → ()                (cases by triage class)
//! L \0 deadline \0 case             → ()                (open cases by deadline)
//! R \0 case                         → ()                (cases needing review)
//! W \0 household                    → at                (its latest visit, see below)
//! F \0 due \0 visit \0 n              → OpenFollowUp      (open follow-ups by due time)
//! X \0 doc                          → [keys]            (what the document wrote)
//! ```
//! Times are big-endian with the sign bit flipped, so byte order is time order. The keys
//! are built in [`keys`] and nowhere else.
//!
//! `W` is the one entry no single document owns: it is the latest `V` time of a household,
//! kept up to date by [`replace`] and [`remove`] ([`last_visit`]), so "households due for
//! a visit" reads one short run of keys instead of searching every household's visits.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::{DocId, GridPath, Timestamp};
use crate::model::{Address, Case, Household, Level, Tier, TriageClass, Visit, VisitMode};
use crate::store::{Batch, Op, Store, trees::INDEX};
use crate::workflow::CaseStatus;

pub(crate) mod keys;
pub(crate) mod last_visit;

/// What a household list shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdSummary {
    /// Household id.
    pub id: DocId,
    /// Grid.
    pub grid: GridPath,
    /// Head of household.
    pub head: String,
    /// The tier in force (see [`crate::model::Household::tier`]).
    pub tier: Tier,
    /// Address.
    pub address: Address,
    /// Tags.
    pub tags: Vec<String>,
    /// Contact people.
    pub contacts: Vec<String>,
    /// When the household was registered (first tier change).
    pub registered_at: Timestamp,
    /// Retired ([`crate::model::Household::retired`]): left out of lists and due visits.
    pub retired: bool,
}

/// What a visit list shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitSummary {
    /// Visit id.
    pub id: DocId,
    /// Household visited.
    pub household: DocId,
    /// Who visited.
    pub worker: String,
    /// When.
    pub at: Timestamp,
    /// How.
    pub mode: VisitMode,
    /// Follow-ups not done yet.
    pub open_follow_ups: u32,
}

/// A follow-up a visit planned and nobody has ticked yet (what `due` lists beside the
/// households whose tier interval ran out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenFollowUp {
    /// The household visited.
    pub household: DocId,
    /// The visit that planned it.
    pub visit: DocId,
    /// Its number among the visit's follow-ups, from 0 (as `set_follow_up_done` takes it).
    pub index: u32,
    /// What to do.
    pub text: String,
    /// By when.
    pub due: Timestamp,
}

/// What a case list shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseSummary {
    /// Case id.
    pub id: DocId,
    /// Grid.
    pub grid: GridPath,
    /// Title.
    pub title: String,
    /// Category.
    pub category: String,
    /// Status.
    pub status: CaseStatus,
    /// Triage class.
    pub class: Option<TriageClass>,
    /// Handling level.
    pub level: Option<Level>,
    /// Assignee.
    pub assignee: Option<String>,
    /// Deadline.
    pub deadline: Option<Timestamp>,
    /// When reported.
    pub reported_at: Timestamp,
    /// Household concerned.
    pub household: Option<DocId>,
    /// Has an action invalidated by a merge.
    pub needs_review: bool,
}

/// One index key and its value.
pub(crate) type IndexEntry = (Vec<u8>, Vec<u8>);

pub(crate) fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(v).map_err(|e| Error::Storage(format!("cannot encode index entry: {e}")))
}

pub(crate) fn decode<T: for<'de> Deserialize<'de>>(b: &[u8]) -> Result<T> {
    postcard::from_bytes(b).map_err(|e| Error::corrupt("index entry", e))
}

/// A record read from a document, ready to index.
pub(crate) enum Indexed<'a> {
    Household(&'a Household),
    Visit(&'a Visit),
    Case(&'a Case),
}

/// The index entries a record contributes.
pub(crate) fn entries(rec: Indexed<'_>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    match rec {
        Indexed::Household(h) => {
            let s = HouseholdSummary {
                id: h.id.clone(),
                grid: h.grid.clone(),
                head: h.head.clone(),
                tier: h.tier,
                address: h.address.clone(),
                tags: h.tags.clone(),
                contacts: h.contacts.clone(),
                registered_at: h.tier_history.first().map_or(0, |c| c.at),
                retired: h.retired.is_some(),
            };
            out.push((keys::household(&h.grid, &h.id), encode(&s)?));
            out.push((
                keys::household_grid(&h.id),
                h.grid.as_str().as_bytes().to_vec(),
            ));
        }
        Indexed::Visit(v) => {
            let r = &v.record;
            let s = VisitSummary {
                id: v.id.clone(),
                household: r.household.clone(),
                worker: r.worker.clone(),
                at: r.at,
                mode: r.mode,
                open_follow_ups: r.follow_ups.iter().filter(|f| !f.done).count() as u32,
            };
            let value = encode(&s)?;
            out.push((keys::visit_of(&r.household, r.at, &v.id), value.clone()));
            out.push((keys::visit_in(&v.grid, r.at, &v.id), value));
            for (index, f) in (0u32..).zip(&r.follow_ups).filter(|(_, f)| !f.done) {
                let open = OpenFollowUp {
                    household: r.household.clone(),
                    visit: v.id.clone(),
                    index,
                    text: f.text.clone(),
                    due: f.due,
                };
                out.push((keys::open_follow_up(f.due, &v.id, index), encode(&open)?));
            }
        }
        Indexed::Case(c) => {
            let st = &c.state;
            let s = CaseSummary {
                id: c.id.clone(),
                grid: c.grid.clone(),
                title: c.title.clone(),
                category: c.category.clone(),
                status: st.status,
                class: st.class,
                level: st.level,
                assignee: st.assignee.clone(),
                deadline: st.deadline,
                reported_at: c.reported_at,
                household: c.household.clone(),
                needs_review: c.needs_review(),
            };
            let id = c.id.as_str().as_bytes();
            out.push((keys::case(id), encode(&s)?));
            out.push((keys::case_by_status(st.status, id), Vec::new()));
            if let Some(class) = st.class {
                out.push((keys::case_by_class(class, id), Vec::new()));
            }
            if let (Some(d), true) = (st.deadline, st.status.is_open()) {
                out.push((keys::case_by_deadline(d, id), Vec::new()));
            }
            if s.needs_review {
                out.push((keys::case_for_review(id), Vec::new()));
            }
        }
    }
    Ok(out)
}

/// Adds to `batch` the writes that replace `doc`'s index entries with `new`.
pub(crate) fn replace(
    store: &dyn Store,
    batch: &mut Batch,
    doc: &DocId,
    new: Vec<(Vec<u8>, Vec<u8>)>,
) -> Result<()> {
    let old = remove_entries(store, batch, doc)?;
    let added: Vec<Vec<u8>> = new.iter().map(|(k, _)| k.clone()).collect();
    batch.put(INDEX, keys::doc_keys(doc), encode(&added)?);
    for (k, v) in new {
        batch.put(INDEX, k, v);
    }
    last_visit::update(store, batch, &old, &added)
}

/// Adds to `batch` the deletes of every index entry `doc` wrote.
pub(crate) fn remove(store: &dyn Store, batch: &mut Batch, doc: &DocId) -> Result<()> {
    let old = remove_entries(store, batch, doc)?;
    last_visit::update(store, batch, &old, &[])
}

/// An index value as it will be once `batch` is committed.
pub(crate) fn staged_get(store: &dyn Store, batch: &Batch, k: &[u8]) -> Result<Option<Vec<u8>>> {
    match batch.pending(INDEX, k) {
        Some(Op::Put(v)) => Ok(Some(v.clone())),
        Some(Op::Delete) => Ok(None),
        None => store.get(INDEX, k),
    }
}

/// Adds the deletes of `doc`'s entries and returns the keys deleted.
fn remove_entries(store: &dyn Store, batch: &mut Batch, doc: &DocId) -> Result<Vec<Vec<u8>>> {
    let xk = keys::doc_keys(doc);
    let Some(old) = staged_get(store, batch, &xk)? else {
        return Ok(Vec::new());
    };
    let old: Vec<Vec<u8>> = decode(&old)?;
    for k in &old {
        batch.delete(INDEX, k.clone());
    }
    batch.delete(INDEX, xk);
    Ok(old)
}
