//! `gridsync sync --watch`: stays live while the handset stays usable by other commands.
//!
//! Design: the watch opens the store only around each sync round. Every `--every`
//! seconds (2 by default) it opens the handset, runs one `sync_once` (push the outbox,
//! pull until caught up), prints what arrived, and closes the store again; between rounds
//! any other `gridsync` command (a worker's terminal, a script) opens the handset as
//! usual, and one that meets the store in the middle of a round waits for it (up to
//! [`crate::config::IN_USE_WAIT`], with a note on a terminal). A round whose relay does
//! not answer within [`CONNECT_BUDGET`] is given up (nothing is written before the relay
//! answers), so an outage holds the store for seconds, not for the 20 s handshake timeout;
//! the next round retries, which is how the return of the network is noticed.
//!
//! Why not a long-lived connection serving other invocations over a local socket: every
//! command prints straight to stdout, so serving them would mean running each inside the
//! watch with its output captured, a second way to run every command. With rounds, sled's
//! own file lock stays the one guard (never two processes in the store at once), and no
//! command changes. The cost: changes arrive within one round's interval instead of at
//! once, and each round is a fresh QUIC handshake.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use gridsync_core::net::{LinkState, SyncClient, SyncReport, SyncStatus};
use gridsync_core::replica::{ChangeObserver, ChangeOrigin};
use gridsync_core::{DocId, DocKind, Replica};
use tokio::sync::mpsc;

use crate::config::{Handset, in_use};
use crate::progress::Progress;
use crate::sync::{runtime, status_line};
use crate::{Ctx, output};

/// How long a round waits for the relay to answer before it gives up until the next one.
pub const CONNECT_BUDGET: Duration = Duration::from_secs(5);

/// Runs `gridsync sync --watch` until Ctrl-C or, with `seconds`, until that much time passed.
pub fn watch(ctx: &Ctx, seconds: Option<Duration>, every: Duration) -> Result<()> {
    let dir = ctx.store_dir()?;
    // Fails early, before any round, if there is no handset or no relay.
    let relay = Handset::open(&dir)?.target()?.addr;
    let rt = runtime()?;
    rt.block_on(async {
        let until = async {
            match seconds {
                Some(s) => tokio::time::sleep(s).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(until);
        if !ctx.json {
            crate::outln!(
                "watching relay {relay}: a sync round every {} s, the handset stays free for other commands; Ctrl-C to stop",
                every.as_secs()
            )?;
        }
        let mut last: Option<SyncStatus> = None;
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return Ok(()),
                _ = &mut until => return Ok(()),
                r = round(ctx, &dir, &mut last) => r?,
            }
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return Ok(()),
                _ = &mut until => return Ok(()),
                _ = tokio::time::sleep(every) => {}
            }
        }
    })
}

/// Passes on the ids of records a round received.
struct Forward(mpsc::UnboundedSender<Vec<DocId>>);

impl ChangeObserver for Forward {
    fn changed(&self, docs: &[DocId], origin: ChangeOrigin) {
        if origin == ChangeOrigin::Remote {
            let _ = self.0.send(docs.to_vec());
        }
    }
}

/// One round: open the handset, sync once, print what happened, close it. A handset held
/// by another command is left to it until the next round.
async fn round(ctx: &Ctx, dir: &std::path::Path, last: &mut Option<SyncStatus>) -> Result<()> {
    let hs = match Handset::open_waiting(dir, Duration::ZERO) {
        Ok(hs) => hs,
        Err(e) if in_use(&e) => return Ok(()),
        Err(e) => return Err(e),
    };
    let target = hs.target()?;
    let relay = target.addr.to_string();
    let client = SyncClient::new(hs.replica.clone(), target)?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    hs.replica.observe(Arc::new(Forward(tx)));
    let progress = Progress::new(ctx.json, &relay, None, false);
    let result = progress.run(&client, bounded(&client, &relay)).await;
    while let Ok(docs) = rx.try_recv() {
        received(ctx, &hs.replica, &docs)?;
    }
    let mut s = client.status();
    match result {
        Ok(report) => {
            pushed(ctx, &report)?;
            (s.state, s.last_error) = (LinkState::Live, None);
        }
        Err(e) if e.is_final() => return Err(e.into()),
        Err(e) => (s.state, s.last_error) = (LinkState::Offline, Some(e.to_string())),
    }
    // Traffic totals are per round: only the rest of the status is worth a new line.
    (
        s.bytes_sent,
        s.bytes_received,
        s.messages_sent,
        s.messages_received,
    ) = (0, 0, 0, 0);
    if last.as_ref() != Some(&s) {
        if ctx.json {
            output::json(&serde_json::json!({ "event": "status", "status": s }))?;
        } else {
            crate::outln!("{}", status_line(&s))?;
        }
        *last = Some(s);
    }
    Ok(())
}

/// `sync_once`, given up when the relay has not answered within [`CONNECT_BUDGET`].
async fn bounded(client: &SyncClient, relay: &str) -> gridsync_core::Result<SyncReport> {
    let once = client.sync_once();
    tokio::pin!(once);
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            r = &mut once => return r,
            _ = tick.tick() => {
                let connecting = matches!(client.status().state, LinkState::Connecting | LinkState::Offline);
                if connecting && started.elapsed() >= CONNECT_BUDGET {
                    return Err(gridsync_core::Error::Network(format!(
                        "no answer from the relay at {relay} within {} s",
                        CONNECT_BUDGET.as_secs()
                    )));
                }
            }
        }
    }
}

/// Prints records a round received.
fn received(ctx: &Ctx, replica: &Replica, docs: &[DocId]) -> Result<()> {
    if ctx.json {
        return output::json(&serde_json::json!({ "event": "received", "docs": docs }));
    }
    for d in docs {
        crate::outln!(
            "{} ⇣ {}",
            output::clock(output::now()),
            describe(replica, d)
        )?;
    }
    Ok(())
}

/// Prints what a round pushed, if anything.
fn pushed(ctx: &Ctx, r: &SyncReport) -> Result<()> {
    if r.acknowledged == 0 && r.refused.is_empty() {
        return Ok(());
    }
    if ctx.json {
        let refused: Vec<_> = (r.refused.iter())
            .map(|f| serde_json::json!({ "doc": f.doc, "reason": f.reason }))
            .collect();
        return output::json(&serde_json::json!({
            "event": "pushed", "acknowledged": r.acknowledged, "refused": refused,
        }));
    }
    crate::outln!(
        "{} ⇡ {} change(s) on the relay, {} refused",
        output::clock(output::now()),
        r.acknowledged,
        r.refused.len()
    )?;
    for f in &r.refused {
        crate::outln!(
            "{} ✗ {} refused: {} (`gridsync refused list`)",
            output::clock(output::now()),
            crate::refused::name(&f.doc),
            f.reason
        )?;
    }
    Ok(())
}

/// One received record in words.
fn describe(r: &Replica, id: &DocId) -> String {
    let what = match id.kind() {
        DocKind::Household => r
            .household(id)
            .map(|h| format!("{} ({})", h.head, output::tier(h.tier))),
        DocKind::Visit => r
            .visit(id)
            .map(|v| format!("by {} at {}", v.record.worker, output::time(v.record.at))),
        DocKind::Case => r
            .case(id)
            .map(|c| format!("{} [{}]", c.title, c.state.status.as_str())),
    };
    format!(
        "{} {}",
        output::short(id),
        what.unwrap_or_else(|e| e.to_string())
    )
}
