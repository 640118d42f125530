//! The checks a pushed change passes before the relay's state is consulted, in one place:
//! [`CheckedChange::check`], run by the [`RelaySession`](super::RelaySession) on every
//! pushed change. A [`RelayBackend`](super::RelayBackend) receives only checked changes,
//! so it checks none of this again: it parses nothing and re-checks no scope.

use automerge::Change;
use tracing::warn;

use super::backend::DeviceGrant;
use super::wire::{PushedChange, Refusal};
use crate::error::Error;
use crate::untrusted::contain;

/// A pushed change that parses as an automerge change (its hash set from its content: the
/// wire carries none), with a valid document id and grid path, in a grid inside the
/// pushing device's scopes. Only [`CheckedChange::check`] makes one.
#[derive(Debug, Clone)]
pub struct CheckedChange {
    pushed: PushedChange,
    change: Change,
}

impl CheckedChange {
    /// Parses `pushed` (containing any decoder panic) and checks it against `grant`
    /// ([`DeviceGrant::check_write`]). `Err` is the refusal for the handset: named by the
    /// change's hash, or by the SHA-256 of its bytes when they do not parse.
    pub fn check(grant: &DeviceGrant, pushed: PushedChange) -> Result<Self, Refusal> {
        Self::check_counted(grant, pushed).map_err(|(refusal, _)| refusal)
    }

    /// [`CheckedChange::check`], saying which check a refused change failed.
    pub fn check_counted(
        grant: &DeviceGrant,
        mut pushed: PushedChange,
    ) -> Result<Self, (Refusal, Unchecked)> {
        if pushed.bytes.len() > MAX_CHANGE_BYTES {
            warn!(doc = %pushed.doc, bytes = pushed.bytes.len(), "push refused: change too large");
            let refusal = Refusal {
                hash: sha256(&pushed.bytes),
                reason: format!(
                    "a change of {} bytes is over the relay's limit of {MAX_CHANGE_BYTES} bytes for one change",
                    pushed.bytes.len()
                ),
            };
            return Err((refusal, Unchecked::TooLarge));
        }
        let parsed = contain("pushed change", || {
            Change::from_bytes(pushed.bytes.clone()).map_err(|e| Error::corrupt("pushed change", e))
        });
        let change = match parsed {
            Ok(change) => change,
            Err(e) => {
                let refusal = Refusal {
                    hash: sha256(&pushed.bytes),
                    reason: format!("malformed change: {e}"),
                };
                return Err((refusal, Unchecked::Malformed));
            }
        };
        pushed.hash = change.hash().0;
        if let Err(reason) = grant.check_write(&pushed) {
            warn!(doc = %pushed.doc, grid = %pushed.grid, %reason, "push refused");
            let refusal = Refusal {
                hash: pushed.hash,
                reason,
            };
            return Err((refusal, Unchecked::NotWritable));
        }
        Ok(CheckedChange { pushed, change })
    }

    /// The change as pushed, with its hash set from its content.
    pub fn pushed(&self) -> &PushedChange {
        &self.pushed
    }

    /// The parsed change.
    pub fn change(&self) -> &Change {
        &self.change
    }
}

/// Largest pushed change the relay takes (1 MiB). A visit or a case step is a few
/// kilobytes; the limit keeps one device from pushing what no batch can carry to the
/// others (a batch travels in one frame of at most [`super::MAX_FRAME`]).
pub const MAX_CHANGE_BYTES: usize = 1 << 20;

/// Which check of [`CheckedChange::check_counted`] a pushed change failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unchecked {
    /// Over [`MAX_CHANGE_BYTES`].
    TooLarge,
    /// The bytes are not an automerge change.
    Malformed,
    /// The device may not write it there: an invalid document id or grid path, or a grid
    /// outside the device's scopes ([`DeviceGrant::check_write`]).
    NotWritable,
}

/// SHA-256 of some bytes (to name a change that does not parse, and to recognise a change
/// the handset pushed).
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ids::{DocId, DocKind, GridPath};

    fn grant() -> DeviceGrant {
        DeviceGrant::for_tests("d1", vec![GridPath::parse("a/b").unwrap()])
    }

    fn pushed(grid: &str, bytes: Vec<u8>) -> PushedChange {
        PushedChange {
            doc: DocId::new(DocKind::Household),
            grid: GridPath::parse(grid).unwrap(),
            hash: [0; 32],
            bytes,
        }
    }

    fn a_change() -> Vec<u8> {
        let mut doc = automerge::AutoCommit::new();
        automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "k", "v").unwrap();
        doc.get_last_local_change().unwrap().raw_bytes().to_vec()
    }

    #[test]
    fn a_change_in_scope_gets_its_hash_from_its_content() {
        let bytes = a_change();
        let expected = Change::from_bytes(bytes.clone()).unwrap().hash().0;
        let checked = CheckedChange::check(&grant(), pushed("a/b/c", bytes)).unwrap();
        assert_eq!(checked.pushed().hash, expected);
        assert_eq!(checked.change().hash().0, expected);
    }

    #[test]
    fn garbage_and_foreign_grids_are_refused() {
        let garbage = pushed("a/b", b"not a change".to_vec());
        let r = CheckedChange::check(&grant(), garbage).unwrap_err();
        assert_eq!(r.hash, sha256(b"not a change"));
        assert!(r.reason.starts_with("malformed change"), "{}", r.reason);
        let bytes = a_change();
        let expected = Change::from_bytes(bytes.clone()).unwrap().hash().0;
        let r = CheckedChange::check(&grant(), pushed("a/bc", bytes)).unwrap_err();
        assert_eq!(r.hash, expected);
        assert!(
            r.reason.contains("outside this device's scopes"),
            "{}",
            r.reason
        );
    }
}
