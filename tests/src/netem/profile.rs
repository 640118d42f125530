//! [`LinkProfile`]: what a link does to the datagrams crossing it, with the named profiles
//! of the field (`loopback`, `4g`, `3g`, `edge`, `mountain`, `terrible`) and a small text
//! syntax for tests and tools: `name[@time_scale][,key=value...]`.

use std::fmt;
use std::time::Duration;

/// When the link is down (every datagram in either direction is dropped, including those
/// already in flight). Time counts from the emulator's start.
#[derive(Debug, Clone, PartialEq)]
pub enum Outages {
    /// The link never goes down on its own (it can still be cut on demand).
    None,
    /// Up for `up`, then down for `down`, repeating; starts up.
    Periodic {
        /// How long the link stays up each cycle.
        up: Duration,
        /// How long it then stays down.
        down: Duration,
    },
    /// Up and down periods drawn from exponential distributions with these means (from the
    /// emulator's seed, so the same seed gives the same schedule); starts up.
    Random {
        /// Mean length of an up period.
        mean_up: Duration,
        /// Mean length of a down period.
        mean_down: Duration,
    },
}

impl Outages {
    /// The same schedule with every duration multiplied by `scale` (0.1 turns the
    /// mountain's 20 s up / 120 s down into 2 s / 12 s).
    pub fn scaled(&self, scale: f64) -> Outages {
        let s = |d: &Duration| d.mul_f64(scale.max(0.0));
        match self {
            Outages::None => Outages::None,
            Outages::Periodic { up, down } => Outages::Periodic {
                up: s(up),
                down: s(down),
            },
            Outages::Random { mean_up, mean_down } => Outages::Random {
                mean_up: s(mean_up),
                mean_down: s(mean_down),
            },
        }
    }
}

/// What a link does to datagrams, per direction: each direction has its own bandwidth,
/// queue, loss, delay, reordering and duplication, drawn independently.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkProfile {
    /// The profile's name (`edge`, or `custom`).
    pub name: String,
    /// Base round-trip time; each direction adds half of it.
    pub rtt: Duration,
    /// Each direction's delay varies uniformly within ± this (clamped at 0) without
    /// reordering datagrams (a late datagram holds back the ones behind it).
    pub jitter: Duration,
    /// Probability that a datagram is lost, per direction.
    pub loss: f64,
    /// Bandwidth per direction in bits per second (`None`: unlimited).
    pub rate_bps: Option<u64>,
    /// Token-bucket depth: bytes that may leave back to back at once.
    pub burst_bytes: usize,
    /// Bytes that may wait for the bandwidth; a datagram that does not fit is tail-dropped.
    pub queue_bytes: usize,
    /// Probability that a datagram is held back by up to `reorder_delay` extra, so later
    /// datagrams overtake it.
    pub reorder: f64,
    /// Longest extra delay of a reordered datagram.
    pub reorder_delay: Duration,
    /// Probability that a datagram is delivered twice.
    pub duplicate: f64,
    /// When the link is down.
    pub outages: Outages,
}

/// Names [`LinkProfile::named`] knows, mildest first.
pub const PROFILE_NAMES: &[&str] = &["loopback", "4g", "3g", "edge", "mountain", "terrible"];

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

impl LinkProfile {
    /// No impairment at all.
    pub fn loopback() -> Self {
        LinkProfile {
            name: "loopback".into(),
            rtt: Duration::ZERO,
            jitter: Duration::ZERO,
            loss: 0.0,
            rate_bps: None,
            burst_bytes: 0,
            queue_bytes: usize::MAX,
            reorder: 0.0,
            reorder_delay: Duration::ZERO,
            duplicate: 0.0,
            outages: Outages::None,
        }
    }

    /// A good 4G cell: 20 Mbit/s, 50 ms RTT, 0.5% loss.
    pub fn lte() -> Self {
        LinkProfile {
            name: "4g".into(),
            rtt: ms(50),
            jitter: ms(5),
            loss: 0.005,
            rate_bps: Some(20_000_000),
            burst_bytes: 32 * 1024,
            queue_bytes: 512 * 1024,
            reorder: 0.001,
            reorder_delay: ms(10),
            duplicate: 0.0,
            outages: Outages::None,
        }
    }

    /// 3G in a township: 1 Mbit/s, 200 ms RTT, 1% loss.
    pub fn umts() -> Self {
        LinkProfile {
            name: "3g".into(),
            rtt: ms(200),
            jitter: ms(20),
            loss: 0.01,
            rate_bps: Some(1_000_000),
            burst_bytes: 8 * 1024,
            queue_bytes: 128 * 1024,
            reorder: 0.005,
            reorder_delay: ms(30),
            duplicate: 0.001,
            outages: Outages::None,
        }
    }

