//! How `case list` and `case show` put a case on screen: status and class words, the
//! timeline with invalid actions marked, and what the asking role may do now.

use gridsync_core::model::{Case, Role, TriageClass};
use gridsync_core::workflow::{ActionKind, CaseStatus};

use crate::output::{self, Table};

/// A status with its Chinese name.
pub fn status(s: CaseStatus) -> String {
    let zh = match s {
        CaseStatus::Reported => "上报",
        CaseStatus::Accepted => "受理",
        CaseStatus::Triaged => "分流",
        CaseStatus::InProgress => "办理",
        CaseStatus::Resolved => "办结",
        CaseStatus::Closed => "评价结案",
        CaseStatus::Rejected => "不予受理",
        CaseStatus::Duplicate => "重复",
    };
    format!("{zh} {}", s.as_str())
}

pub fn class(c: Option<TriageClass>) -> &'static str {
    match c {
        Some(TriageClass::Big) => "大事 big",
        Some(TriageClass::Small) => "小事 small",
        Some(TriageClass::Private) => "私事 private",
        None => "-",
    }
}

/// What an action carries, in a few words.
fn details(k: &ActionKind) -> String {
    match k {
        ActionKind::Report | ActionKind::Accept | ActionKind::Start => String::new(),
        ActionKind::Triage {
            class: c,
            level,
            deadline,
            assignee,
        } => {
            let mut s = class(Some(*c)).to_string();
            if let Some(l) = level {
                s.push_str(&format!(", level {}", l.as_str()));
            }
            if let Some(d) = deadline {
                s.push_str(&format!(", by {}", output::time(*d)));
            }
            if let Some(a) = assignee {
                s.push_str(&format!(", to {a}"));
            }
            s
        }
        ActionKind::Assign { assignee } => format!("to {assignee}"),
        ActionKind::Escalate {
            reason,
            beyond_level,
        } => format!(
            "{reason}{}",
            if *beyond_level { " (beyond level)" } else { "" }
        ),
        ActionKind::Resolve { summary } => summary.clone(),
        ActionKind::Evaluate { satisfied, comment } => format!(
            "{} {comment}",
            if *satisfied {
                "满意 satisfied"
            } else {
                "不满意 not satisfied"
            }
        ),
        ActionKind::Reject { reason } => reason.clone(),
        ActionKind::Duplicate { of } => format!("of {of}"),
        ActionKind::Comment { text } => text.clone(),
    }
}

pub fn show(c: &Case, role: Role, allowed: &[&str]) -> anyhow::Result<()> {
    let s = &c.state;
    crate::outln!("case {}", c.id)?;
    crate::outln!("  title     {}", c.title)?;
    crate::outln!("  category  {}", c.category)?;
    crate::outln!("  grid      {}", c.grid)?;
    if let Some(h) = &c.household {
        crate::outln!("  household {h}")?;
    }
    if !c.description.is_empty() {
        crate::outln!("  details   {}", c.description)?;
    }
    crate::outln!(
        "  reported  {} by {}",
        output::time(c.reported_at),
        c.reporter
    )?;
    crate::outln!("  status    {}", status(s.status))?;
    if s.class.is_some() {
        crate::outln!(
            "  class     {}, level {}",
            class(s.class),
            s.level.map_or("-", |l| l.as_str())
        )?;
        crate::outln!("  assignee  {}", s.assignee.as_deref().unwrap_or("-"))?;
        let overdue = if s.is_overdue(output::now()) {
            " 超期 overdue"
        } else {
            ""
        };
        crate::outln!("  deadline  {}{overdue}", output::opt_time(s.deadline))?;
    }
    if s.escalations > 0 || s.reopened > 0 {
        crate::outln!(
            "  escalated {} times, reopened {} times",
            s.escalations,
            s.reopened
        )?;
    }
    crate::outln!("\ntimeline")?;
    let mut t = Table::new(&["  WHEN", "WHO", "ROLE", "ACTION", "DETAILS"]);
    for e in &c.timeline {
        let a = &e.action;
        let mark = if e.problem.is_some() { "⚠ " } else { "  " };
        t.row(vec![
            format!("{mark}{}", output::time(a.at)),
            a.actor.clone(),
            output::role(a.role),
            a.kind.name().into(),
            output::clip(&details(&a.kind), 50),
        ]);
    }
    print!("{}", t.render(""));
    let problems: Vec<_> = c
        .timeline
        .iter()
        .filter_map(|e| e.problem.as_ref().map(|p| (e, p)))
        .collect();
    if !problems.is_empty() {
        crate::outln!(
            "\n⚠ actions that did not apply after offline edits merged (kept for review):"
        )?;
        for (e, p) in problems {
            crate::outln!(
                "  {} {} by {}: {p}",
                output::time(e.action.at),
                e.action.kind.name(),
                e.action.actor
            )?;
        }
    }
    crate::outln!(
        "\nas {} you may now: {}",
        output::role(role),
        if allowed.is_empty() {
            "nothing".to_string()
        } else {
            allowed.join(", ")
        }
    )?;
    Ok(())
}
