//! `gridsync refused …`: the records holding changes the relay refused (kept on this
//! handset, never sent again), and discarding them from this handset once the user
//! confirms. `gridsync sync` points here whenever something is refused.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Result, bail};
use clap::Subcommand;
use gridsync_core::replica::RefusedRecord;
use gridsync_core::{DocId, DocKind, Replica};

use crate::Ctx;
use crate::output::{self, Table};

/// `gridsync refused` commands.
#[derive(Debug, Subcommand)]
pub enum RefusedCmd {
    /// List the records holding changes the relay refused (kept here, never sent again).
    List,
    /// Remove a record's refused changes from this handset: the whole record when a
    /// refused change created it, else the refused changes and what was written on them.
    Discard {
        /// Record id (h-…, v-… or c-…) or a unique prefix.
        id: String,
        /// Discard without asking.
        #[arg(long)]
        yes: bool,
    },
}

/// Runs a `gridsync refused` command.
pub fn run(ctx: &Ctx, cmd: RefusedCmd) -> Result<()> {
    let hs = ctx.handset()?;
    match cmd {
        RefusedCmd::List => list(ctx, &hs.replica),
        RefusedCmd::Discard { id, yes } => discard(ctx, &hs.replica, &id, yes),
    }
}

/// The word for a record's kind.
pub fn kind_word(kind: DocKind) -> &'static str {
    match kind {
        DocKind::Household => "household",
        DocKind::Visit => "visit",
        DocKind::Case => "case",
    }
}

/// `household h-…`: a record named by kind and id.
pub fn name(id: &DocId) -> String {
    format!("{} {id}", kind_word(id.kind()))
}

/// The hint every refusal message ends with.
pub const HINT: &str = "`gridsync refused list` shows them, `gridsync refused discard ID` removes one from this handset";

fn list(ctx: &Ctx, r: &Replica) -> Result<()> {
    let all = r.refused()?;
    if ctx.json {
        return output::json(&all);
    }
    let mut t = Table::new(&["ID", "KIND", "GRID", "REFUSED", "CHANGES", "REASON"]);
    for f in &all {
        t.row(vec![
            output::short(&f.doc).into(),
            kind_word(f.kind).into(),
            f.grid.to_string(),
            output::time(f.at),
            f.changes.to_string(),
            f.reason.clone(),
        ]);
    }
    t.print("the relay has refused nothing on this handset")?;
    if !all.is_empty() {
        crate::outln!(
            "kept here and never sent again; `gridsync refused discard ID` removes one from this handset"
        )?;
    }
    Ok(())
}

/// Finds a refused record by id or unique id prefix.
fn resolve(refused: &[RefusedRecord], text: &str) -> Result<DocId> {
    let t = text.trim();
    let kind = match t.get(..2) {
        Some("h-") => DocKind::Household,
        Some("v-") => DocKind::Visit,
        Some("c-") => DocKind::Case,
        _ => bail!(
            "{t:?} is not a record id (h-…, v-… or c-… and hex digits, or a unique prefix); `gridsync refused list` shows the refused ones"
        ),
    };
    output::resolve_id(t, kind, kind_word(kind), || {
        Ok((refused.iter())
            .filter(|f| f.kind == kind)
            .map(|f| f.doc.clone())
            .collect())
    })
}

/// What discarding `f` removes, in words.
fn explain(f: &RefusedRecord) -> String {
    let what = format!("{} in grid {}", name(&f.doc), f.grid);
    if f.whole_record {
        format!(
            "{what} was created by a change the relay refused ({}): discarding deletes it from this handset, with everything written on it",
            f.reason
        )
    } else {
        format!(
            "the relay refused {} change(s) of {what} ({}): discarding removes them, and every later change built on them, from this handset; what the relay accepted stays",
            f.changes, f.reason
        )
    }
}

/// Asks on the terminal; true for yes.
fn confirm(question: &str) -> Result<bool> {
    let mut err = std::io::stderr();
    write!(err, "{question} [y/N] ")?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_lowercase().as_str(),
        "y" | "yes" | "是"
    ))
}

fn discard(ctx: &Ctx, r: &Replica, text: &str, yes: bool) -> Result<()> {
    let refused = r.refused()?;
    let id = resolve(&refused, text)?;
    let Some(f) = refused.iter().find(|f| f.doc == id) else {
        bail!("{} holds no change the relay refused", name(&id));
    };
    let explained = explain(f);
    if !yes {
        if !std::io::stdin().is_terminal() {
            bail!("{explained}. Nothing was discarded: pass --yes to confirm");
        }
        eprintln!("{explained}.");
        if !confirm("Discard it? Nothing is sent to the relay.")? {
            if ctx.json {
                return output::json(&serde_json::json!({ "doc": id, "discarded": false }));
            }
            crate::outln!("kept {}: nothing discarded", name(&id))?;
            return Ok(());
        }
    }
    let d = r.discard_refused(&id)?;
    if ctx.json {
        return output::json(&d);
    }
    if d.deleted {
        crate::outln!(
            "discarded {}: deleted from this handset ({} change(s) removed)",
            name(&id),
            d.removed_changes
        )?;
    } else {
        crate::outln!(
            "discarded {} change(s) of {}; it holds what the relay accepted{}",
            d.removed_changes,
            name(&id),
            if d.dropped_pending > 0 {
                format!(" ({} of them had not been sent yet)", d.dropped_pending)
            } else {
                String::new()
            }
        )?;
    }
    Ok(())
}
