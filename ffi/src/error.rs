//! [`GridsyncError`]: the one error every fallible export throws, with only the variants an
//! app acts on differently. It is mapped from the core's detailed error in exactly one
//! place, the `From<gridsync_core::Error>` impl below.
//!
//! In Kotlin it is the sealed class `GridsyncException` (`GridsyncException.InvalidInput`
//! ...), in Swift the enum `GridsyncError`, in Python the exception classes
//! `GridsyncError.InvalidInput` .... No variant has a field called `message`: it would
//! clash with `Throwable.message` in Kotlin.

use gridsync_core::Error as CoreError;

/// What went wrong, grouped by what the app should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum GridsyncError {
    /// An argument or a field of a record is unacceptable; nothing was written.
    /// Show `reason` next to `field` in the form and let the user correct it.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The argument or field at fault (`head`, `grid`, `notes`, `household`, ...).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The record does not exist on this device (never synced here, retired, or a typo).
    #[error("unknown {what} {id}")]
    NotFound {
        /// `household`, `visit` or `case`.
        what: String,
        /// The id that was looked up.
        id: String,
    },
    /// The case workflow refuses the step now or for this role, or the device's grants do
    /// not allow it (a grid outside its scopes, a role its worker lacks, no identity yet);
    /// nothing was written. Show `reason`; refresh the case (another device may have
    /// moved it on).
    #[error("not allowed: {reason}")]
    NotAllowed {
        /// Why, in words a worker understands.
        reason: String,
    },
    /// The on-device store failed (disk full, I/O error, store used by another process).
    /// Nothing was written; tell the user to free space or restart the app.
    #[error("storage failure: {reason}")]
    Storage {
        /// What the store reported.
        reason: String,
    },
    /// Stored or received data could not be read. Report it; the rest of the store works.
    #[error("corrupt {reason}")]
    Corrupt {
        /// What was being read and why it was rejected.
        reason: String,
    },
    /// The store is encrypted and the key given does not open it (or none was given).
    /// Nothing was changed: fetch the right key from the keystore; never make a new one
    /// for an existing store.
    #[error("wrong key: {reason}")]
    WrongKey {
        /// Which store, and what was wrong.
        reason: String,
    },
    /// The store was erased (sign-out, or a remote wipe the operator asked for). Nothing
    /// is left to read: set the handset up again.
    #[error("erased: {reason}")]
    Erased {
        /// Which store.
        reason: String,
    },
    /// The store was written by a newer version of the app, or the relay speaks another
    /// sync protocol version: ask the user to update (or the operator, for the relay).
    #[error("update the app: {reason}")]
    UpgradeRequired {
        /// Versions found and supported.
        reason: String,
    },
    /// The relay refused this device (unknown or revoked token, grid not granted).
    /// Retrying will not help: ask the operator for a new enrollment.
    #[error("access denied by the relay: {reason}")]
    Denied {
        /// What the relay said.
        reason: String,
    },
    /// Sync failed: no network, relay unreachable, connection lost, or the relay broke the
    /// protocol. Local data is safe; retry later (live sync retries by itself).
    #[error("sync failed: {reason}")]
    Network {
        /// What failed.
        reason: String,
    },
}

impl From<CoreError> for GridsyncError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Invalid { field, problem } => GridsyncError::InvalidInput {
                field,
                reason: problem,
            },
            CoreError::NotFound { kind, id } => GridsyncError::NotFound {
                what: kind.to_string(),
                id,
            },
            CoreError::Workflow(reason) => GridsyncError::NotAllowed { reason },
            e @ (CoreError::NotPermitted(_) | CoreError::NoIdentity) => GridsyncError::NotAllowed {
                reason: e.to_string(),
            },
            CoreError::Corrupt { what, detail } => GridsyncError::Corrupt {
                reason: format!("{what}: {detail}"),
            },
            CoreError::Storage(reason) => GridsyncError::Storage { reason },
            e @ (CoreError::WrongKey { .. } | CoreError::KeyNeeded { .. }) => {
                GridsyncError::WrongKey {
                    reason: e.to_string(),
                }
            }
            e @ (CoreError::Erased { .. } | CoreError::Wiped) => GridsyncError::Erased {
                reason: e.to_string(),
            },
            e @ CoreError::NotEncrypted => GridsyncError::InvalidInput {
                field: "key".into(),
                reason: e.to_string(),
            },
            e @ (CoreError::StoreInUse { .. }
            | CoreError::StoreDamaged { .. }
            | CoreError::Conflict { .. }) => GridsyncError::Storage {
                reason: e.to_string(),
            },
            e @ CoreError::SchemaTooNew { .. } => GridsyncError::UpgradeRequired {
                reason: e.to_string(),
            },
            CoreError::Denied { detail, .. } => GridsyncError::Denied { reason: detail },
            e @ CoreError::VersionMismatch { .. } => GridsyncError::UpgradeRequired {
                reason: e.to_string(),
            },
            CoreError::Network(reason) => GridsyncError::Network { reason },
            CoreError::Protocol(reason) => GridsyncError::Network {
                reason: format!("protocol: {reason}"),
            },
        }
    }
}

/// Shorthand for the results every export returns.
pub type Result<T, E = GridsyncError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_error_maps_with_a_message_that_says_what_went_wrong() {
        let cases = [
            (
                CoreError::invalid("head", "must not be empty"),
                "invalid head: must not be empty",
            ),
            (
                CoreError::NotFound {
                    kind: "case",
                    id: "c-1".into(),
                },
                "unknown case c-1",
            ),
            (
                CoreError::Workflow("a grid_worker may not accept a case".into()),
                "not allowed: a grid_worker may not accept a case",
            ),
            (
                CoreError::corrupt("document h-1", "bad"),
                "corrupt document h-1: bad",
            ),
            (
                CoreError::Storage("disk full".into()),
                "storage failure: disk full",
            ),
            (
                CoreError::SchemaTooNew {
                    found: 9,
                    supported: 1,
                },
                "update the app: store schema version 9",
            ),
            (
                CoreError::denied(gridsync_core::Denial::Revoked, "revoked"),
                "access denied by the relay: revoked",
            ),
            (
                CoreError::VersionMismatch {
                    ours: 3,
                    detail: "relay speaks 4".into(),
                },
                "update the app: the relay does not speak this app's sync protocol (version 3)",
            ),
            (
                CoreError::WrongKey { path: "/s".into() },
                "wrong key: wrong key: this key does not open the store at /s",
            ),
            (
                CoreError::KeyNeeded { path: "/s".into() },
                "wrong key: the store at /s is encrypted",
            ),
            (
                CoreError::Erased { path: "/s".into() },
                "erased: the store at /s was erased",
            ),
            (CoreError::Network("timeout".into()), "sync failed: timeout"),
            (
                CoreError::Protocol("closed".into()),
                "sync failed: protocol: closed",
            ),
        ];
        for (core, text) in cases {
            let e = GridsyncError::from(core).to_string();
            assert!(e.starts_with(text), "{e:?} should start with {text:?}");
        }
    }
}