    /// 2G/EDGE in a village: 200 kbit/s, 600 ms RTT, 3% loss.
    pub fn edge() -> Self {
        LinkProfile {
            name: "edge".into(),
            rtt: ms(600),
            jitter: ms(60),
            loss: 0.03,
            rate_bps: Some(200_000),
            burst_bytes: 4 * 1024,
            queue_bytes: 48 * 1024,
            reorder: 0.01,
            reorder_delay: ms(80),
            duplicate: 0.005,
            outages: Outages::None,
        }
    }

    /// `edge` on a mountain: up 20 s, then down 120 s, repeating. Scale the schedule for
    /// tests with [`LinkProfile::with_time_scale`] or set it with
    /// [`LinkProfile::with_outages`].
    pub fn mountain() -> Self {
        LinkProfile {
            name: "mountain".into(),
            outages: Outages::Periodic {
                up: Duration::from_secs(20),
                down: Duration::from_secs(120),
            },
            ..Self::edge()
        }
    }

    /// The worst link still worth trying: 50 kbit/s, 1500 ms RTT, 15% loss, random outages
    /// (up 40 s, down 15 s on average).
    pub fn terrible() -> Self {
        LinkProfile {
            name: "terrible".into(),
            rtt: ms(1500),
            jitter: ms(300),
            loss: 0.15,
            rate_bps: Some(50_000),
            burst_bytes: 3 * 1024,
            queue_bytes: 16 * 1024,
            reorder: 0.03,
            reorder_delay: ms(400),
            duplicate: 0.02,
            outages: Outages::Random {
                mean_up: Duration::from_secs(40),
                mean_down: Duration::from_secs(15),
            },
        }
    }

    /// The profile called `name` (see [`PROFILE_NAMES`]; `lte`, `umts`, `2g` and `none`
    /// are accepted as aliases).
    pub fn named(name: &str) -> Option<Self> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "loopback" | "none" | "lo" => Self::loopback(),
            "4g" | "lte" => Self::lte(),
            "3g" | "umts" => Self::umts(),
            "edge" | "2g" => Self::edge(),
            "mountain" => Self::mountain(),
            "terrible" => Self::terrible(),
            _ => return None,
        })
    }

    /// Parses `name[@time_scale][,key=value...]`: a named profile, optionally with its
    /// outage schedule scaled, then overrides. Keys: `rtt`, `jitter`, `reorder_delay`
    /// (durations: `600ms`, `1.5s`, bare numbers are ms), `loss`, `reorder`, `dup`
    /// (`0.03` or `3%`), `rate` (bits/s: `200k`, `20M`, `none`), `queue`, `burst` (bytes,
    /// `k`/`M` = KiB/MiB), `up` and `down` (a periodic outage schedule), `outages=none`.
    ///
    /// `LinkProfile::parse("edge")`, `parse("mountain@0.1")`, `parse("3g,loss=5%")`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut parts = spec.split(',');
        let head = parts.next().unwrap_or("").trim();
        let (name, scale) = match head.split_once('@') {
            Some((n, s)) => {
                let scale: f64 = s
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad time scale {s:?} in {spec:?}"))?;
                if !(scale.is_finite() && scale > 0.0) {
                    return Err(format!("time scale must be positive, got {scale}"));
                }
                (n, Some(scale))
            }
            None => (head, None),
        };
        let mut p = Self::named(name).ok_or_else(|| {
            format!(
                "unknown link profile {name:?}; expected one of {}",
                PROFILE_NAMES.join(", ")
            )
        })?;
        let (mut up, mut down) = (None, None);
        for kv in parts {
            let kv = kv.trim();
            if kv.is_empty() {
                continue;
            }
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("expected key=value, got {kv:?}"))?;
            let (k, v) = (k.trim(), v.trim());
            match k {
                "rtt" => p.rtt = parse_duration(v)?,
                "jitter" => p.jitter = parse_duration(v)?,
                "reorder_delay" => p.reorder_delay = parse_duration(v)?,
                "loss" => p.loss = parse_prob(v)?,
                "reorder" => p.reorder = parse_prob(v)?,
                "dup" | "duplicate" => p.duplicate = parse_prob(v)?,
                "rate" => {
                    p.rate_bps = match v {
                        "none" | "unlimited" => None,
                        _ => Some(parse_scaled(v, 1000)?),
                    }
                }
                "queue" => p.queue_bytes = parse_scaled(v, 1024)? as usize,
                "burst" => p.burst_bytes = parse_scaled(v, 1024)? as usize,
                "up" => up = Some(parse_duration(v)?),
                "down" => down = Some(parse_duration(v)?),
                "outages" if v == "none" => p.outages = Outages::None,
                _ => return Err(format!("unknown link profile key {k:?}")),
            }
            if p.name != "custom" && !p.name.contains('+') {
                p.name = format!("{}+", p.name);
            }
        }
        match (up, down) {
            (Some(up), Some(down)) => p.outages = Outages::Periodic { up, down },
            (None, None) => {}
            _ => return Err("`up` and `down` go together".into()),
        }
        if let Some(scale) = scale {
            p = p.with_time_scale(scale);
        }
        Ok(p)
    }

    /// The outage schedule scaled by `scale` (durations multiplied; latency is not).
    pub fn with_time_scale(mut self, scale: f64) -> Self {
        self.outages = self.outages.scaled(scale);
        self
    }

    /// Replaces the outage schedule.
    pub fn with_outages(mut self, outages: Outages) -> Self {
        self.outages = outages;
        self
    }

    /// Replaces the loss probability.
    pub fn with_loss(mut self, loss: f64) -> Self {
        self.loss = loss;
        self
    }

    /// Replaces the bandwidth (bits per second per direction).
    pub fn with_rate(mut self, rate_bps: Option<u64>) -> Self {
        self.rate_bps = rate_bps;
        self
    }

    /// Replaces the round-trip time and jitter.
    pub fn with_rtt(mut self, rtt: Duration, jitter: Duration) -> Self {
        self.rtt = rtt;
        self.jitter = jitter;
        self
    }

    /// Replaces the reordering probability and the longest extra delay.
    pub fn with_reorder(mut self, reorder: f64, delay: Duration) -> Self {
        self.reorder = reorder;
        self.reorder_delay = delay;
        self
    }

    /// Replaces the duplication probability.
    pub fn with_duplicate(mut self, duplicate: f64) -> Self {
        self.duplicate = duplicate;
        self
    }

    /// Replaces the queue size (bytes).
    pub fn with_queue(mut self, queue_bytes: usize) -> Self {
        self.queue_bytes = queue_bytes;
        self
    }

    /// Half the round trip: the base delay of one direction.
    pub fn one_way(&self) -> Duration {
        self.rtt / 2
    }
}

