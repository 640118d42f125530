//! Retiring a household: `ROOT.retired` holds the [`Retirement`] as one register (postcard
//! bytes), so two phones retiring the same household at once keep one retirement, the
//! same on every replica; reinstating deletes it. Visits and history stay in place.

use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc, ScalarValue, Value};

use crate::error::{Error, Result};
use crate::model::doc::am;
use crate::model::types::Retirement;

const KEY: &str = "retired";

/// Writes the retirement (replacing any earlier one).
pub(crate) fn retire(tx: &mut impl Transactable, r: &Retirement) -> Result<()> {
    let bytes = postcard::to_allocvec(r)
        .map_err(|e| Error::Storage(format!("cannot encode a retirement: {e}")))?;
    tx.put(ROOT, KEY, ScalarValue::Bytes(bytes)).map_err(am)
}

/// Removes the retirement: the household is listed again.
pub(crate) fn reinstate(tx: &mut impl Transactable) -> Result<()> {
    tx.delete(ROOT, KEY).map_err(am)
}

/// The household's retirement, if it has one.
pub(crate) fn read(doc: &impl ReadDoc) -> Result<Option<Retirement>> {
    match doc.get(ROOT, KEY).map_err(am)? {
        None => Ok(None),
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Bytes(b) => postcard::from_bytes(b)
                .map(Some)
                .map_err(|e| Error::corrupt("household retirement", e)),
            _ => Err(Error::corrupt("household", "retirement is not bytes")),
        },
        Some(_) => Err(Error::corrupt("household", "retirement is not a value")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use automerge::AutoCommit;

    use super::*;
    use crate::ids::{DocId, DocKind};

    fn retirement(by: &str) -> Retirement {
        Retirement {
            by: by.into(),
            at: 1_700_000_000_000,
            duplicate_of: Some(DocId::new(DocKind::Household)),
            reason: "登记了两次".into(),
        }
    }

    #[test]
    fn retire_reads_back_and_reinstate_clears_it() {
        let mut doc = AutoCommit::new();
        assert_eq!(read(&doc).unwrap(), None);
        let r = retirement("w-li");
        retire(&mut doc, &r).unwrap();
        assert_eq!(read(&doc).unwrap(), Some(r));
        reinstate(&mut doc).unwrap();
        assert_eq!(read(&doc).unwrap(), None);
    }

    #[test]
    fn two_phones_retiring_at_once_keep_one_retirement_on_both() {
        let mut a = AutoCommit::new();
        a.put(ROOT, "kind", "household").unwrap();
        let mut b = AutoCommit::load(&a.save()).unwrap();
        retire(&mut a, &retirement("w-li")).unwrap();
        retire(&mut b, &retirement("w-wang")).unwrap();
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        let (ra, rb) = (read(&a).unwrap(), read(&b).unwrap());
        assert!(ra.is_some());
        assert_eq!(ra, rb);
    }
}
