//! Feedback while a sync round runs: a spinner with the link state and the data moved so
//! far, and one early line when the relay does not answer.
//!
//! The spinner is drawn on stderr only when both stdout and stderr are terminals and
//! `--json` is off; otherwise nothing is drawn. The "not answering yet" line is different:
//! it is printed on stderr whenever the relay has not answered after [`NOT_ANSWERING`],
//! terminal or not, `--json` or not (stdout stays pure JSON), as one `gridsync: …` line,
//! so that a script's log also says why the command is waiting.

use std::future::Future;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use gridsync_core::net::{LinkState, SyncClient, SyncStatus};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::sync::bytes;

/// How long the relay may stay silent before the command says so.
pub const NOT_ANSWERING: Duration = Duration::from_millis(2500);

/// How often the client's status is read while a round runs.
const POLL: Duration = Duration::from_millis(200);

/// Whether a spinner may be drawn: both streams are terminals and the output is not JSON.
pub fn interactive(json: bool) -> bool {
    !json && std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
}

/// Feedback for one sync round against `relay`.
pub struct Progress {
    bar: ProgressBar,
    relay: String,
    /// How long the command gives the round before it fails (for the early line).
    timeout: Option<Duration>,
    /// Whether the early line is printed at all.
    warn: bool,
}

impl Progress {
    /// A spinner (drawn only if [`interactive`]) for a round against `relay`. With `warn`,
    /// a relay that stays silent is reported after [`NOT_ANSWERING`].
    pub fn new(json: bool, relay: &str, timeout: Option<Duration>, warn: bool) -> Self {
        let bar = if interactive(json) {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_message(format!("connecting to relay {relay}…"));
        Progress {
            bar,
            relay: relay.to_string(),
            timeout,
            warn,
        }
    }

    /// Runs `round` (a `sync_once` of `client`) and shows its progress until it ends.
    pub async fn run<T>(&self, client: &SyncClient, round: impl Future<Output = T>) -> T {
        tokio::pin!(round);
        let started = Instant::now();
        let mut warned = false;
        let mut tick = tokio::time::interval(POLL);
        self.bar.enable_steady_tick(Duration::from_millis(120));
        let out = loop {
            tokio::select! {
                out = &mut round => break out,
                _ = tick.tick() => {
                    let s = client.status();
                    self.bar.set_message(self.message(&s));
                    let silent = s.state == LinkState::Connecting || s.state == LinkState::Offline;
                    if self.warn && !warned && silent && started.elapsed() >= NOT_ANSWERING {
                        warned = true;
                        let line = self.not_answering(started.elapsed());
                        self.bar.suspend(|| eprintln!("{line}"));
                    }
                }
            }
        };
        self.bar.finish_and_clear();
        out
    }

    /// The early line about a silent relay.
    fn not_answering(&self, waited: Duration) -> String {
        let until = self.timeout.map_or(String::new(), |t| {
            format!(", giving up after {} s", t.as_secs())
        });
        format!(
            "gridsync: relay {} is not answering yet after {} s; still trying{until} (is it running and reachable over UDP?)",
            self.relay,
            waited.as_secs()
        )
    }

    /// The spinner's text for a status.
    fn message(&self, s: &SyncStatus) -> String {
        let link = match s.state {
            LinkState::Offline | LinkState::Connecting => {
                return format!("connecting to relay {}…", self.relay);
            }
            LinkState::Syncing => "syncing",
            LinkState::Live => "caught up",
        };
        format!(
            "{link} with {}: {} up, {} down, {} change(s) pending",
            self.relay,
            bytes(s.bytes_sent),
            bytes(s.bytes_received),
            s.pending_changes
        )
    }
}
