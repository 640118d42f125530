//! `gridsync case …`: report a case, take steps on it through the closed loop (accept,
//! triage, handle, escalate, resolve, evaluate), list cases and show a case's timeline.

use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use gridsync_core::model::{Level, NewCase, Role, TriageClass};
use gridsync_core::replica::{CaseActionInput, CaseFilter};
use gridsync_core::workflow::{self, ActionKind, CaseStatus};
use gridsync_core::{DAY_MS, DocId, DocKind, GridPath, Replica, Timestamp};

use crate::config::Handset;
use crate::output::{self, Table};
use crate::{Ctx, household, parse_class, parse_grid, parse_level, parse_role, parse_status};

mod view;

pub use view::status;
use view::{class, show};

/// Case commands.
#[derive(Debug, Subcommand)]
pub enum CaseCmd {
    /// Report a case 上报.
    Report(ReportArgs),
    /// Take a step on a case.
    Act(ActArgs),
    /// List cases, newest report first.
    List(ListArgs),
    /// Show a case's timeline and what a role may do now.
    Show {
        /// Case id (or a unique prefix).
        id: String,
        /// The role asking (default: this handset's role).
        #[arg(long, value_parser = parse_role)]
        role: Option<Role>,
    },
}

/// `case report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The grid (default: the household's grid, else the handset's).
    #[arg(long, value_parser = parse_grid)]
    grid: Option<GridPath>,
    /// One line.
    #[arg(long)]
    title: String,
    /// Kind of matter from the triage catalogue (矛盾纠纷, 环境卫生 …).
    #[arg(long)]
    category: String,
    /// The details.
    #[arg(long, default_value = "")]
    description: String,
    /// The household concerned (id or unique prefix).
    #[arg(long)]
    household: Option<String>,
    /// The reporter's role (default: this handset's role).
    #[arg(long, value_parser = parse_role)]
    role: Option<Role>,
    /// The reporter (default: this handset's worker).
    #[arg(long)]
    worker: Option<String>,
}

/// The steps of the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Step {
    Accept,
    Triage,
    Assign,
    Start,
    Escalate,
    Resolve,
    Evaluate,
    Reject,
    Duplicate,
    Comment,
}

/// `case act`.
#[derive(Debug, Args)]
pub struct ActArgs {
    /// Case id (or a unique prefix).
    id: String,
    /// The step.
    #[arg(value_enum)]
    step: Step,
    /// Act in this role (default: this handset's role).
    #[arg(long, value_parser = parse_role)]
    role: Option<Role>,
    /// Act as this worker (default: this handset's worker).
    #[arg(long)]
    worker: Option<String>,
    /// triage: big, small or private (大事/小事/私事).
    #[arg(long, value_parser = parse_class)]
    class: Option<TriageClass>,
    /// triage: handling level grid, community or street (default: by class).
    #[arg(long, value_parser = parse_level)]
    level: Option<Level>,
    /// triage: deadline "YYYY-MM-DD[ HH:MM]" (default: the class's time limit).
    #[arg(long)]
    deadline: Option<String>,
    /// triage, assign: who handles it.
    #[arg(long)]
    assignee: Option<String>,
    /// escalate, reject: why.
    #[arg(long)]
    reason: Option<String>,
    /// escalate: the matter is beyond the current level (allowed before the deadline).
    #[arg(long)]
    beyond_level: bool,
    /// resolve: what was done.
    #[arg(long)]
    summary: Option<String>,
    /// evaluate: satisfied (true closes the case, false reopens it).
    #[arg(long)]
    satisfied: Option<bool>,
    /// evaluate: comment (also the text of a comment step).
    #[arg(long)]
    comment: Option<String>,
    /// duplicate: the case this one repeats.
    #[arg(long)]
    of: Option<String>,
    /// comment: the note.
    #[arg(long)]
    text: Option<String>,
}

