//! Conversions of refused records, discards and record sync states.

use gridsync_core::DocKind;
use gridsync_core::replica as cr;

use crate::refused::{Discarded, RecordKind, RefusedRecord};
use crate::sync::RecordSyncState;

impl From<DocKind> for RecordKind {
    fn from(k: DocKind) -> Self {
        match k {
            DocKind::Household => RecordKind::Household,
            DocKind::Visit => RecordKind::Visit,
            DocKind::Case => RecordKind::Case,
        }
    }
}

impl From<cr::RefusedRecord> for RefusedRecord {
    fn from(r: cr::RefusedRecord) -> Self {
        RefusedRecord {
            id: r.doc.into(),
            kind: r.kind.into(),
            grid: r.grid.into(),
            reason: r.reason,
            refused_at: r.at,
            changes: r.changes,
            whole_record: r.whole_record,
        }
    }
}

impl From<cr::Discarded> for Discarded {
    fn from(d: cr::Discarded) -> Self {
        Discarded {
            id: d.doc.into(),
            kind: d.kind.into(),
            removed_changes: d.removed_changes,
            dropped_pending: d.dropped_pending,
            deleted: d.deleted,
        }
    }
}

impl From<cr::RecordSyncState> for RecordSyncState {
    fn from(s: cr::RecordSyncState) -> Self {
        match s {
            cr::RecordSyncState::Pending => RecordSyncState::Pending,
            cr::RecordSyncState::Acknowledged => RecordSyncState::Acknowledged,
            cr::RecordSyncState::Refused { reason } => RecordSyncState::Refused { reason },
        }
    }
}
