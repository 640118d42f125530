//! The relay's Prometheus metrics: what a county's operator graphs and alerts on.
//!
//! Counters move where the events happen: the accept loop (connections), each
//! connection's driver (the session's [`SessionStats`] as they grow, push-to-ack and live
//! fan-out latency) and the hub (group commits). Gauges that describe the store (durable
//! head, size on disk, devices) are read when `/metrics` is scraped. No label names a
//! device or a grid, so the number of series stays fixed however large the county.

use std::time::Duration;

use gridsync_core::sync::SessionStats;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Why a pushed change was refused: which check it failed.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum RefusedBy {
    /// The bytes are not an automerge change.
    Malformed,
    /// Over the relay's size limit for a change.
    TooLarge,
    /// Not the device's to write there (id, grid path, scopes).
    Scope,
    /// The relay's admission rules or a missing dependency.
    Admission,
}

impl RefusedBy {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusedBy::Malformed => "malformed",
            RefusedBy::TooLarge => "too_large",
            RefusedBy::Scope => "scope",
            RefusedBy::Admission => "admission",
        }
    }
}

impl EncodeLabelValue for RefusedBy {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// The label of [`RelayMetrics::changes_refused`].
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// Which check refused it.
    pub reason: RefusedBy,
}

/// What kind of batch the bytes went out in.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum BatchKind {
    /// Answers to a handset's pull (bootstrap and catch-up).
    Pull,
    /// Sent unasked to a caught-up handset when the log advanced.
    Live,
}

impl BatchKind {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchKind::Pull => "pull",
            BatchKind::Live => "live",
        }
    }
}

impl EncodeLabelValue for BatchKind {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// The label of [`RelayMetrics::batch_bytes`].
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BatchLabels {
    /// Pull or live.
    pub kind: BatchKind,
}

/// Every metric the relay exports. Shared by the hub, the accept loop and connections.
#[derive(Debug)]
pub struct RelayMetrics {
    registry: Registry,
    /// Connections accepted into a slot.
    pub connections_accepted: Counter,
    /// Connections refused because the cap was reached.
    pub connections_refused: Counter,
    /// Connections open now.
    pub connections_open: Gauge,
    /// QUIC handshakes completed.
    pub handshakes: Counter,
    /// Of those, handshakes whose 0-RTT data was accepted.
    pub handshakes_0rtt: Counter,
    /// Hellos accepted (a device logged in).
    pub logins: Counter,
    /// Hellos refused for an unknown token.
    pub login_failures: Counter,
    /// Connections refused because their source failed to log in too often.
    pub refused_blocked: Counter,
    /// Pushes received.
    pub pushes: Counter,
    /// Pushed changes accepted (made durable, or already held).
    pub changes_ingested: Counter,
    /// Pushed changes refused, by which check.
    pub changes_refused: Family<RefusalLabels, Counter>,
    /// Payload bytes of entries sent, by batch kind.
    pub batch_bytes: Family<BatchLabels, Counter>,
    /// Seconds from a push's arrival to its acknowledgement (durable).
    pub push_ack_seconds: Histogram,
    /// Seconds from the log head becoming durable to a live batch leaving for a handset.
    pub live_fanout_seconds: Histogram,
    /// Pushes sharing one flush (group commit).
    pub group_commit_pushes: Histogram,
    /// Pushes numbered again because another relay node on the same database committed
    /// first (PostgreSQL store).
    pub push_conflicts: Counter,
    /// The durable log head (set at scrape).
    pub durable_head: Gauge,
    /// The store's size on disk in bytes (set at scrape).
    pub store_bytes: Gauge,
    /// Enrolled devices, revoked ones included (set at scrape).
    pub devices: Gauge,
}

impl Default for RelayMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl RelayMetrics {
    /// Every metric at zero, registered under the `gridsync_relay_` prefix.
    pub fn new() -> Self {
        let latency = || Histogram::new(exponential_buckets(0.000_5, 2.0, 16));
        let m = RelayMetrics {
            registry: Registry::with_prefix("gridsync_relay"),
            connections_accepted: Counter::default(),
            connections_refused: Counter::default(),
            connections_open: Gauge::default(),
            handshakes: Counter::default(),
            handshakes_0rtt: Counter::default(),
            logins: Counter::default(),
            login_failures: Counter::default(),
            refused_blocked: Counter::default(),
            pushes: Counter::default(),
            changes_ingested: Counter::default(),
            changes_refused: Family::default(),
            batch_bytes: Family::default(),
            push_ack_seconds: latency(),
            live_fanout_seconds: latency(),
            group_commit_pushes: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            push_conflicts: Counter::default(),
            durable_head: Gauge::default(),
            store_bytes: Gauge::default(),
            devices: Gauge::default(),
        };
        m.register()
    }

