//! `gridsync visit …` (the people's-condition diary 民情日记) and `gridsync due` (who must
//! be visited, most urgent first).

use std::collections::HashMap;

use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};
use gridsync_core::index::HouseholdSummary;
use gridsync_core::model::{FollowUp, HouseholdField, NewVisit, VisitMode};
use gridsync_core::{DAY_MS, DocId, DocKind, GridPath, Replica, Timestamp};

use crate::output::{self, Table};
use crate::{Ctx, household, parse_grid, parse_mode, parse_when};

/// Visit commands.
#[derive(Debug, Subcommand)]
pub enum VisitCmd {
    /// Log a visit to a household.
    Log(LogArgs),
    /// List a household's visits, or a grid's between two dates.
    List(ListArgs),
    /// Show one visit in full.
    Show {
        /// Visit id (or a unique prefix).
        id: String,
    },
    /// Tick (or with --undo untick) follow-up number N of a visit.
    Done {
        /// Visit id (or a unique prefix).
        id: String,
        /// Follow-up number, as `visit show` lists it.
        n: usize,
        /// Mark it not done again.
        #[arg(long)]
        undo: bool,
    },
}

/// `visit log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Household id (or a unique prefix).
    #[arg(long)]
    household: String,
    /// door, phone or courtyard.
    #[arg(long, value_parser = parse_mode, default_value = "door")]
    mode: VisitMode,
    /// What was seen and said.
    #[arg(long)]
    notes: String,
    /// A problem found (repeatable).
    #[arg(long)]
    finding: Vec<String>,
    /// Something to follow up, "TEXT@YYYY-MM-DD" (repeatable).
    #[arg(long, value_name = "TEXT@DATE")]
    follow_up: Vec<String>,
    /// When, "YYYY-MM-DD HH:MM" Beijing time (default: now).
    #[arg(long, value_parser = parse_when)]
    at: Option<Timestamp>,
    /// Who visited (default: this handset's worker).
    #[arg(long)]
    worker: Option<String>,
}

/// `visit list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// A household's visits, newest first.
    #[arg(long, conflicts_with_all = ["grid", "from", "to"])]
    household: Option<String>,
    /// A grid's visits, oldest first (default: the handset's grid).
    #[arg(long, value_parser = parse_grid)]
    grid: Option<GridPath>,
    /// From this date or time (default: 30 days ago).
    #[arg(long)]
    from: Option<String>,
    /// Up to this date (inclusive) or time (default: now).
    #[arg(long)]
    to: Option<String>,
    /// At most this many (household lists).
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

/// `gridsync due`.
#[derive(Debug, Args)]
pub struct DueArgs {
    /// Only households this worker contacts (default: every household on the handset).
    #[arg(long)]
    worker: Option<String>,
    /// Also those due within this many days.
    #[arg(long, default_value_t = 7)]
    days: u32,
}

/// Parses `TEXT@YYYY-MM-DD[ HH:MM]`; a bare date means by the end of that day.
fn follow_up(s: &str) -> Result<FollowUp> {
    let (text, when) = s
        .rsplit_once('@')
        .ok_or_else(|| anyhow!("--follow-up {s:?} is not TEXT@YYYY-MM-DD"))?;
    let mut due = output::parse_time(when)?;
    if !when.trim().contains([' ', 'T']) {
        due += DAY_MS - 60_000;
    }
    Ok(FollowUp {
        text: text.trim().to_string(),
        due,
        done: false,
    })
}

fn heads(r: &Replica, grid: Option<&GridPath>) -> Result<HashMap<DocId, HouseholdSummary>> {
    Ok(r.list_households(grid)?
        .into_iter()
        .map(|h| (h.id.clone(), h))
        .collect())
}

/// Finds a visit by id or unique id prefix, among the visits of every household here.
fn resolve_visit(r: &Replica, text: &str) -> Result<DocId> {
    output::resolve_id(text, DocKind::Visit, "visit", || {
        let mut ids = Vec::new();
        for h in r.list_households(None)? {
            ids.extend(r.visits_of(&h.id, usize::MAX)?.into_iter().map(|v| v.id));
        }
        Ok(ids)
    })
}

