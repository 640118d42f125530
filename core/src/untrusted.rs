//! Containing failures in code that decodes bytes from outside. automerge 0.12 can panic on
//! some malformed changes and documents (fuzzing found 14 sites; `tests/fixtures/crashers/`).
//! Every call that hands it bytes from the wire or the disk goes through [`contain`], so a
//! bad input is an [`Error::Corrupt`] for that input only: no panic escapes, no lock is
//! poisoned, and the relay keeps serving everyone else.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::{Error, Result};

/// Runs `f`, turning a panic inside it into [`Error::Corrupt`] about `what`.
pub fn contain<T>(what: impl Into<String>, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let text = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown failure".into());
            let what = what.into();
            tracing::warn!(what = %what, failure = %text, "decoder failed on malformed input");
            Err(Error::corrupt(
                what,
                format!("malformed input made the decoder fail ({text})"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_corrupt_error() {
        let r: Result<()> = contain("change", || panic!("index out of bounds"));
        let e = r.unwrap_err();
        assert!(matches!(e, Error::Corrupt { .. }));
        assert!(e.to_string().contains("index out of bounds"), "{e}");
        assert_eq!(contain("x", || Ok(5)).unwrap(), 5);
    }
}
