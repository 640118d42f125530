//! A sled commit's expectations ([`Batch::expect`](super::Batch::expect)), checked inside
//! its transaction: the values compared are the decoded ones, as `get` returns them.

use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use super::Expected;
use super::codec::Codec;
use crate::error::Error;

/// Aborts the transaction with [`Error::Conflict`] when a key does not hold what the batch
/// expects. `tx` holds the transaction's trees, named by `names` (sorted).
pub(super) fn check_expected(
    tx: &[TransactionalTree],
    names: &[&'static str],
    expected: &[Expected],
    codec: &Codec,
) -> Result<(), ConflictableTransactionError<Error>> {
    for (tree, key, value) in expected {
        let i = names.binary_search(tree).map_err(|_| {
            ConflictableTransactionError::Abort(Error::Storage("tree missing".into()))
        })?;
        let found = match tx[i].get(key.as_slice())? {
            Some(v) => Some(
                codec
                    .decode(tree, key, &v)
                    .map_err(ConflictableTransactionError::Abort)?,
            ),
            None => None,
        };
        if found != *value {
            return Err(ConflictableTransactionError::Abort(Error::conflict(
                tree, key,
            )));
        }
    }
    Ok(())
}