/// `case list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only open cases.
    #[arg(long)]
    open: bool,
    /// Only cases in this status.
    #[arg(long, value_parser = parse_status)]
    status: Option<CaseStatus>,
    /// Only this triage class.
    #[arg(long, value_parser = parse_class)]
    class: Option<TriageClass>,
    /// Only open cases past their deadline.
    #[arg(long)]
    overdue: bool,
    /// Only cases a merge left with an invalid action (to review).
    #[arg(long)]
    review: bool,
    /// Only this grid (or subtree).
    #[arg(long, value_parser = parse_grid)]
    grid: Option<GridPath>,
}

/// Finds a case by id or unique id prefix.
pub fn resolve(r: &Replica, text: &str) -> Result<DocId> {
    output::resolve_id(text, DocKind::Case, "case", || {
        Ok(r.list_cases(&CaseFilter::default())?
            .into_iter()
            .map(|c| c.id)
            .collect())
    })
}

fn end_of_day_or_time(s: &str) -> Result<Timestamp> {
    let t = output::parse_time(s)?;
    Ok(if s.trim().contains([' ', 'T']) {
        t
    } else {
        t + DAY_MS - 60_000
    })
}

/// Refuses flags the step does not use.
fn check_flags(a: &ActArgs, name: &str) -> Result<()> {
    let flags: [(&str, bool, &[Step]); 10] = [
        ("class", a.class.is_some(), &[Step::Triage]),
        ("level", a.level.is_some(), &[Step::Triage]),
        ("deadline", a.deadline.is_some(), &[Step::Triage]),
        (
            "assignee",
            a.assignee.is_some(),
            &[Step::Triage, Step::Assign],
        ),
        (
            "reason",
            a.reason.is_some(),
            &[Step::Escalate, Step::Reject],
        ),
        ("beyond-level", a.beyond_level, &[Step::Escalate]),
        ("summary", a.summary.is_some(), &[Step::Resolve]),
        ("satisfied", a.satisfied.is_some(), &[Step::Evaluate]),
        (
            "comment",
            a.comment.is_some(),
            &[Step::Evaluate, Step::Comment],
        ),
        ("of", a.of.is_some(), &[Step::Duplicate]),
    ];
    for (flag, set, steps) in flags {
        if set && !steps.contains(&a.step) {
            bail!("--{flag} does not apply to {name}");
        }
    }
    if a.text.is_some() && a.step != Step::Comment {
        bail!("--text does not apply to {name}");
    }
    Ok(())
}

/// Builds the step's action from the flags, refusing flags the step does not use.
fn action_kind(r: &Replica, a: &ActArgs) -> Result<ActionKind> {
    let name = format!("{:?}", a.step).to_lowercase();
    check_flags(a, &name)?;
    let need = |v: &Option<String>, flag: &str, what: &str| {
        v.clone()
            .ok_or_else(|| anyhow!("{name} needs --{flag} {what}"))
    };
    Ok(match a.step {
        Step::Accept => ActionKind::Accept,
        Step::Triage => ActionKind::Triage {
            class: a
                .class
                .ok_or_else(|| anyhow!("triage needs --class big|small|private"))?,
            level: a.level,
            deadline: a.deadline.as_deref().map(end_of_day_or_time).transpose()?,
            assignee: a.assignee.clone(),
        },
        Step::Assign => ActionKind::Assign {
            assignee: need(&a.assignee, "assignee", "WORKER")?,
        },
        Step::Start => ActionKind::Start,
        Step::Escalate => ActionKind::Escalate {
            reason: need(&a.reason, "reason", "TEXT")?,
            beyond_level: a.beyond_level,
        },
        Step::Resolve => ActionKind::Resolve {
            summary: need(&a.summary, "summary", "TEXT")?,
        },
        Step::Evaluate => ActionKind::Evaluate {
            satisfied: a
                .satisfied
                .ok_or_else(|| anyhow!("evaluate needs --satisfied true|false"))?,
            comment: a.comment.clone().unwrap_or_default(),
        },
        Step::Reject => ActionKind::Reject {
            reason: need(&a.reason, "reason", "TEXT")?,
        },
        Step::Duplicate => ActionKind::Duplicate {
            of: resolve(r, &need(&a.of, "of", "CASE")?)?,
        },
        Step::Comment => ActionKind::Comment {
            text: a
                .text
                .clone()
                .or_else(|| a.comment.clone())
                .ok_or_else(|| anyhow!("comment needs --text TEXT"))?,
        },
    })
}

