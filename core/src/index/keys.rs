//! The index's key layout: every key and scan prefix of the index tree is built here, so
//! the layout in [`super`]'s table has one owner. Parts are separated by NUL; ids and grid
//! paths hold no NUL.

use crate::ids::{DocId, GridPath, Timestamp};
use crate::model::TriageClass;
use crate::workflow::CaseStatus;

/// Encodes a time so byte order is time order.
pub(crate) fn time_key(t: Timestamp) -> [u8; 8] {
    ((t as u64) ^ (1 << 63)).to_be_bytes()
}

/// Decodes [`time_key`].
pub(crate) fn time_from_key(b: &[u8]) -> Option<Timestamp> {
    let arr: [u8; 8] = b.try_into().ok()?;
    Some((u64::from_be_bytes(arr) ^ (1 << 63)) as i64)
}

/// Builds a key from parts separated by NUL.
pub(crate) fn key(parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(p);
    }
    k
}

/// The last part of a key: the record id of an `S`, `K`, `C` or `R` key.
pub(crate) fn last_part(k: &[u8]) -> &[u8] {
    &k[k.iter().rposition(|b| *b == 0).map_or(0, |p| p + 1)..]
}

/// `H \0 grid \0 household`: a household's summary.
pub(crate) fn household(grid: &GridPath, id: &DocId) -> Vec<u8> {
    key(&[b"H", grid.as_str().as_bytes(), id.as_str().as_bytes()])
}

/// Where the summaries of households in `grid`'s subtree start (every household with
/// `None`). The prefix also matches grids whose path merely starts with `grid`'s text:
/// callers keep only summaries whose grid [`GridPath::is_within`] it.
pub(crate) fn households_in(grid: Option<&GridPath>) -> Vec<u8> {
    match grid {
        Some(g) => key(&[b"H", g.as_str().as_bytes()]),
        None => b"H\0".to_vec(),
    }
}

/// `I \0 household`: which grid a household is in.
pub(crate) fn household_grid(id: &DocId) -> Vec<u8> {
    key(&[b"I", id.as_str().as_bytes()])
}

/// `V \0 household \0 at \0 visit`: a household's visits by time.
pub(crate) fn visit_of(household: &DocId, at: Timestamp, visit: &DocId) -> Vec<u8> {
    key(&[
        b"V",
        household.as_str().as_bytes(),
        &time_key(at),
        visit.as_str().as_bytes(),
    ])
}

/// Where every `V` key starts.
pub(crate) const ALL_VISITS_BY_HOUSEHOLD: &[u8] = b"V\0";

/// Where a household's `V` keys start.
pub(crate) fn visits_of(household: &DocId) -> Vec<u8> {
    key(&[b"V", household.as_str().as_bytes(), b""])
}

/// `D \0 grid \0 at \0 visit`: a grid's visits by date.
pub(crate) fn visit_in(grid: &GridPath, at: Timestamp, visit: &DocId) -> Vec<u8> {
    key(&[
        b"D",
        grid.as_str().as_bytes(),
        &time_key(at),
        visit.as_str().as_bytes(),
    ])
}

/// Where every `D` key starts.
pub(crate) const ALL_VISITS_BY_DATE: &[u8] = b"D\0";

/// Where a grid's `D` keys start.
pub(crate) fn visits_in(grid: &GridPath) -> Vec<u8> {
    key(&[b"D", grid.as_str().as_bytes(), b""])
}

/// A key just before the first `D` key of `grid` at or after `from` (a scan's `after`).
pub(crate) fn visits_in_before(grid: &GridPath, from: Timestamp) -> Vec<u8> {
    let mut start = visits_in(grid);
    start.extend_from_slice(&time_key(from.saturating_sub(1)));
    start.push(0xff);
    start
}

