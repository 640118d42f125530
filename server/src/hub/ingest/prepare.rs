//! The work on a pushed change that needs no relay state, done before the writer lock is
//! taken so pushes on different connections use every core: for the first change of a
//! document (most visits are one change), building and checking the whole document.

use std::collections::HashMap;

use automerge::{Automerge, Change};
use gridsync_core::ids::{DocId, GridPath};
use gridsync_core::model::Grants;
use gridsync_core::model::admit::{Admission, GridOf};
use gridsync_core::sync::CheckedChange;
use gridsync_core::untrusted::contain;

use super::apply::apply_checked;

/// What a change looks like before the relay's state is consulted.
#[derive(Clone)]
pub(super) enum Prepared {
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

/// Everything that can be checked without the relay's state. A reference to a document
/// the relay does not hold is checked against the grid its change in this push (`in_push`)
/// names, and remembered: see [`Prepared::Fresh`].
pub(super) fn prepare(
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
