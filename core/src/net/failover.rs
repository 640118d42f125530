//! Several addresses for one relay (its nodes, sharing its certificate: `docs/SCALING.md`).
//! A handset prefers one by a hash of its device id, so handsets spread evenly over the
//! nodes and each keeps to one while it works; when a connection to it fails for the
//! network (refused, unanswered, lost), the next attempt goes to the next address, in a
//! fixed ring. Denials and protocol errors do not move it: another node would say the same.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The relay's addresses in this handset's order of preference, and the one in use.
#[derive(Debug)]
pub(crate) struct Addresses {
    order: Vec<SocketAddr>,
    current: AtomicUsize,
}

impl Addresses {
    /// `all` (at least one) ordered for `device`: its preferred address first.
    pub(crate) fn new(all: Vec<SocketAddr>, device: &str) -> Self {
        let mut order = all;
        if !order.is_empty() {
            let first = preference(device, order.len());
            order.rotate_left(first);
        }
        Addresses {
            order,
            current: AtomicUsize::new(0),
        }
    }

    /// The address to connect to now.
    pub(crate) fn current(&self) -> SocketAddr {
        let i = self.current.load(Ordering::Acquire);
        self.order[i % self.order.len()]
    }

    /// A connection to `addr` failed for the network: the next attempt tries the next
    /// address (unless another attempt moved on already).
    pub(crate) fn failed(&self, addr: SocketAddr) {
        let n = self.order.len();
        let i = self.current.load(Ordering::Acquire);
        if n > 1 && self.order[i % n] == addr {
            let _ =
                self.current
                    .compare_exchange(i, (i + 1) % n, Ordering::AcqRel, Ordering::Acquire);
            tracing::info!(%addr, next = %self.current(), "relay node unreachable; trying the next");
        }
    }

    /// Every address, in this handset's order.
    pub(crate) fn all(&self) -> &[SocketAddr] {
        &self.order
    }
}

/// Which of `n` addresses `device` prefers: the first 8 bytes of SHA-256 of its id, mod `n`
/// (stable across builds and platforms, unlike `std`'s hasher).
fn preference(device: &str, n: usize) -> usize {
    let digest = ring::digest::digest(&ring::digest::SHA256, device.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    (u64::from_be_bytes(first) % n as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: u16) -> Vec<SocketAddr> {
        (0..n)
            .map(|i| SocketAddr::from(([10, 0, 0, 1], 4433 + i)))
            .collect()
    }

    #[test]
    fn handsets_spread_over_the_nodes_and_keep_their_choice() {
        let mut per_node = [0usize; 3];
        for d in 0..3000 {
            let a = Addresses::new(nodes(3), &format!("dev-{d:06x}"));
            let again = Addresses::new(nodes(3), &format!("dev-{d:06x}"));
            assert_eq!(a.current(), again.current(), "the choice is stable");
            per_node[usize::from(a.current().port() - 4433)] += 1;
        }
        // Even within a few percent: 1,000 each expected.
        assert!(
            per_node.iter().all(|&n| (900..=1100).contains(&n)),
            "{per_node:?}"
        );
    }

    #[test]
    fn a_failed_node_moves_the_handset_round_the_ring() {
        let a = Addresses::new(nodes(3), "dev-abc");
        let first = a.current();
        a.failed(first);
        let second = a.current();
        assert_ne!(first, second);
        // A failure of an address no longer in use changes nothing.
        a.failed(first);
        assert_eq!(a.current(), second);
        a.failed(second);
        a.failed(a.current());
        assert_eq!(
            a.current(),
            first,
            "back to the start after every node failed"
        );
        assert_eq!(a.all().len(), 3);
    }

    #[test]
    fn one_address_stays_put() {
        let a = Addresses::new(nodes(1), "dev-abc");
        a.failed(a.current());
        assert_eq!(a.current().port(), 4433);
    }
}
