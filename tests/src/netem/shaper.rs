//! The decisions for one direction of one link, without sockets: given a datagram's size
//! and the time it arrived, when (if ever) it is delivered, and how many times.
//!
//! Order of events for a datagram: the link is down → dropped. Otherwise it joins the
//! direction's queue; if the queue's bytes would exceed `queue_bytes` it is tail-dropped.
//! It leaves the queue when the token bucket (rate `rate_bps`, depth `burst_bytes`) has
//! tokens for it, datagrams leaving in arrival order. On the air it is lost with
//! probability `loss` (it used its share of the bandwidth). It arrives after half the RTT
//! plus jitter, never before the datagram ahead of it, unless it was picked for
//! reordering (then it is held back by up to `reorder_delay` and others overtake it).
//! With probability `duplicate` a second copy arrives just after the first.
//!
//! Every datagram draws the same five random numbers in the same order whatever happens to
//! it, so the n-th datagram of a direction meets the same fate under the same seed even
//! when timing differs (queue drops depend on timing; loss, jitter, reordering and
//! duplication do not).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::profile::LinkProfile;

/// Why a datagram was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Random loss on the air.
    Loss,
    /// The queue was full (tail drop).
    Queue,
    /// The link was down.
    Outage,
}

/// What happens to one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// Not delivered.
    Dropped(DropReason),
    /// Delivered at `at`, and a second time at `again` if duplicated.
    Delivered {
        /// When the (first) copy arrives.
        at: Instant,
        /// When the duplicate arrives, if there is one.
        again: Option<Instant>,
        /// Held back so later datagrams overtake it.
        reordered: bool,
    },
}

/// One direction's shaping state.
#[derive(Debug)]
pub struct Shaper {
    rng: ChaCha8Rng,
    /// Tokens (bytes) in the bucket at `tokens_at`.
    tokens: f64,
    tokens_at: Option<Instant>,
    /// When the last admitted datagram leaves the queue.
    last_depart: Option<Instant>,
    /// Datagrams waiting for bandwidth: (departure, size).
    waiting: VecDeque<(Instant, usize)>,
    waiting_bytes: usize,
    /// When the last in-order datagram arrives (later ones never arrive before it).
    last_arrival: Option<Instant>,
}

impl Shaper {
    /// A shaper drawing from a generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Shaper {
            rng: ChaCha8Rng::seed_from_u64(seed),
            tokens: 0.0,
            tokens_at: None,
            last_depart: None,
            waiting: VecDeque::new(),
            waiting_bytes: 0,
            last_arrival: None,
        }
    }

    /// Bytes waiting for bandwidth at `now`.
    pub fn queued_bytes(&mut self, now: Instant) -> usize {
        self.expire(now);
        self.waiting_bytes
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&(depart, len)) = self.waiting.front() {
            if depart > now {
                break;
            }
            self.waiting.pop_front();
            self.waiting_bytes -= len;
        }
    }

    /// Decides the fate of a datagram of `len` bytes arriving at `now`; `down` says
    /// whether the link is down at that moment.
    pub fn admit(&mut self, now: Instant, len: usize, p: &LinkProfile, down: bool) -> Fate {
        // Five draws per datagram, always, in this order.
        let u_loss: f64 = self.rng.random();
        let u_jitter: f64 = self.rng.random();
        let u_reorder: f64 = self.rng.random();
        let u_reorder_delay: f64 = self.rng.random();
        let u_dup: f64 = self.rng.random();
        if down {
            return Fate::Dropped(DropReason::Outage);
        }
        let depart = match p.rate_bps {
            Some(rate) if rate > 0 => {
                self.expire(now);
                if self.waiting_bytes.saturating_add(len) > p.queue_bytes {
                    return Fate::Dropped(DropReason::Queue);
                }
                let bytes_per_sec = rate as f64 / 8.0;
                let burst = p.burst_bytes.max(len) as f64;
                let start = self.last_depart.map_or(now, |d| d.max(now));
                let since = self.tokens_at.map_or(f64::INFINITY, |t| {
                    start.saturating_duration_since(t).as_secs_f64()
                });
                let tokens = (self.tokens + since * bytes_per_sec).min(burst);
                let depart = if tokens >= len as f64 {
                    self.tokens = tokens - len as f64;
                    start
                } else {
                    let wait = (len as f64 - tokens) / bytes_per_sec;
                    self.tokens = 0.0;
                    start + Duration::from_secs_f64(wait)
                };
                self.tokens_at = Some(depart);
                self.last_depart = Some(depart);
                if depart > now {
                    self.waiting.push_back((depart, len));
                    self.waiting_bytes += len;
                }
                depart
            }
            _ => now,
        };
        if u_loss < p.loss {
            return Fate::Dropped(DropReason::Loss);
        }
        let base = p.one_way();
        let j = p.jitter.as_secs_f64();
        let delay = (base.as_secs_f64() + (u_jitter * 2.0 - 1.0) * j).max(0.0);
        let mut at = depart + Duration::from_secs_f64(delay);
        let reordered = u_reorder < p.reorder && !p.reorder_delay.is_zero();
        if reordered {
            // Held back: later datagrams overtake it; it does not hold them back.
            let extra = p.reorder_delay.mul_f64(0.25 + 0.75 * u_reorder_delay);
            at = at.max(self.last_arrival.unwrap_or(at)) + extra;
        } else {
            if let Some(last) = self.last_arrival {
                at = at.max(last);
            }
            self.last_arrival = Some(at);
        }
        let again = (u_dup < p.duplicate).then(|| at + Duration::from_micros(200));
        Fate::Delivered {
            at,
            again,
            reordered,
        }
    }
}