/// Runs a visit command.
pub fn run(ctx: &Ctx, cmd: VisitCmd) -> Result<()> {
    let hs = ctx.handset()?;
    let r = &hs.replica;
    match cmd {
        VisitCmd::Log(a) => {
            let new = NewVisit {
                household: household::resolve(r, &a.household)?,
                worker: hs.worker(a.worker.as_deref()),
                at: a.at.unwrap_or_else(output::now),
                mode: a.mode,
                notes: a.notes,
                findings: a.finding,
                follow_ups: a
                    .follow_up
                    .iter()
                    .map(|f| follow_up(f))
                    .collect::<Result<_>>()?,
                geo: None,
            };
            let id = r.log_visit(&new)?;
            let v = r.visit(&id)?;
            if ctx.json {
                return output::json(&v);
            }
            let head = r.household(&new.household)?.head;
            crate::outln!(
                "logged visit {id} to {head} at {} ({})",
                output::time(v.record.at),
                output::mode(v.record.mode)
            )?;
        }
        VisitCmd::List(a) => list(ctx, r, &hs, a)?,
        VisitCmd::Show { id } => {
            let v = r.visit(&resolve_visit(r, &id)?)?;
            if ctx.json {
                return output::json(&v);
            }
            let head = r.household(&v.record.household).map(|h| h.head)?;
            crate::outln!("visit {}", v.id)?;
            crate::outln!("  household {} ({head})", v.record.household)?;
            crate::outln!("  when      {}", output::time(v.record.at))?;
            crate::outln!("  mode      {}", output::mode(v.record.mode))?;
            crate::outln!("  worker    {}", v.record.worker)?;
            crate::outln!("  notes     {}", v.record.notes)?;
            for f in &v.record.findings {
                crate::outln!("  finding   {f}")?;
            }
            for (i, f) in v.record.follow_ups.iter().enumerate() {
                let mark = if f.done { "✓" } else { " " };
                crate::outln!(
                    "  follow-up [{i}] {mark} {} (by {})",
                    f.text,
                    output::date(f.due)
                )?;
            }
        }
        VisitCmd::Done { id, n, undo } => {
            let id = resolve_visit(r, &id)?;
            r.set_follow_up_done(&id, n, !undo)?;
            let v = r.visit(&id)?;
            if ctx.json {
                return output::json(&v);
            }
            crate::outln!(
                "follow-up {n} of {} marked {}",
                output::short(&id),
                if undo { "not done" } else { "done" }
            )?;
        }
    }
    Ok(())
}

fn list(ctx: &Ctx, r: &Replica, hs: &crate::config::Handset, a: ListArgs) -> Result<()> {
    let (visits, names) = if let Some(h) = &a.household {
        let id = household::resolve(r, h)?;
        let grid = r.household(&id)?.grid;
        (r.visits_of(&id, a.limit)?, heads(r, Some(&grid))?)
    } else {
        let grid = hs.grid(a.grid.as_ref()).map_err(|_| {
            anyhow!("which visits? pass --household ID, or --grid G [--from DATE --to DATE]")
        })?;
        let now = output::now();
        let from = match &a.from {
            Some(f) => output::parse_time(f)?,
            None => now - 30 * DAY_MS,
        };
        let to = match &a.to {
            Some(t) if t.trim().contains([' ', 'T']) => output::parse_time(t)?,
            Some(t) => output::parse_time(t)? + DAY_MS,
            None => now + 60_000,
        };
        if to <= from {
            bail!("--to must be after --from");
        }
        (r.visits_in(&grid, from, to)?, heads(r, Some(&grid))?)
    };
    if ctx.json {
        return output::json(&visits);
    }
    let mut t = Table::new(&[
        "WHEN",
        "HOUSEHOLD",
        "HEAD",
        "MODE",
        "WORKER",
        "OPEN",
        "VISIT",
    ]);
    for v in &visits {
        t.row(vec![
            output::time(v.at),
            output::short(&v.household).into(),
            names
                .get(&v.household)
                .map_or("?".into(), |h| h.head.clone()),
            output::mode(v.mode).into(),
            v.worker.clone(),
            v.open_follow_ups.to_string(),
            v.id.to_string(),
        ]);
    }
    t.print("no visits")
}

/// Runs `gridsync due`.
pub fn due(ctx: &Ctx, a: &DueArgs) -> Result<()> {
    let hs = ctx.handset()?;
    let r = &hs.replica;
    let now = output::now();
    let due = r.due_visits(a.worker.as_deref().map(str::trim), now, a.days)?;
    if ctx.json {
        return output::json(&due);
    }
    let names = heads(r, None)?;
    let mut t = Table::new(&[
        "TIER",
        "HEAD",
        "ADDRESS",
        "LAST VISIT",
        "DUE",
        "OVERDUE",
        "FOLLOW-UP",
        "ID",
    ]);
    let mut unsettled = false;
    for d in &due {
        let overdue = if d.due_at > now {
            format!("in {}d", (d.due_at - now + DAY_MS - 1) / DAY_MS)
        } else {
            format!("{}d", d.days_overdue)
        };
        let tier_in_conflict = r
            .household_conflicts(&d.household)?
            .iter()
            .any(|c| c.field == HouseholdField::Tier);
        unsettled |= tier_in_conflict;
        t.row(vec![
            if tier_in_conflict {
                format!("{}⚠", output::tier(d.tier))
            } else {
                output::tier(d.tier).into()
            },
            d.head.clone(),
            names
                .get(&d.household)
                .map_or(String::new(), |h| output::address(&h.address)),
            d.last_visit.map_or("never".into(), output::date),
            output::date(d.due_at),
            overdue,
            d.follow_up.as_ref().map_or(String::new(), |f| {
                format!("{} ({})", output::clip(&f.text, 16), output::date(f.due))
            }),
            output::short(&d.household).into(),
        ]);
    }
    t.print(&format!("nobody is due within {} days", a.days))?;
    if unsettled {
        crate::outln!(
            "⚠ tier changed on two handsets at once: `household show ID` to settle; due by the tier shown"
        )?;
    }
    Ok(())
}
