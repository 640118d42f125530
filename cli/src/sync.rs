//! `gridsync sync` (once, with progress on a terminal; `--watch` is in [`crate::watch`])
//! and `gridsync status`. A sync that leaves any record refused by the relay (in this sync
//! or an earlier one) exits non-zero and names each record.

use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use clap::Args;
use gridsync_core::net::{SyncClient, SyncReport, SyncStatus};
use gridsync_core::replica::{CaseFilter, RefusedRecord};

use crate::Ctx;
use crate::output;
use crate::progress::Progress;

/// `gridsync sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Stay live until Ctrl-C: a sync round every few seconds (push, pull, show what arrived), other commands still work meanwhile.
    #[arg(long)]
    watch: bool,
    /// With --watch: stop after this many seconds.
    #[arg(long, requires = "watch", value_name = "N")]
    seconds: Option<u64>,
    /// With --watch: seconds between sync rounds (the handset is free for other commands between them).
    #[arg(long, requires = "watch", default_value_t = 2, value_name = "N")]
    every: u64,
    /// Without --watch: give up after this many seconds.
    #[arg(long, default_value_t = 60, value_name = "N")]
    timeout: u64,
}

/// The tokio runtime the sync commands run on (the relay driver needs a multi-thread one).
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Bytes in a human unit.
pub fn bytes(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else if n < 1024 * 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    }
}

/// A sync report as a few readable lines.
pub fn summary(r: &SyncReport) -> String {
    let mut s = format!(
        "  pushed    {} change(s): {} acknowledged, {} refused\n  pulled    {} record(s) changed ({} entries)\n  traffic   {} up, {} down, {} round trip(s), {:.2} s{}\n",
        r.pushed,
        r.acknowledged,
        r.refused.len(),
        r.documents_changed,
        r.entries,
        bytes(r.bytes_sent),
        bytes(r.bytes_received),
        r.round_trips,
        r.elapsed.as_secs_f64(),
        if r.zero_rtt { ", 0-RTT" } else { "" }
    );
    if r.resent_after_restore > 0 {
        s.push_str(&format!(
            "  restored  the relay was restored from a backup: {} acknowledged change(s) sent again\n",
            r.resent_after_restore
        ));
    }
    for f in &r.refused {
        s.push_str(&format!(
            "  refused   {}: {}\n",
            crate::refused::name(&f.doc),
            f.reason
        ));
    }
    s
}

/// The error a sync ends with when records hold refused changes, naming each.
fn refused_error(refused: &[RefusedRecord]) -> String {
    let names: Vec<String> = refused
        .iter()
        .map(|f| crate::refused::name(&f.doc))
        .collect();
    format!(
        "the relay refused changes of {} record(s), kept here and not sent again: {}; {}",
        refused.len(),
        names.join(", "),
        crate::refused::HINT
    )
}

/// Runs `gridsync sync`.
pub fn sync(ctx: &Ctx, a: &SyncArgs) -> Result<()> {
    if a.watch {
        let every = Duration::from_secs(a.every.max(1));
        return crate::watch::watch(ctx, a.seconds.map(Duration::from_secs), every);
    }
    let hs = ctx.handset()?;
    let target = hs.target()?;
    let addr = target.addr;
    let timeout = Duration::from_secs(a.timeout);
    let rt = runtime()?;
    let report = rt.block_on(async {
        let client = SyncClient::new(hs.replica.clone(), target)?;
        let progress = Progress::new(ctx.json, &addr.to_string(), Some(timeout), true);
        let round = tokio::time::timeout(timeout, client.sync_once());
        progress
            .run(&client, round)
            .await
            .map_err(|_| {
                anyhow!(
                    "sync with {addr} did not finish within {} s (is the relay running and reachable over UDP?)",
                    a.timeout
                )
            })?
            .map_err(anyhow::Error::from)
    })?;
    let refused = hs.replica.refused()?;
    let failed = (!refused.is_empty()).then(|| refused_error(&refused));
    if ctx.json {
        let mut v = serde_json::to_value(&report)?;
        v["refused_records"] = serde_json::to_value(&refused)?;
        if let Some(e) = &failed {
            v["error"] = e.clone().into();
        }
        output::json(&v)?;
        return failed.map_or(Ok(()), |e| Err(crate::Reported(e).into()));
    }
    crate::outln!("synced with relay {addr}")?;
    print!("{}", summary(&report));
    let pending = hs.replica.pending()?;
    crate::outln!(
        "  pending   {} change(s), {} waiting",
        pending.changes,
        bytes(pending.bytes)
    )?;
    for f in &refused {
        crate::outln!(
            "  kept      {} (grid {}), refused: {}",
            crate::refused::name(&f.doc),
            f.grid,
            f.reason
        )?;
    }
    failed.map_or(Ok(()), |e| Err(anyhow!(e)))
}

