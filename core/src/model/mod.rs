//! Households, visits and cases, and how they sit in automerge documents. This module is
//! the only code that knows paths inside a document: one document per record
//! (`docs/adr/0001-document-per-record.md`).

pub mod admit;
pub mod case;
mod doc;
pub mod grants;
pub mod household;
pub mod types;
mod validate;
pub mod visit;

pub use case::Case;
pub use grants::Grants;
pub use household::{FieldConflict, FieldValue, HouseholdField};
pub use types::*;

use automerge::{ROOT, ReadDoc};

use crate::error::Result;
use crate::ids::GridPath;

/// The grid a document says it belongs to, if it has got that far (a document whose first
/// change has not arrived yet has none). Used by the relay to hold documents to their grid.
pub fn grid_of(doc: &impl ReadDoc) -> Result<Option<GridPath>> {
    doc::opt_str(doc, &ROOT, "grid")?
        .map(|g| GridPath::parse(&g))
        .transpose()
}

/// The id a document calls itself (its root `id` field), if that field is there and is
/// text. Used by the relay and the handset to hold a received document to the id it was
/// sent as; anything unreadable reads as `None`.
pub fn doc_id_of(doc: &impl ReadDoc) -> Option<String> {
    doc.get(ROOT, "id")
        .ok()
        .flatten()
        .and_then(|(v, _)| v.as_str().map(str::to_string))
}

/// Checks a device name.
pub(crate) fn validate_device(device: &str) -> Result<()> {
    validate::short_text("device", device, 64)
}
