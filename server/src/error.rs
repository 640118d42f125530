//! The relay library's error: what failed while setting up or serving, with context.

use std::fmt::Display;

/// A relay failure.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Configuration, files, TLS or sockets could not be set up; the text says which.
    #[error("{0}")]
    Setup(String),
    /// The store or the protocol layer failed.
    #[error(transparent)]
    Core(#[from] gridsync_core::Error),
}

/// Result with [`RelayError`].
pub type Result<T, E = RelayError> = std::result::Result<T, E>;

/// Adds context to any displayable error, turning it into [`RelayError::Setup`].
pub trait Context<T> {
    /// `what: cause`.
    fn context(self, what: impl Display) -> Result<T>;
    /// Like [`Context::context`], with the text made only on failure.
    fn with_context<D: Display>(self, what: impl FnOnce() -> D) -> Result<T>;
}

impl<T, E: Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl Display) -> Result<T> {
        self.map_err(|e| RelayError::Setup(format!("{what}: {e}")))
    }

    fn with_context<D: Display>(self, what: impl FnOnce() -> D) -> Result<T> {
        self.map_err(|e| RelayError::Setup(format!("{}: {e}", what())))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, what: impl Display) -> Result<T> {
        self.ok_or_else(|| RelayError::Setup(what.to_string()))
    }

    fn with_context<D: Display>(self, what: impl FnOnce() -> D) -> Result<T> {
        self.ok_or_else(|| RelayError::Setup(what().to_string()))
    }
}

/// Fails with a setup error unless `cond` holds.
pub(crate) fn ensure(cond: bool, what: impl Display) -> Result<()> {
    if cond {
        Ok(())
    } else {
        Err(RelayError::Setup(what.to_string()))
    }
}
