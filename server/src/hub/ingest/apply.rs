//! Whether a pushed change may join a document: its dependencies are there (else it is
//! deferred, not refused), it stays in its grid, it calls itself by its id, and it passes
//! admission for the pushing device.

use automerge::{Automerge, Change};
use gridsync_core::ids::GridPath;
use gridsync_core::model::admit::{Admission, admit};
use gridsync_core::model::{doc_id_of, grid_of};
use gridsync_core::sync::backend::NotIngested;
use gridsync_core::sync::wire::PushedChange;

/// Applies `change` to a fork of `doc` (which belongs to `grid`) and checks the result: its
/// dependencies were there ([`NotIngested::MissingDependency`] otherwise: a relay restored
/// from an older backup gets them again), it stays in its grid, it calls itself by its id,
/// and its content passes [`admit`] for the pushing device's grants.
pub(super) fn apply_checked(
    doc: &Automerge,
    grid: &GridPath,
    pc: &PushedChange,
    change: Change,
    admission: &Admission<'_>,
) -> std::result::Result<Automerge, NotIngested> {
    if let Some(missing) = change
        .deps()
        .iter()
        .find(|d| doc.get_change_meta_by_hash(d).is_none())
    {
        return Err(NotIngested::MissingDependency(format!(
            "depends on change {} that the relay does not have; push older changes first",
            &hex::encode(missing.0)[..12]
        )));
    }
    checked_apply(doc, grid, pc, change, admission).map_err(NotIngested::Refused)
}

/// [`apply_checked`] once the change's dependencies are known to be there.
fn checked_apply(
    doc: &Automerge,
    grid: &GridPath,
    pc: &PushedChange,
    change: Change,
    admission: &Admission<'_>,
) -> std::result::Result<Automerge, String> {
    if *grid != pc.grid {
        return Err(format!(
            "document {} belongs to grid {grid}, not {}",
            pc.doc, pc.grid
        ));
    }
    let mut next = doc.fork();
    if let Err(e) = next.apply_changes([change]) {
        return Err(format!("change does not apply: {e}"));
    }
    match grid_of(&next) {
        Ok(Some(g)) if g == pc.grid => {}
        Ok(Some(g)) => return Err(format!("the change moves the document to grid {g}")),
        Ok(None) => return Err("the document has no grid".into()),
        Err(e) => return Err(format!("the document's grid is unreadable: {e}")),
    }
    if doc_id_of(&next).as_deref() != Some(pc.doc.as_str()) {
        return Err(format!("the document does not call itself {}", pc.doc));
    }
    admit(&pc.doc, doc, &next, admission).map_err(|e| e.to_string())?;
    Ok(next)
}
