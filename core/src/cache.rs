//! A bounded cache of loaded automerge documents (least recently used goes first), so a
//! replica holding a year of a grid keeps only what is being worked on in memory.

use std::collections::HashMap;

use automerge::Automerge;

use crate::ids::DocId;

/// At most `capacity` documents, evicting the least recently used.
#[derive(Debug)]
pub(crate) struct DocCache {
    capacity: usize,
    tick: u64,
    docs: HashMap<DocId, (Automerge, u64)>,
}

impl DocCache {
    /// An empty cache holding at most `capacity` (at least 1) documents.
    pub(crate) fn new(capacity: usize) -> Self {
        DocCache {
            capacity: capacity.max(1),
            tick: 0,
            docs: HashMap::new(),
        }
    }

    /// Takes a document out (the caller puts it back when done with it).
    pub(crate) fn take(&mut self, id: &DocId) -> Option<Automerge> {
        self.docs.remove(id).map(|(d, _)| d)
    }

    /// Puts a document in, evicting the least recently used one when full.
    pub(crate) fn put(&mut self, id: DocId, doc: Automerge) {
        self.tick += 1;
        self.docs.insert(id, (doc, self.tick));
        while self.docs.len() > self.capacity {
            let oldest = self
                .docs
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    self.docs.remove(&k);
                }
                None => break,
            }
        }
    }

    /// Forgets a document (after a failed write, its in-memory state is not on disk).
    pub(crate) fn forget(&mut self, id: &DocId) {
        self.docs.remove(id);
    }

    /// How many documents are loaded.
    pub(crate) fn len(&self) -> usize {
        self.docs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::DocKind;

    #[test]
    fn evicts_least_recently_used() {
        let mut c = DocCache::new(2);
        let (a, b, d) = (
            DocId::new(DocKind::Visit),
            DocId::new(DocKind::Visit),
            DocId::new(DocKind::Visit),
        );
        c.put(a.clone(), Automerge::new());
        c.put(b.clone(), Automerge::new());
        let doc = c.take(&a).unwrap();
        c.put(a.clone(), doc); // a is now the most recent
        c.put(d.clone(), Automerge::new());
        assert_eq!(c.len(), 2);
        assert!(c.take(&b).is_none(), "b was least recently used");
        assert!(c.take(&a).is_some() && c.take(&d).is_some());
    }
}
