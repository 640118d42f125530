//! Transfers over links that come and go (`mountain`, `terrible`): the handset's client
//! runs as an app runs it (`SyncClient::run`, reconnecting with backoff) until the work is
//! done, while its durable progress is sampled. Then each coverage window of the link is
//! judged: did the transfer move forward while the link was up?

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use gridsync_core::net::SyncClient;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::netem::LinkEmulator;

/// How a transfer went across the link's up-windows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Up-windows during which the transfer was under way (for at least
    /// [`MIN_OVERLAP`] of the window).
    pub windows: usize,
    /// Of those, the windows in which the handset's durable progress grew.
    pub with_progress: usize,
    /// Outages the transfer lived through.
    pub outages: usize,
}

/// A window shorter than this within the transfer is not judged (the transfer began or
/// finished at its very edge).
pub const MIN_OVERLAP: Duration = Duration::from_secs(3);

/// What the transfer moved: frame bytes and messages each way, and when it was done.
#[derive(Debug, Clone, Default)]
pub struct Transfer {
    /// Frame bytes handset → relay.
    pub bytes_up: u64,
    /// Frame bytes relay → handset.
    pub bytes_down: u64,
    /// Messages handset → relay.
    pub messages_up: u64,
    /// Messages relay → handset.
    pub messages_down: u64,
    /// Flights after the handshake (one session only; 0 when the client reconnected).
    pub round_trips: u64,
    /// Judgement of the link's windows (links with outages only).
    pub coverage: Option<Coverage>,
}

/// The phone's OS reporting coverage coming back (Android's connectivity callback), which
/// the app passes on to its client, as `docs/ffi.md` asks apps to.
struct ConnectivityCallback {
    was_up: bool,
}

impl ConnectivityCallback {
    fn new(link: Option<&LinkEmulator>) -> Self {
        ConnectivityCallback {
            was_up: link.is_none_or(LinkEmulator::is_up),
        }
    }

    /// Tells `clients` when `link` has come back up since the last poll.
    fn poll<'a>(
        &mut self,
        link: Option<&LinkEmulator>,
        clients: impl IntoIterator<Item = &'a SyncClient>,
    ) {
        let Some(link) = link else { return };
        let up = link.is_up();
        if up && !self.was_up {
            clients.into_iter().for_each(SyncClient::network_available);
        }
        self.was_up = up;
    }
}

/// Runs `client` until `done` holds (or `limit` passes: an error), sampling `progress`
/// (a count that grows as work becomes durable: documents held, changes acknowledged)
/// every 200 ms on the emulator's clock, and telling the client when the link comes back
/// up, as an app does from the OS's connectivity callback.
pub async fn run_until(
    client: &SyncClient,
    link: &LinkEmulator,
    limit: Duration,
    progress: impl Fn() -> Result<u64>,
    done: impl Fn() -> Result<bool>,
) -> Result<Transfer> {
    let traffic = |c: &SyncClient| {
        let t = c.status();
        [
            t.bytes_sent,
            t.bytes_received,
            t.messages_sent,
            t.messages_received,
        ]
    };
    let before = traffic(client);
    let stop = Arc::new(Notify::new());
    let started = link.elapsed();
    let deadline = Instant::now() + limit;
    let mut samples = vec![(started, progress()?)];
    let run = client.run(stop.clone());
    tokio::pin!(run);
    let mut finished = false;
    let mut coverage = ConnectivityCallback::new(Some(link));
    loop {
        tokio::select! {
            r = &mut run => {
                r?;
                anyhow::ensure!(finished, "the client stopped before the transfer was done");
                break;
            }
            _ = tokio::time::sleep(Duration::from_millis(200)), if !finished => {
                coverage.poll(Some(link), [client]);
                samples.push((link.elapsed(), progress()?));
                if done()? {
                    finished = true;
                    stop.notify_one();
                } else {
                    anyhow::ensure!(
                        Instant::now() < deadline,
                        "not done after {limit:?} (progress {:?})",
                        samples.last().map(|s| s.1)
                    );
                }
            }
        }
    }
    let ended = samples.last().map_or(started, |s| s.0);
    let after = traffic(client);
    let downs = link.outage_windows(ended);
    Ok(Transfer {
        bytes_up: after[0] - before[0],
        bytes_down: after[1] - before[1],
        messages_up: after[2] - before[2],
        messages_down: after[3] - before[3],
        round_trips: 0,
        coverage: Some(judge(&samples, &downs, started, ended)),
    })
}