    fn register(mut self) -> Self {
        let r = &mut self.registry;
        r.register(
            "connections_accepted",
            "Connections accepted into a slot",
            self.connections_accepted.clone(),
        );
        r.register(
            "connections_refused",
            "Connections refused at the connection cap",
            self.connections_refused.clone(),
        );
        r.register(
            "connections_open",
            "Connections open now",
            self.connections_open.clone(),
        );
        r.register(
            "handshakes",
            "QUIC handshakes completed",
            self.handshakes.clone(),
        );
        r.register(
            "handshakes_0rtt",
            "Handshakes whose 0-RTT data was accepted",
            self.handshakes_0rtt.clone(),
        );
        r.register(
            "logins",
            "Hellos accepted (a device logged in)",
            self.logins.clone(),
        );
        r.register(
            "login_failures",
            "Hellos refused for an unknown token",
            self.login_failures.clone(),
        );
        r.register(
            "refused_blocked",
            "Connections refused: their source failed to log in too often",
            self.refused_blocked.clone(),
        );
        r.register("pushes", "Pushes received", self.pushes.clone());
        r.register(
            "changes_ingested",
            "Pushed changes accepted (durable or already held)",
            self.changes_ingested.clone(),
        );
        r.register(
            "changes_refused",
            "Pushed changes refused, by the check that refused them",
            self.changes_refused.clone(),
        );
        r.register(
            "batch_bytes",
            "Payload bytes of entries sent, by batch kind",
            self.batch_bytes.clone(),
        );
        r.register(
            "push_ack_seconds",
            "Seconds from a push's arrival to its acknowledgement",
            self.push_ack_seconds.clone(),
        );
        r.register(
            "live_fanout_seconds",
            "Seconds from a durable log head to a live batch leaving",
            self.live_fanout_seconds.clone(),
        );
        r.register(
            "group_commit_pushes",
            "Pushes made durable by one flush",
            self.group_commit_pushes.clone(),
        );
        r.register(
            "push_conflicts",
            "Pushes numbered again: another relay node committed first",
            self.push_conflicts.clone(),
        );
        r.register(
            "durable_head",
            "The durable log head (sequence number)",
            self.durable_head.clone(),
        );
        r.register(
            "store_bytes",
            "The store's size on disk, bytes",
            self.store_bytes.clone(),
        );
        r.register(
            "devices",
            "Enrolled devices, revoked ones included",
            self.devices.clone(),
        );
        self
    }

    /// Adds what a session counted since `before` (its stats at the last call).
    pub fn session_grew(&self, before: &SessionStats, now: &SessionStats) {
        let d = |a: u64, b: u64| b.saturating_sub(a);
        self.pushes.inc_by(d(before.pushes, now.pushes));
        self.changes_ingested
            .inc_by(d(before.changes_accepted, now.changes_accepted));
        for (reason, n) in [
            (
                RefusedBy::Malformed,
                d(before.refused_malformed, now.refused_malformed),
            ),
            (RefusedBy::Scope, d(before.refused_scope, now.refused_scope)),
            (
                RefusedBy::Admission,
                d(before.refused_admission, now.refused_admission),
            ),
        ] {
            if n > 0 {
                self.changes_refused
                    .get_or_create(&RefusalLabels { reason })
                    .inc_by(n);
            }
        }
        let live = d(before.live_entry_bytes, now.live_entry_bytes);
        let all = d(before.entry_bytes, now.entry_bytes);
        self.bytes(BatchKind::Live, live);
        self.bytes(BatchKind::Pull, all.saturating_sub(live));
    }

    fn bytes(&self, kind: BatchKind, n: u64) {
        if n > 0 {
            self.batch_bytes
                .get_or_create(&BatchLabels { kind })
                .inc_by(n);
        }
    }

    /// Records a push's time from arrival to acknowledgement.
    pub fn push_acked(&self, took: Duration) {
        self.push_ack_seconds.observe(took.as_secs_f64());
    }

    /// Records a live batch leaving `took` after its head became durable.
    pub fn live_sent(&self, took: Duration) {
        self.live_fanout_seconds.observe(took.as_secs_f64());
    }

    /// Records one flush that made `pushes` pushes durable.
    pub fn group_committed(&self, pushes: usize) {
        self.group_commit_pushes.observe(pushes as f64);
    }

    /// The text exposition of every metric, after setting the store gauges.
    pub fn encode(&self, store: StoreGauges) -> String {
        self.durable_head.set(clamp(store.durable_head));
        self.store_bytes.set(clamp(store.store_bytes));
        self.devices.set(clamp(store.devices as u64));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// What `/metrics` reads off the store at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreGauges {
    /// The durable log head.
    pub durable_head: u64,
    /// Size on disk, bytes.
    pub store_bytes: u64,
    /// Enrolled devices.
    pub devices: usize,
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
