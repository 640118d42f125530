//! The records a replica holds, encoded as compactly as a plain format allows: the
//! yardstick the store's disk size and the sync's bytes are compared against.

use anyhow::Result;
use gridsync_core::Replica;
use gridsync_core::model::Case;
use gridsync_core::replica::CaseFilter;

/// The records a handset holds, as the app reads them (ids, references, a case's whole
/// timeline; a case's folded state is left out, since it follows from the timeline),
/// postcard-encoded: what the floor of a transfer that delivered all of them compresses.
pub fn stored_records(replica: &Replica) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let households = replica.list_households(None)?;
    let mut grids = std::collections::BTreeSet::new();
    for h in &households {
        let h = replica.household(&h.id)?;
        grids.insert(h.grid.clone());
        out.extend(postcard::to_allocvec(&h)?);
    }
    for g in &grids {
        for v in replica.visits_in(g, 0, i64::MAX)? {
            out.extend(postcard::to_allocvec(&replica.visit(&v.id)?)?);
        }
    }
    for c in replica.list_cases(&CaseFilter::default())? {
        out.extend(case_record(&replica.case(&c.id)?)?);
    }
    Ok(out)
}

/// A case as a record: everything but its folded state, which follows from the timeline.
pub fn case_record(c: &Case) -> Result<Vec<u8>> {
    Ok(postcard::to_allocvec(&(
        &c.id,
        &c.grid,
        &c.reporter,
        &c.household,
        &c.title,
        &c.description,
        &c.category,
        c.reported_at,
        &c.timeline,
    ))?)
}