/// Runs every client in `clients` as an app runs it (`SyncClient::run`) until `done`
/// holds, checking every `poll`, and tells them all when `link` (if any) comes back up.
/// Errors when `limit` passes first. For scenarios with several handsets live at once
/// (the live delta, relay load on a link with outages).
pub async fn run_all_until(
    clients: &[Arc<SyncClient>],
    link: Option<&LinkEmulator>,
    limit: Duration,
    poll: Duration,
    done: impl Fn() -> Result<bool>,
) -> Result<Duration> {
    // One stop per client, told with `notify_one` so a client between two waits still
    // finds it.
    let mut stops = Vec::new();
    let mut tasks = Vec::new();
    for c in clients {
        let (c, s) = (c.clone(), Arc::new(Notify::new()));
        stops.push(s.clone());
        tasks.push(tokio::spawn(async move { c.run(s).await }));
    }
    let started = Instant::now();
    let mut coverage = ConnectivityCallback::new(link);
    let outcome = loop {
        match done() {
            Ok(true) => break Ok(started.elapsed()),
            Ok(false) if started.elapsed() > limit => {
                break Err(anyhow::anyhow!("not done after {limit:?}"));
            }
            Ok(false) => {}
            Err(e) => break Err(e),
        }
        coverage.poll(link, clients.iter().map(|c| c.as_ref()));
        tokio::time::sleep(poll).await;
    };
    stops.iter().for_each(|s| s.notify_one());
    for t in tasks {
        t.await??;
    }
    outcome
}

/// Judges each up-window (the gaps between `downs`) that overlaps `[started, ended)` by at
/// least [`MIN_OVERLAP`]: progress grew if the last sample inside the window is above the
/// last sample at or before the window's start.
pub fn judge(
    samples: &[(Duration, u64)],
    downs: &[(Duration, Duration)],
    started: Duration,
    ended: Duration,
) -> Coverage {
    let at = |t: Duration| {
        samples
            .iter()
            .take_while(|(st, _)| *st <= t)
            .last()
            .map_or(0, |s| s.1)
    };
    let mut ups = Vec::new();
    let mut from = Duration::ZERO;
    for (down_start, down_end) in downs {
        ups.push((from, *down_start));
        from = *down_end;
    }
    ups.push((from, ended.max(from)));
    let mut c = Coverage {
        outages: downs
            .iter()
            .filter(|(s, e)| *e > started && *s < ended)
            .count(),
        ..Coverage::default()
    };
    for (a, b) in ups {
        let (a, b) = (a.max(started), b.min(ended));
        if b <= a || b - a < MIN_OVERLAP {
            continue;
        }
        c.windows += 1;
        if at(b) > at(a) {
            c.with_progress += 1;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn a_window_without_growth_is_counted_against_the_transfer() {
        // Up 0-20, down 20-140, up 140-160, down 160-280, up 280-: progress in the first
        // and last windows only.
        let samples = [
            (s(0), 0),
            (s(10), 50),
            (s(20), 80),
            (s(150), 80),
            (s(290), 100),
        ];
        let downs = [(s(20), s(140)), (s(160), s(280))];
        let c = judge(&samples, &downs, s(0), s(290));
        assert_eq!(
            c,
            Coverage {
                windows: 3,
                with_progress: 2,
                outages: 2
            }
        );
    }

    #[test]
    fn windows_barely_touched_by_the_transfer_are_not_judged() {
        let samples = [(s(0), 0), (s(19), 10), (s(141), 30)];
        let downs = [(s(20), s(140))];
        // Starts 1 s before the outage, ends 1 s after it: nothing to judge.
        let c = judge(&samples, &downs, s(19), s(141));
        assert_eq!(c.windows, 0);
        assert_eq!(c.outages, 1);
    }
}
