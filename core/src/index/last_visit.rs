//! The `W` entries: each household's latest visit time.
//!
//! "Households due for a visit" needs every household's last visit. Reading it from the `V`
//! entries means one backward search per household, and on a store whose pages are
//! compressed each search decompresses a page of its own. `W \0 household → at` holds the
//! answer instead, so the query reads one short run of small entries. Unlike the other
//! entries it is not owned by one document: [`update`] keeps it equal to the newest `V`
//! key of the household whenever a visit's entries are replaced or removed, looking
//! through the writes already staged in the same batch.

use std::collections::BTreeMap;

use super::keys::{ALL_VISITS_BY_HOUSEHOLD, key, time_from_key, time_key};
use super::staged_get;
use crate::error::Result;
use crate::ids::Timestamp;
use crate::store::{Batch, Op, Scan, Store, trees::INDEX};

/// The `W` key of a household (its id's bytes).
pub(crate) fn key_for(household: &[u8]) -> Vec<u8> {
    key(&[b"W", household])
}

/// Where the `W` entries start.
pub(crate) const PREFIX: &[u8] = b"W\0";

/// Splits `V \0 household \0 at \0 visit` into the household and the time.
fn split_visit_key(k: &[u8]) -> Option<(&[u8], Timestamp)> {
    let rest = k.strip_prefix(ALL_VISITS_BY_HOUSEHOLD)?;
    let nul = rest.iter().position(|b| *b == 0)?;
    let at = time_from_key(rest.get(nul + 1..nul + 9)?)?;
    Some((&rest[..nul], at))
}

/// Decodes a `W` value.
pub(crate) fn decode_at(v: &[u8]) -> Option<Timestamp> {
    time_from_key(v)
}

/// Stages the `W` writes that follow from one document's index keys going from `removed`
/// to `added` (both already staged in `batch`).
pub(crate) fn update(
    store: &dyn Store,
    batch: &mut Batch,
    removed: &[Vec<u8>],
    added: &[Vec<u8>],
) -> Result<()> {
    // Per household: did it lose a visit key, and the newest visit key it gained.
    let mut touched: BTreeMap<&[u8], (bool, Option<Timestamp>)> = BTreeMap::new();
    for k in removed.iter().filter(|k| !added.contains(k)) {
        if let Some((h, _)) = split_visit_key(k) {
            touched.entry(h).or_default().0 = true;
        }
    }
    for k in added {
        if let Some((h, at)) = split_visit_key(k) {
            let e = touched.entry(h).or_default();
            e.1 = e.1.max(Some(at));
        }
    }
    for (h, (lost, gained)) in touched {
        let wk = key_for(h);
        let last = if lost {
            newest_staged(store, batch, h)?
        } else {
            let current = staged_get(store, batch, &wk)?.and_then(|v| decode_at(&v));
            if gained <= current {
                // A visit re-indexed at its old time, or an older visit: nothing to write.
                continue;
            }
            gained
        };
        match last {
            Some(at) => batch.put(INDEX, wk, time_key(at).to_vec()),
            None => batch.delete(INDEX, wk),
        }
    }
    Ok(())
}

/// The newest visit time of `household` once `batch` is committed.
fn newest_staged(store: &dyn Store, batch: &Batch, household: &[u8]) -> Result<Option<Timestamp>> {
    let prefix = key(&[b"V", household, b""]);
    let in_batch = batch
        .ops
        .iter()
        .filter(|(t, k, _)| *t == INDEX && k.starts_with(&prefix))
        .filter(|(_, k, _)| matches!(batch.pending(INDEX, k), Some(Op::Put(_))))
        .filter_map(|(_, k, _)| split_visit_key(k).map(|(_, at)| at))
        .max();
    let mut after: Option<Vec<u8>> = None;
    let in_store = loop {
        let page = store.scan(
            INDEX,
            Scan {
                prefix: &prefix,
                after: after.as_deref(),
                limit: 16,
                reverse: true,
            },
        )?;
        let Some((last, _)) = page.last() else {
            break None;
        };
        let kept = page
            .iter()
            .find(|(k, _)| !matches!(batch.pending(INDEX, k), Some(Op::Delete)));
        if let Some((k, _)) = kept {
            break split_visit_key(k).map(|(_, at)| at);
        }
        after = Some(last.clone());
    };
    Ok(in_batch.max(in_store))
}

