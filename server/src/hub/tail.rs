//! The log's recent tail in memory: the sequence and grid of the latest changes. A
//! caught-up connection woken by a flush pulls what is new in its scopes by walking the
//! changes after its cursor, so a flush costs each connection work in proportion to what
//! changed, not a scan of every grid log in its scopes (issue 16). Cursors older than the
//! tail (a handset back from days offline, any cursor after the relay restarted) read the
//! grid logs as before.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use gridsync_core::ids::GridPath;

/// Changes the tail remembers (about 100 bytes each).
pub(crate) const TAIL_CHANGES: usize = 65_536;

/// The tail: every sequence after `start` up to the newest, each with its grid.
#[derive(Debug)]
pub(crate) struct LogTail {
    inner: Mutex<Inner>,
    capacity: usize,
}

#[derive(Debug)]
struct Inner {
    /// The tail holds every sequence after this one.
    start: u64,
    changes: VecDeque<(u64, Arc<GridPath>)>,
}

impl LogTail {
    /// An empty tail over a log whose head is `head`.
    pub(crate) fn new(head: u64, capacity: usize) -> Self {
        LogTail {
            inner: Mutex::new(Inner {
                start: head,
                changes: VecDeque::new(),
            }),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Only whole pushes and pops happen under the lock: a panic leaves it consistent.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The newest sequence the tail holds (or its start when empty).
    pub(crate) fn newest(&self) -> u64 {
        let inner = self.lock();
        inner.changes.back().map_or(inner.start, |(s, _)| *s)
    }

    /// Forgets every change held: the tail holds every sequence after `head` from now on.
    pub(crate) fn start_over(&self, head: u64) {
        let mut inner = self.lock();
        inner.changes.clear();
        inner.start = head;
    }

    /// Records committed changes, in sequence order. Sequences it holds already are
    /// skipped; one that leaves a gap after the newest (changes committed elsewhere that
    /// nobody read: `Hub::catch_up_tail` fills such gaps first) starts the tail over
    /// after it.
    pub(crate) fn extend(&self, committed: impl IntoIterator<Item = (u64, GridPath)>) {
        let mut inner = self.lock();
        for (seq, grid) in committed {
            let newest = inner.changes.back().map_or(inner.start, |(s, _)| *s);
            if seq <= newest {
                continue;
            }
            if seq != newest + 1 {
                inner.changes.clear();
                inner.start = seq.saturating_sub(1);
            }
            // Consecutive changes of one grid share its path.
            let grid = match inner.changes.back() {
                Some((_, g)) if **g == grid => g.clone(),
                _ => Arc::new(grid),
            };
            inner.changes.push_back((seq, grid));
            while inner.changes.len() > self.capacity {
                if let Some((s, _)) = inner.changes.pop_front() {
                    inner.start = s;
                }
            }
        }
    }

    /// The sequences after `after` in grids within `scopes`, at most `limit`, and whether
    /// the list stopped at the limit; `None` when the tail does not reach back to `after`.
    pub(crate) fn after(
        &self,
        scopes: &[GridPath],
        after: u64,
        limit: usize,
    ) -> Option<(Vec<u64>, bool)> {
        let inner = self.lock();
        if after < inner.start {
            return None;
        }
        // Sequences are dense from `start`: the first one after `after` is at this index.
        let skip = usize::try_from(after - inner.start).unwrap_or(usize::MAX);
        let mut out = Vec::new();
        for (seq, grid) in inner.changes.iter().skip(skip) {
            if scopes.iter().any(|s| grid.is_within(s)) {
                if out.len() == limit {
                    return Some((out, true));
                }
                out.push(*seq);
            }
        }
        Some((out, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> GridPath {
        GridPath::parse(s).expect("grid")
    }

    #[test]
    fn it_lists_what_follows_a_cursor_in_the_scopes_only() {
        let tail = LogTail::new(10, 100);
        tail.extend([
            (11, g("a/g1")),
            (12, g("a/g2")),
            (13, g("b/g1")),
            (14, g("a/g1")),
        ]);
        assert_eq!(
            tail.after(&[g("a")], 10, 10),
            Some((vec![11, 12, 14], false))
        );
        assert_eq!(tail.after(&[g("a/g1")], 11, 10), Some((vec![14], false)));
        assert_eq!(
            tail.after(&[g("b"), g("a/g2")], 10, 10),
            Some((vec![12, 13], false))
        );
        assert_eq!(tail.after(&[g("a")], 14, 10), Some((vec![], false)));
        assert_eq!(tail.after(&[g("a")], 10, 2), Some((vec![11, 12], true)));
        // Before the tail began: the caller reads the grid logs.
        assert_eq!(tail.after(&[g("a")], 9, 10), None);
    }

    #[test]
    fn a_full_tail_forgets_its_oldest_changes_and_says_so() {
        let tail = LogTail::new(0, 3);
        tail.extend((1..=5).map(|s| (s, g("a/g1"))));
        assert_eq!(tail.after(&[g("a")], 1, 10), None);
        assert_eq!(tail.after(&[g("a")], 2, 10), Some((vec![3, 4, 5], false)));
    }

    #[test]
    fn a_gap_in_the_sequences_starts_the_tail_over() {
        let tail = LogTail::new(0, 10);
        tail.extend([(1, g("a/g1")), (2, g("a/g1"))]);
        tail.extend([(7, g("a/g1"))]);
        assert_eq!(tail.after(&[g("a")], 2, 10), None);
        // What it holds already is not taken twice.
        tail.extend([(7, g("b/g1")), (8, g("b/g2"))]);
        assert_eq!(tail.newest(), 8);
        assert_eq!(tail.after(&[g("b")], 6, 10), Some((vec![8], false)));
        assert_eq!(tail.after(&[g("a")], 6, 10), Some((vec![7], false)));
        // Started over (a node far behind): earlier cursors read the grid logs.
        tail.start_over(20);
        assert_eq!((tail.newest(), tail.after(&[g("a")], 8, 10)), (20, None));
    }
}