/// A watch status line: time, link state, pending count, last sync and last error.
pub fn status_line(s: &SyncStatus) -> String {
    format!(
        "{} {:?} · pending {} · last sync {}{}",
        output::clock(output::now()),
        s.state,
        s.pending_changes,
        output::opt_time(s.last_sync),
        s.last_error
            .as_ref()
            .map_or(String::new(), |e| format!(" · last error: {e}"))
    )
}

/// Runs `gridsync status`.
pub fn status(ctx: &Ctx) -> Result<()> {
    let hs = ctx.handset()?;
    let r = &hs.replica;
    let pending = r.pending()?;
    let last = r.last_sync()?;
    let households = r.count_households(None)?;
    let cases = r.list_cases(&CaseFilter::default())?;
    let open = cases.iter().filter(|c| c.status.is_open()).count();
    let review = r.cases_for_review()?.len();
    let refused = r.refused()?;
    let marks = crate::household::counts(r)?;
    let grants = r.grants()?;
    let c = &hs.config;
    if ctx.json {
        return output::json(&serde_json::json!({
            "store": hs.dir, "device": c.device, "worker": c.worker, "role": c.role,
            "grants": grants.as_ref().map(|g| serde_json::json!({
                "worker": g.worker, "display_name": g.display_name,
                "roles": g.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                "scopes": g.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            })),
            "grid": c.grid, "relay": c.relay.as_ref().map(|r| &r.addr),
            "pending": pending, "last_sync": last, "households": households,
            "cases": cases.len(), "open_cases": open, "cases_to_review": review,
            "households_with_conflicts": marks.with_conflicts,
            "households_pending": marks.pending,
            "refused_records": refused.len(),
        }));
    }
    crate::outln!("handset   {}", hs.dir.display())?;
    crate::outln!("  device  {}, worker {} ({})", c.device, c.worker, c.role)?;
    match &grants {
        Some(g) => crate::outln!(
            "  grants  worker {} ({}), roles {}, grids {}",
            g.worker,
            g.display_name,
            g.role_names(),
            g.scope_names()
        )?,
        None => crate::outln!(
            "  grants  not received yet (they come at the first sync); writing as set up"
        )?,
    }
    if let Some(g) = &c.grid {
        crate::outln!("  grid    {g}")?;
    }
    match &c.relay {
        Some(rel) => crate::outln!(
            "  relay   {} ({})",
            rel.addr,
            rel.fingerprint
                .as_deref()
                .map_or("CA-signed".to_string(), |f| format!(
                    "pinned {}…",
                    &f[..f.len().min(19)]
                ))
        )?,
        None => crate::outln!("  relay   none: offline (add one with `gridsync init --relay …`)")?,
    }
    crate::outln!(
        "records   {households} household(s), {} case(s): {open} open, {review} to review",
        cases.len()
    )?;
    crate::outln!(
        "pending   {} change(s), {} not yet on the relay",
        pending.changes,
        bytes(pending.bytes)
    )?;
    crate::outln!(
        "refused   {} change(s) in {} record(s), kept here and not sent again{}",
        pending.refused,
        refused.len(),
        if refused.is_empty() {
            ""
        } else {
            ": `gridsync refused list`"
        }
    )?;
    crate::outln!(
        "attention {} household(s) with fields to settle (`household list` marks them ⚠), {} with changes not yet on the relay (↑)",
        marks.with_conflicts,
        marks.pending
    )?;
    crate::outln!(
        "last sync {}",
        last.map_or("never".to_string(), output::time)
    )?;
    Ok(())
}
