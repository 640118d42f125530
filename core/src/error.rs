//! The core's detailed error. Every public function returns [`Result`]; the message says
//! what was wrong and, where there is one, what to do about it. The FFI maps these onto
//! its small public enum in one place.

/// Result with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why the relay refused a device: each calls for something different from the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// The relay does not know the token: the handset was never enrolled there, or its
    /// enrollment was removed. Enroll it again.
    UnknownToken,
    /// The operator revoked the device. Ask the operator to enroll it again.
    Revoked,
}

/// What went wrong, in enough detail for a log line and for a caller to act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Input from the app or the user is unacceptable; nothing was written.
    #[error("invalid {field}: {problem}")]
    Invalid {
        /// The field or argument at fault (`name`, `grid`, `notes`, ...).
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A record the call refers to does not exist in this store.
    #[error("unknown {kind} {id}")]
    NotFound {
        /// `household`, `visit` or `case`.
        kind: &'static str,
        /// The id that was looked up.
        id: String,
    },
    /// The handset's grants do not allow this write: a grid outside its scopes, a role its
    /// worker does not hold. Nothing was written.
    #[error("not permitted: {0}")]
    NotPermitted(String),
    /// The handset has no identity to write as: it has neither met its relay (which sends
    /// the grants) nor been given a worker and grid at setup.
    #[error(
        "this handset has no identity yet: sync with the relay once, or set it up with a worker and a grid"
    )]
    NoIdentity,
    /// A case action that the workflow does not allow now, or not for this role.
    #[error("case action refused: {0}")]
    Workflow(String),
    /// Bytes from outside (a file, a frame, a change) could not be decoded or are inconsistent.
    #[error("corrupt {what}: {detail}")]
    Corrupt {
        /// What was being read (`document h-…`, `store`, `frame`, ...).
        what: String,
        /// Why it was rejected.
        detail: String,
    },
    /// The on-device store failed (disk full, I/O error, locked by another process).
    #[error("storage failure: {0}")]
    Storage(String),
    /// Another process has the store open (sled holds a file lock); close it there first.
    #[error("the store at {path} is open in another process; close it there first")]
    StoreInUse {
        /// The store's directory.
        path: String,
    },
    /// The store's files lost commits it had made durable (bit rot, a bad flash block):
    /// its witness names a later commit than the database holds. It opens read-only; every
    /// write is refused until it is salvaged (`Replica::salvage`, `gridsync salvage`),
    /// so nothing is acknowledged that the damaged files would lose again.
    #[error(
        "the store at {path} is damaged: {lost_commits} commit(s) it had made durable are missing; \
         it is read-only until salvaged (`gridsync salvage`, then `gridsync sync`)"
    )]
    StoreDamaged {
        /// The store's directory.
        path: String,
        /// Commits the witness counts that the database no longer holds.
        lost_commits: u64,
    },
    /// The store is encrypted and the key given does not open it. Nothing was changed.
    #[error("wrong key: this key does not open the store at {path}")]
    WrongKey {
        /// The store's directory.
        path: String,
    },
    /// The store is encrypted and was opened without a key.
    #[error("the store at {path} is encrypted: open it with its key")]
    KeyNeeded {
        /// The store's directory.
        path: String,
    },
    /// The store is not encrypted, so it has no key to change: open it with a key to
    /// encrypt it.
    #[error("the store is not encrypted: open it with a key to encrypt it")]
    NotEncrypted,
    /// The store was erased (sign-out, remote wipe): its data can no longer be read.
    #[error("the store at {path} was erased; set the handset up again")]
    Erased {
        /// The store's directory.
        path: String,
    },
    /// The store was written by a newer gridsync than this one.
    #[error(
        "store schema version {found} is newer than this build supports ({supported}); upgrade the app"
    )]
    SchemaTooNew {
        /// Version found on disk.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// The sync peer broke the protocol or refused us.
    #[error("sync protocol: {0}")]
    Protocol(String),
    /// The relay refused the device's credentials; retrying will not help.
    #[error("access denied: {detail}")]
    Denied {
        /// Which refusal it is.
        denial: Denial,
        /// What the relay said, and what to do.
        detail: String,
    },
    /// The relay speaks another protocol version than this build ([`PROTOCOL_VERSION`]);
    /// retrying will not help until the app or the relay is updated.
    ///
    /// [`PROTOCOL_VERSION`]: crate::sync::wire::PROTOCOL_VERSION
    #[error(
        "the relay does not speak this app's sync protocol (version {ours}): {detail}; update the app, or ask the operator to update the relay"
    )]
    VersionMismatch {
        /// The protocol version this build speaks.
        ours: u16,
        /// What the relay said.
        detail: String,
    },
    /// The operator wiped this handset (`gridsync-relay device wipe`): its store was erased
    /// at the relay's word. Retrying will not help: set the handset up again.
    #[error("the relay's operator wiped this handset: its records were erased; set it up again")]
    Wiped,
    /// The network failed (no route, timeout, connection lost).
    #[error("network: {0}")]
    Network(String),
    /// A commit's precondition ([`crate::store::Batch::expect`]) did not hold: another
    /// writer (another relay node on the same database) changed the key first. Nothing
    /// was written; read again and retry.
    #[error("another writer changed {tree}/{key} first; nothing was written")]
    Conflict {
        /// The tree of the key that changed.
        tree: String,
        /// The key, as text where it is text, else in hex.
        key: String,
    },
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// Shorthand for [`Error::Network`].
    pub fn network(e: impl std::fmt::Display) -> Self {
        Error::Network(e.to_string())
    }

    /// Shorthand for [`Error::Denied`].
    pub fn denied(denial: Denial, detail: impl Into<String>) -> Self {
        Error::Denied {
            denial,
            detail: detail.into(),
        }
    }

    /// True when retrying the same call cannot succeed until someone acts (a new
    /// enrollment, an update): a live sync stops instead of reconnecting.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Error::Denied { .. }
                | Error::VersionMismatch { .. }
                | Error::Wiped
                | Error::Erased { .. }
        )
    }

    /// The [`Error::Conflict`] for a key of `tree`.
    pub fn conflict(tree: &str, key: &[u8]) -> Self {
        Error::Conflict {
            tree: tree.to_string(),
            key: match std::str::from_utf8(key) {
                Ok(text) if text.chars().all(|c| !c.is_control()) => text.to_string(),
                _ => hex::encode(key),
            },
        }
    }

    /// Shorthand for [`Error::Corrupt`].
    pub fn corrupt(what: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Error::Corrupt {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

impl From<sled::Error> for Error {
    fn from(e: sled::Error) -> Self {
        match e {
            sled::Error::Corruption { .. } => Error::corrupt("store", e),
            other => Error::Storage(other.to_string()),
        }
    }
}

impl From<sled::transaction::TransactionError<Error>> for Error {
    fn from(e: sled::transaction::TransactionError<Error>) -> Self {
        match e {
            sled::transaction::TransactionError::Abort(inner) => inner,
            sled::transaction::TransactionError::Storage(s) => s.into(),
        }
    }
}
