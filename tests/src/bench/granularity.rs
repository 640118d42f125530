//! The measurement behind `docs/adr/0001-document-per-record.md`: the same year of a grid
//! stored as one automerge document per record, as one document per grid, and as one
//! document per grid and month for visits. Saved bytes, load time, and what retiring a
//! month of visits costs in each.

use std::time::Instant;

use anyhow::Result;
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{Automerge, ObjType, ROOT};
use serde::{Deserialize, Serialize};

use crate::workload::{PlannedVisit, Workload, WorkloadConfig};

/// Figures for one layout.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Layout {
    /// Name.
    pub name: String,
    /// Documents.
    pub documents: usize,
    /// Sum of `save()` sizes.
    pub saved_bytes: usize,
    /// Time to load every document, ms.
    pub load_all_ms: f64,
    /// Bytes rewritten to retire the oldest month of visits.
    pub retire_month_rewrite_bytes: usize,
}

fn put_visit(
    tx: &mut impl Transactable,
    obj: &automerge::ObjId,
    v: &PlannedVisit,
) -> Result<(), automerge::AutomergeError> {
    tx.put(obj, "worker", v.worker.as_str())?;
    tx.put(obj, "at", v.at)?;
    tx.put(obj, "notes", v.notes.as_str())?;
    let f = tx.put_object(obj, "findings", ObjType::List)?;
    for (i, x) in v.findings.iter().enumerate() {
        tx.insert(&f, i, x.as_str())?;
    }
    Ok(())
}

fn new_doc() -> Automerge {
    Automerge::new()
}

fn commit<F>(doc: &mut Automerge, at: i64, f: F) -> Result<()>
where
    F: FnOnce(
        &mut automerge::transaction::Transaction<'_>,
    ) -> Result<(), automerge::AutomergeError>,
{
    doc.transact_with(|_| CommitOptions::default().with_time(at), f)
        .map_err(|e| anyhow::anyhow!("{:?}", e.error))?;
    Ok(())
}

fn measure(name: &str, docs: Vec<Automerge>, retire: usize) -> Layout {
    let saved: Vec<Vec<u8>> = docs.iter().map(|d| d.save()).collect();
    drop(docs);
    let t = Instant::now();
    let loaded: Vec<Automerge> = saved
        .iter()
        .filter_map(|b| Automerge::load(b).ok())
        .collect();
    let load_all_ms = t.elapsed().as_secs_f64() * 1e3;
    let n = loaded.len();
    drop(loaded);
    Layout {
        name: name.into(),
        documents: n,
        saved_bytes: saved.iter().map(Vec::len).sum(),
        load_all_ms,
        retire_month_rewrite_bytes: retire,
    }
}

/// Builds the three layouts for the grid-year workload (visits as their own records,
/// households and cases by their header fields) and measures them.
pub fn run(seed: u64) -> Result<Vec<Layout>> {
    let mut cfg = WorkloadConfig::grid_year();
    cfg.seed = seed;
    let w = Workload::generate(&cfg);
    let month = 30 * gridsync_core::DAY_MS;
    let (start, _) = w.period();

    // One document per record.
    let mut per_record = Vec::new();
    for h in &w.households {
        let mut d = new_doc();
        commit(&mut d, start, |tx| {
            tx.put(ROOT, "head", h.head.as_str())?;
            tx.put(ROOT, "phone", h.phone.as_str())?;
            Ok(())
        })?;
        per_record.push(d);
    }
    for v in &w.visits {
        let mut d = new_doc();
        commit(&mut d, v.at, |tx| put_visit(tx, &ROOT, v))?;
        per_record.push(d);
    }
    for c in &w.cases {
        let mut d = new_doc();
        commit(&mut d, c.case.at, |tx| {
            tx.put(ROOT, "title", c.case.title.as_str())?;
            tx.put(ROOT, "description", c.case.description.as_str())?;
            Ok(())
        })?;
        per_record.push(d);
    }
    let first_month_records: usize = 0; // deleting visit documents rewrites nothing
    let a = measure("document per record", per_record, first_month_records);

    // One document per grid.
    let mut grid = new_doc();
    commit(&mut grid, start, |tx| {
        tx.put_object(ROOT, "households", ObjType::Map)?;
        tx.put_object(ROOT, "visits", ObjType::Map)?;
        tx.put_object(ROOT, "cases", ObjType::Map)?;
        Ok(())
    })?;
    let (hh, vv, cc) = {
        use automerge::ReadDoc;
        let g = |k: &str| grid.get(ROOT, k).ok().flatten().map(|(_, id)| id);
        (g("households"), g("visits"), g("cases"))
    };
    let (Some(hh), Some(vv), Some(cc)) = (hh, vv, cc) else {
        anyhow::bail!("grid document layout")
    };
    for (i, h) in w.households.iter().enumerate() {
        commit(&mut grid, start, |tx| {
            let o = tx.put_object(&hh, i.to_string(), ObjType::Map)?;
            tx.put(&o, "head", h.head.as_str())?;
            tx.put(&o, "phone", h.phone.as_str())?;
            Ok(())
        })?;
    }
    for (i, v) in w.visits.iter().enumerate() {
        commit(&mut grid, v.at, |tx| {
            let o = tx.put_object(&vv, i.to_string(), ObjType::Map)?;
            put_visit(tx, &o, v)
        })?;
    }
    for (i, c) in w.cases.iter().enumerate() {
        commit(&mut grid, c.case.at, |tx| {
            let o = tx.put_object(&cc, i.to_string(), ObjType::Map)?;
            tx.put(&o, "title", c.case.title.as_str())?;
            tx.put(&o, "description", c.case.description.as_str())?;
            Ok(())
        })?;
    }
    // Retiring a month from a grid document means rewriting the whole document without it
    // (automerge keeps deleted history), so the cost is the full saved size.
    let grid_size = grid.save().len();
    let b = measure("document per grid", vec![grid], grid_size);

    // Visits in one document per month; households and cases per record.
    let mut months: std::collections::BTreeMap<i64, Automerge> = std::collections::BTreeMap::new();
    for v in &w.visits {
        let m = (v.at - start) / month;
        let d = months.entry(m).or_insert_with(new_doc);
        commit(d, v.at, |tx| {
            let o = tx.put_object(ROOT, format!("{}", v.at), ObjType::Map)?;
            put_visit(tx, &o, v)
        })?;
    }
    let monthly: Vec<Automerge> = months.into_values().collect();
    let c = measure("visits per grid-month", monthly, 0);
    Ok(vec![a, b, c])
}
