//! Records holding changes the relay refused, as `GridsyncReplica.refused()` lists them, and
//! what `GridsyncReplica.discardRefused(id)` removed.

/// What kind of record an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum RecordKind {
    /// A household (`h-…`).
    Household,
    /// A visit (`v-…`).
    Visit,
    /// A case (`c-…`).
    Case,
}

/// A record with changes the relay refused. They are kept on the device and never sent
/// again; the record's sync state is `Refused` until the user discards them.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RefusedRecord {
    /// The record's id.
    pub id: String,
    /// Household, visit or case.
    pub kind: RecordKind,
    /// The grid the record is in.
    pub grid: String,
    /// What the relay has against the record's first refused change.
    pub reason: String,
    /// When the relay refused it (ms).
    pub refused_at: i64,
    /// How many of the record's changes were refused.
    pub changes: u64,
    /// Discarding removes the whole record from the device (a refused change created it).
    pub whole_record: bool,
}

/// What `discardRefused` removed from the device.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Discarded {
    /// The record's id.
    pub id: String,
    /// Household, visit or case.
    pub kind: RecordKind,
    /// Changes taken out of the record: the refused ones and every change built on them.
    pub removed_changes: u64,
    /// Of those, changes that were still waiting to be sent.
    pub dropped_pending: u64,
    /// The record is gone from the device; otherwise it holds what the relay accepted.
    pub deleted: bool,
}