/// Runs a case command.
pub fn run(ctx: &Ctx, cmd: CaseCmd) -> Result<()> {
    let hs = ctx.handset()?;
    match cmd {
        CaseCmd::Report(a) => report(ctx, &hs, a),
        CaseCmd::Act(a) => act(ctx, &hs, &a),
        CaseCmd::List(a) => list(ctx, &hs.replica, a),
        CaseCmd::Show { id, role } => {
            let r = &hs.replica;
            let c = r.case(&resolve(r, &id)?)?;
            let role = hs.role(role)?;
            let allowed = workflow::allowed(&c.state, role);
            if ctx.json {
                return output::json(&serde_json::json!({
                    "case": c, "role": role, "allowed": allowed,
                }));
            }
            show(&c, role, &allowed)
        }
    }
}

/// `case report`.
fn report(ctx: &Ctx, hs: &Handset, a: ReportArgs) -> Result<()> {
    let r = &hs.replica;
    let household = a
        .household
        .as_deref()
        .map(|h| household::resolve(r, h))
        .transpose()?;
    let grid = match (&a.grid, &household) {
        (None, Some(h)) => r.household(h)?.grid,
        (g, _) => hs.grid(g.as_ref())?,
    };
    let new = NewCase {
        grid,
        reporter: hs.worker(a.worker.as_deref()),
        role: hs.role(a.role)?,
        household,
        title: a.title,
        description: a.description,
        category: a.category,
        at: output::now(),
    };
    let id = r.report_case(&new)?;
    let c = r.case(&id)?;
    if ctx.json {
        return output::json(&c);
    }
    crate::outln!(
        "reported case {id}: {} [{}] in {}",
        c.title,
        c.category,
        c.grid
    )?;
    Ok(())
}

/// `case act`.
fn act(ctx: &Ctx, hs: &Handset, a: &ActArgs) -> Result<()> {
    let r = &hs.replica;
    let id = resolve(r, &a.id)?;
    let input = CaseActionInput {
        actor: hs.worker(a.worker.as_deref()),
        role: hs.role(a.role)?,
        at: None,
        kind: action_kind(r, a)?,
    };
    let c = r.act_on_case(&id, &input)?;
    if ctx.json {
        return output::json(&c);
    }
    crate::outln!(
        "case {}: {} by {} ({}) → {}",
        output::short(&id),
        input.kind.name(),
        input.actor,
        input.role.as_str(),
        status(c.state.status)
    )?;
    Ok(())
}

/// `case list`.
fn list(ctx: &Ctx, r: &Replica, a: ListArgs) -> Result<()> {
    let now = output::now();
    let filter = CaseFilter {
        status: a.status,
        open_only: a.open,
        class: a.class,
        overdue_at: a.overdue.then_some(now),
        grid: a.grid,
    };
    let list = if a.review {
        let mut l = r.cases_for_review()?;
        let keep = r.list_cases(&filter)?;
        l.retain(|c| keep.iter().any(|k| k.id == c.id));
        l
    } else {
        r.list_cases(&filter)?
    };
    if ctx.json {
        return output::json(&list);
    }
    let mut t = Table::new(&[
        "ID", "STATUS", "CLASS", "TITLE", "CATEGORY", "ASSIGNEE", "DEADLINE", "REPORTED",
    ]);
    for c in &list {
        let mut deadline = output::opt_time(c.deadline);
        if c.status.is_open() && c.deadline.is_some_and(|d| d < now) {
            deadline.push_str(" 超期!");
        }
        let mut id = output::short(&c.id).to_string();
        if c.needs_review {
            id.push_str(" ⚠");
        }
        t.row(vec![
            id,
            status(c.status),
            class(c.class).into(),
            output::clip(&c.title, 30),
            c.category.clone(),
            c.assignee.clone().unwrap_or_else(|| "-".into()),
            deadline,
            output::time(c.reported_at),
        ]);
    }
    t.print("no cases")
}