/// `F \0 due \0 visit \0 n`: follow-up number `n` (from 0) of a visit, while it is open,
/// by the time it is due.
pub(crate) fn open_follow_up(due: Timestamp, visit: &DocId, n: u32) -> Vec<u8> {
    key(&[
        b"F",
        &time_key(due),
        visit.as_str().as_bytes(),
        &n.to_be_bytes(),
    ])
}

/// Where every `F` key starts.
pub(crate) const OPEN_FOLLOW_UPS: &[u8] = b"F\0";

/// An `F` key's due time (`None` when unreadable).
pub(crate) fn follow_up_due(k: &[u8]) -> Option<Timestamp> {
    k.get(2..10).and_then(time_from_key)
}

/// `C \0 case`: a case's summary (`id`: the case id's bytes).
pub(crate) fn case(id: &[u8]) -> Vec<u8> {
    key(&[b"C", id])
}

/// Where every `C` key starts.
pub(crate) const ALL_CASES: &[u8] = b"C\0";

/// `S \0 status \0 case`: cases by status.
pub(crate) fn case_by_status(status: CaseStatus, id: &[u8]) -> Vec<u8> {
    key(&[b"S", status.as_str().as_bytes(), id])
}

/// Where the `S` keys of one status start.
pub(crate) fn cases_with_status(status: CaseStatus) -> Vec<u8> {
    case_by_status(status, b"")
}

/// `K \0 class \0 case`: cases by triage class.
pub(crate) fn case_by_class(class: TriageClass, id: &[u8]) -> Vec<u8> {
    key(&[b"K", class.as_str().as_bytes(), id])
}

/// Where the `K` keys of one class start.
pub(crate) fn cases_of_class(class: TriageClass) -> Vec<u8> {
    case_by_class(class, b"")
}

/// `L \0 deadline \0 case`: open cases by deadline.
pub(crate) fn case_by_deadline(deadline: Timestamp, id: &[u8]) -> Vec<u8> {
    key(&[b"L", &time_key(deadline), id])
}

/// Where every `L` key starts.
pub(crate) const CASES_BY_DEADLINE: &[u8] = b"L\0";

/// An `L` key's deadline (`None` when unreadable) and case id.
pub(crate) fn split_deadline_key(k: &[u8]) -> (Option<Timestamp>, &[u8]) {
    let deadline = k.get(2..10).and_then(time_from_key);
    (deadline, k.get(11..).unwrap_or_default())
}

/// `R \0 case`: a case needing review.
pub(crate) fn case_for_review(id: &[u8]) -> Vec<u8> {
    key(&[b"R", id])
}

/// Where every `R` key starts.
pub(crate) const CASES_FOR_REVIEW: &[u8] = b"R\0";

/// `X \0 doc`: the keys a document wrote.
pub(crate) fn doc_keys(doc: &DocId) -> Vec<u8> {
    key(&[b"X", doc.as_str().as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_keys_sort_like_times() {
        let ts = [i64::MIN, -5, -1, 0, 1, 1_700_000_000_000, i64::MAX];
        for w in ts.windows(2) {
            assert!(time_key(w[0]) < time_key(w[1]));
        }
        for t in ts {
            assert_eq!(time_from_key(&time_key(t)), Some(t));
        }
    }

    #[test]
    fn a_deadline_key_splits_into_its_deadline_and_case() {
        let k = case_by_deadline(1_700_000_000_000, b"c-1");
        assert_eq!(
            split_deadline_key(&k),
            (Some(1_700_000_000_000), &b"c-1"[..])
        );
        assert_eq!(last_part(&case_for_review(b"c-2")), b"c-2");
        let visit = DocId::new(crate::ids::DocKind::Visit);
        let k = open_follow_up(-3, &visit, 7);
        assert_eq!(follow_up_due(&k), Some(-3));
        assert!(k.starts_with(OPEN_FOLLOW_UPS));
        assert!(
            open_follow_up(-4, &visit, 9) < k,
            "F keys sort by due time first"
        );
        assert_eq!(
            last_part(&case_by_status(CaseStatus::ALL[0], b"c-3")),
            b"c-3"
        );
    }
}