/// Rewrites every `W` entry from the `V` entries (a migration step, and a repair).
pub(crate) fn rebuild(store: &dyn Store) -> Result<()> {
    let mut newest: BTreeMap<Vec<u8>, Timestamp> = BTreeMap::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = store.scan(
            INDEX,
            Scan {
                prefix: ALL_VISITS_BY_HOUSEHOLD,
                after: after.as_deref(),
                limit: 1024,
                reverse: false,
            },
        )?;
        let Some((last, _)) = page.last() else {
            break;
        };
        for (k, _) in &page {
            if let Some((h, at)) = split_visit_key(k) {
                let e = newest.entry(h.to_vec()).or_insert(at);
                *e = (*e).max(at);
            }
        }
        after = Some(last.clone());
    }
    let mut batch = Batch::new();
    for (k, _) in store.scan(INDEX, Scan::prefix(PREFIX))? {
        batch.delete(INDEX, k);
    }
    for (h, at) in newest {
        batch.put(INDEX, key_for(&h), time_key(at).to_vec());
    }
    store.commit(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn vkey(h: &str, at: Timestamp, visit: &str) -> Vec<u8> {
        key(&[b"V", h.as_bytes(), &time_key(at), visit.as_bytes()])
    }

    fn w(store: &dyn Store, h: &str) -> Option<Timestamp> {
        store
            .get(INDEX, &key_for(h.as_bytes()))
            .unwrap()
            .and_then(|v| decode_at(&v))
    }

    /// Stages `added` puts and `removed` deletes as `replace` would, then updates `W`.
    fn apply(store: &MemoryStore, removed: &[Vec<u8>], added: &[Vec<u8>]) {
        let mut b = Batch::new();
        for k in removed {
            b.delete(INDEX, k.clone());
        }
        for k in added {
            b.put(INDEX, k.clone(), Vec::new());
        }
        update(store, &mut b, removed, added).unwrap();
        store.commit(b).unwrap();
    }

    #[test]
    fn a_visit_key_splits_even_when_its_time_holds_zero_bytes() {
        let k = vkey("h-1", 256, "v-1");
        assert_eq!(split_visit_key(&k), Some((&b"h-1"[..], 256)));
        assert_eq!(split_visit_key(b"D\0g\0x"), None);
    }

    #[test]
    fn the_entry_follows_the_newest_visit_as_visits_come_and_go() {
        let s = MemoryStore::new();
        apply(&s, &[], &[vkey("h-1", 200, "v-a")]);
        assert_eq!(w(&s, "h-1"), Some(200));
        // An older visit arriving later (a merge) leaves the newest in place.
        apply(&s, &[], &[vkey("h-1", 100, "v-b")]);
        assert_eq!(w(&s, "h-1"), Some(200));
        // The newest retired: the next one takes over.
        apply(&s, &[vkey("h-1", 200, "v-a")], &[]);
        assert_eq!(w(&s, "h-1"), Some(100));
        // A visit moved to another household by a merge.
        apply(&s, &[vkey("h-1", 100, "v-b")], &[vkey("h-2", 100, "v-b")]);
        assert_eq!(w(&s, "h-1"), None);
        assert_eq!(w(&s, "h-2"), Some(100));
    }

    #[test]
    fn writes_staged_earlier_in_the_same_batch_count() {
        let s = MemoryStore::new();
        apply(&s, &[], &[vkey("h-1", 50, "v-0")]);
        let mut b = Batch::new();
        for (at, v) in [(300, "v-a"), (100, "v-b")] {
            let k = vkey("h-1", at, v);
            b.put(INDEX, k.clone(), Vec::new());
            update(&s, &mut b, &[], &[k]).unwrap();
        }
        // And a removal whose search must skip a key deleted earlier in the batch.
        let gone = vkey("h-1", 300, "v-a");
        b.delete(INDEX, gone.clone());
        update(&s, &mut b, std::slice::from_ref(&gone), &[]).unwrap();
        s.commit(b).unwrap();
        assert_eq!(w(&s, "h-1"), Some(100));
    }

    #[test]
    fn rebuild_matches_the_visit_keys() {
        let s = MemoryStore::new();
        let mut b = Batch::new();
        for (h, at, v) in [("h-1", 5, "v-1"), ("h-1", 9, "v-2"), ("h-2", 7, "v-3")] {
            b.put(INDEX, vkey(h, at, v), Vec::new());
        }
        b.put(INDEX, key_for(b"h-3"), time_key(1).to_vec());
        s.commit(b).unwrap();
        rebuild(&s).unwrap();
        assert_eq!(w(&s, "h-1"), Some(9));
        assert_eq!(w(&s, "h-2"), Some(7));
        assert_eq!(w(&s, "h-3"), None);
    }
}
