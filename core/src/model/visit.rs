//! A visit in its own automerge document: written once, then only follow-ups are ticked.
//!
//! ```text
//! ROOT { kind: "visit", id, grid, household, worker, at, mode, notes: str,
//!        findings: [str], follow_ups: [ { text, due, done } ], lat?, lon? }
//! ```
//! Notes are a plain string, not an automerge Text: they are written once, and Text costs
//! 13x the operations (`docs/adr/0001-document-per-record.md`).

use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT, ReadDoc};

use super::doc::{Fields, am, list_objects, list_strs, req_obj};
use super::types::{FollowUp, GeoPoint, NewVisit, Visit, VisitMode};
use super::validate;
use crate::error::{Error, Result};
use crate::ids::{DocId, GridPath};

/// Longest visit notes accepted, in characters.
pub const MAX_NOTES: usize = 5000;

/// Checks a visit before anything is written (the household's existence is checked by the
/// replica).
pub(crate) fn validate_new(v: &NewVisit) -> Result<()> {
    validate::short_text("worker", &v.worker, 64)?;
    validate::text("notes", &v.notes, 1, MAX_NOTES)?;
    if v.at <= 0 {
        return Err(Error::invalid("at", "visit time must be after 1970"));
    }
    if v.findings.len() > 50 {
        return Err(Error::invalid("findings", "at most 50 findings"));
    }
    for f in &v.findings {
        validate::text("findings", f, 1, 1000)?;
    }
    if v.follow_ups.len() > 50 {
        return Err(Error::invalid("follow_ups", "at most 50 follow-ups"));
    }
    for f in &v.follow_ups {
        validate::text("follow_ups.text", &f.text, 1, 1000)?;
        if f.due < v.at {
            return Err(Error::invalid(
                "follow_ups.due",
                "a follow-up cannot be due before the visit",
            ));
        }
    }
    if let Some(g) = v.geo
        && (!(-90.0..=90.0).contains(&g.lat) || !(-180.0..=180.0).contains(&g.lon))
    {
        return Err(Error::invalid(
            "geo",
            format!("({}, {}) is not a coordinate", g.lat, g.lon),
        ));
    }
    Ok(())
}

/// Writes a new visit into an empty document.
pub(crate) fn create(
    tx: &mut impl Transactable,
    id: &DocId,
    grid: &GridPath,
    v: &NewVisit,
) -> Result<()> {
    tx.put(ROOT, "kind", "visit").map_err(am)?;
    tx.put(ROOT, "id", id.as_str()).map_err(am)?;
    tx.put(ROOT, "grid", grid.as_str()).map_err(am)?;
    tx.put(ROOT, "household", v.household.as_str())
        .map_err(am)?;
    tx.put(ROOT, "worker", v.worker.trim()).map_err(am)?;
    tx.put(ROOT, "at", v.at).map_err(am)?;
    tx.put(ROOT, "mode", v.mode.as_str()).map_err(am)?;
    tx.put(ROOT, "notes", v.notes.trim()).map_err(am)?;
    let findings = tx.put_object(ROOT, "findings", ObjType::List).map_err(am)?;
    for (i, f) in v.findings.iter().enumerate() {
        tx.insert(&findings, i, f.trim()).map_err(am)?;
    }
    let fus = tx
        .put_object(ROOT, "follow_ups", ObjType::List)
        .map_err(am)?;
    for (i, f) in v.follow_ups.iter().enumerate() {
        let item = tx.insert_object(&fus, i, ObjType::Map).map_err(am)?;
        tx.put(&item, "text", f.text.trim()).map_err(am)?;
        tx.put(&item, "due", f.due).map_err(am)?;
        tx.put(&item, "done", f.done).map_err(am)?;
    }
    if let Some(g) = v.geo {
        tx.put(ROOT, "lat", g.lat).map_err(am)?;
        tx.put(ROOT, "lon", g.lon).map_err(am)?;
    }
    Ok(())
}

/// Marks follow-up number `index` done or not done.
pub(crate) fn set_follow_up_done(
    tx: &mut impl Transactable,
    index: usize,
    done: bool,
) -> Result<()> {
    let list = req_obj(tx, &ROOT, "follow_ups", ObjType::List)?;
    let items = list_objects(tx, &list)?;
    let item = items.get(index).ok_or_else(|| {
        Error::invalid(
            "follow_up",
            format!(
                "the visit has {} follow-ups; there is no number {index}",
                items.len()
            ),
        )
    })?;
    tx.put(item, "done", done).map_err(am)?;
    Ok(())
}

/// Reads the visit back.
pub fn read(doc: &impl ReadDoc) -> Result<Visit> {
    let root = Fields::of(doc, &ROOT);
    if root.req_str("kind")? != "visit" {
        return Err(Error::corrupt("document", "not a visit"));
    }
    let mode = VisitMode::parse(&root.req_str("mode")?)
        .ok_or_else(|| Error::corrupt("document", "unknown visit mode"))?;
    let findings = list_strs(doc, &root.req_obj("findings", ObjType::List)?)?;
    let fus = root.req_obj("follow_ups", ObjType::List)?;
    let mut follow_ups = Vec::new();
    for item in list_objects(doc, &fus)? {
        let f = Fields::of(doc, &item);
        follow_ups.push(FollowUp {
            text: f.req_str("text")?,
            due: f.req_i64("due")?,
            done: f.flag("done")?,
        });
    }
    let geo = match (root.opt_f64("lat")?, root.opt_f64("lon")?) {
        (Some(lat), Some(lon)) => Some(GeoPoint { lat, lon }),
        _ => None,
    };
    Ok(Visit {
        id: DocId::parse(&root.req_str("id")?)?,
        grid: GridPath::parse(&root.req_str("grid")?)?,
        record: NewVisit {
            household: DocId::parse(&root.req_str("household")?)?,
            worker: root.req_str("worker")?,
            at: root.req_i64("at")?,
            mode,
            notes: root.req_str("notes")?,
            findings,
            follow_ups,
            geo,
        },
    })
}
