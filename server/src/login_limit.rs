//! A per-source limit on failed logins: a source (IP address) that fails to log in more
//! often than [`LoginLimit`] allows is refused at the door for a while, before any
//! handshake, token check or log line. A handset that logs in is never counted.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota};

/// How many failed logins a source may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimit {
    /// Failures allowed at once.
    pub burst: u32,
    /// Failures allowed per minute after the burst; 0 turns the limit off.
    pub per_minute: u32,
    /// How long a source over the limit is refused.
    pub block_for: Duration,
}

impl Default for LoginLimit {
    /// 10 at once, then 10 a minute; over that, refused for a minute (a worker who
    /// mistyped a token ten times is back a minute later).
    fn default() -> Self {
        LoginLimit {
            burst: 10,
            per_minute: 10,
            block_for: Duration::from_secs(60),
        }
    }
}

/// Most sources kept refused at once (a flood of addresses cannot grow the table).
const MAX_BLOCKED: usize = 65_536;

/// Failed logins by source, and the sources refused for now.
#[derive(Debug)]
pub struct FailedLogins {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    block_for: Duration,
    off: bool,
}

impl FailedLogins {
    /// A table for `limit`.
    pub fn new(limit: LoginLimit) -> Self {
        let one = NonZeroU32::MIN;
        let quota = Quota::per_minute(NonZeroU32::new(limit.per_minute).unwrap_or(one))
            .allow_burst(NonZeroU32::new(limit.burst).unwrap_or(one));
        FailedLogins {
            limiter: DefaultKeyedRateLimiter::hashmap(quota),
            blocked: Mutex::new(HashMap::new()),
            block_for: limit.block_for,
            off: limit.per_minute == 0,
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Instant>> {
        // Times only: a panic elsewhere leaves nothing half-written that matters.
        self.blocked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts a failed login from `ip`; true when that put it over the limit (it is
    /// refused from now on, for the block time).
    pub fn failed(&self, ip: IpAddr) -> bool {
        if self.off || self.limiter.check_key(&ip).is_ok() {
            return false;
        }
        let mut table = self.table();
        let now = Instant::now();
        if table.len() >= MAX_BLOCKED {
            table.retain(|_, until| *until > now);
            self.limiter.retain_recent();
        }
        if table.len() < MAX_BLOCKED {
            table.insert(ip, now + self.block_for);
        }
        true
    }

    /// Whether connections from `ip` are refused now.
    pub fn is_blocked(&self, ip: IpAddr) -> bool {
        let mut table = self.table();
        match table.get(&ip) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                table.remove(&ip);
                false
            }
            None => false,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_source_over_its_burst_is_refused_for_the_block_time_and_others_are_not() {
        let limit = LoginLimit {
            burst: 3,
            per_minute: 1,
            block_for: Duration::from_millis(200),
        };
        let f = FailedLogins::new(limit);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert!(!f.failed(a) && !f.failed(a) && !f.failed(a));
        assert!(!f.is_blocked(a));
        assert!(f.failed(a), "the fourth failure is over a burst of 3");
        assert!(f.is_blocked(a));
        assert!(!f.is_blocked(b));
        std::thread::sleep(Duration::from_millis(250));
        assert!(!f.is_blocked(a), "still refused after the block time");
    }
}