impl fmt::Display for LinkProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: rtt {:?}±{:?}", self.name, self.rtt, self.jitter)?;
        match self.rate_bps {
            Some(r) => write!(f, ", {} kbit/s", r / 1000)?,
            None => write!(f, ", unlimited")?,
        }
        write!(
            f,
            ", loss {:.1}%, reorder {:.1}%, dup {:.1}%",
            self.loss * 100.0,
            self.reorder * 100.0,
            self.duplicate * 100.0
        )?;
        match &self.outages {
            Outages::None => Ok(()),
            Outages::Periodic { up, down } => write!(f, ", up {up:?} / down {down:?}"),
            Outages::Random { mean_up, mean_down } => {
                write!(f, ", random outages (up ~{mean_up:?}, down ~{mean_down:?})")
            }
        }
    }
}

impl std::str::FromStr for LinkProfile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

fn parse_duration(v: &str) -> Result<Duration, String> {
    let bad = || format!("bad duration {v:?} (try 600ms or 1.5s)");
    let (num, unit) = if let Some(n) = v.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1.0)
    } else {
        (v, 1e-3)
    };
    let x: f64 = num.trim().parse().map_err(|_| bad())?;
    if !(x.is_finite() && x >= 0.0) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(x * unit))
}

fn parse_prob(v: &str) -> Result<f64, String> {
    let (num, div) = match v.strip_suffix('%') {
        Some(n) => (n, 100.0),
        None => (v, 1.0),
    };
    let x: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("bad probability {v:?}"))?;
    let p = x / div;
    if !(0.0..=1.0).contains(&p) {
        return Err(format!("probability {v:?} is outside 0..1"));
    }
    Ok(p)
}

fn parse_scaled(v: &str, base: u64) -> Result<u64, String> {
    let (num, mul) = match v.chars().last() {
        Some('k' | 'K') => (&v[..v.len() - 1], base),
        Some('m' | 'M') => (&v[..v.len() - 1], base * base),
        Some('g' | 'G') => (&v[..v.len() - 1], base * base * base),
        _ => (v, 1),
    };
    let x: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("bad quantity {v:?}"))?;
    if !(x.is_finite() && x >= 0.0) {
        return Err(format!("bad quantity {v:?}"));
    }
    Ok((x * mul as f64).round() as u64)
}
