//! A case in its own automerge document: a header written once and an append-only
//! timeline. The status is folded from the timeline by [`crate::workflow`].
//!
//! ```text
//! ROOT { kind: "case", id, grid, reporter, household?, title, description, category,
//!        reported_at,
//!        timeline: [ { id, actor, role, at, action, class?, level?, deadline?, assignee?,
//!                      reason?, beyond_level?, summary?, satisfied?, comment?, of?, text? } ] }
//! ```

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ROOT, ReadDoc};
use serde::{Deserialize, Serialize};

use super::doc::{am, flag, list_objects, opt_i64, opt_str, req_i64, req_obj, req_str};
use super::types::{Level, NewCase, Role, TriageClass};
use super::validate;
use crate::error::{Error, Result};
use crate::ids::{DocId, GridPath, Timestamp};
use crate::workflow::{self, ActionKind, CaseAction, CaseState, TimelineEntry, TriagePolicy};

/// A case as read back: what was reported, the folded state and the whole timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Its id.
    pub id: DocId,
    /// Its grid.
    pub grid: GridPath,
    /// Who reported it.
    pub reporter: String,
    /// The household concerned.
    pub household: Option<DocId>,
    /// One line.
    pub title: String,
    /// Details.
    pub description: String,
    /// Kind of matter.
    pub category: String,
    /// When reported.
    pub reported_at: Timestamp,
    /// Folded state.
    pub state: CaseState,
    /// Every action, in fold order, invalid ones marked.
    pub timeline: Vec<TimelineEntry>,
}

impl Case {
    /// Some timeline action became invalid after a merge and needs a person's review.
    pub fn needs_review(&self) -> bool {
        self.timeline.iter().any(|e| e.problem.is_some())
    }
}

/// Checks a new case before anything is written.
pub(crate) fn validate_new(c: &NewCase) -> Result<()> {
    validate::short_text("reporter", &c.reporter, 64)?;
    validate::short_text("title", &c.title, 100)?;
    validate::text("description", &c.description, 0, 5000)?;
    validate::short_text("category", &c.category, 32)?;
    if c.at <= 0 {
        return Err(Error::invalid("at", "report time must be after 1970"));
    }
    Ok(())
}

/// The header checks of [`validate_new`], on a case as read back.
pub(crate) fn validate_header(c: &Case) -> Result<()> {
    validate::short_text("reporter", &c.reporter, 64)?;
    validate::short_text("title", &c.title, 100)?;
    validate::text("description", &c.description, 0, 5000)?;
    validate::short_text("category", &c.category, 32)
}

/// Checks an action's free-text parameters.
pub(crate) fn validate_action(a: &CaseAction) -> Result<()> {
    validate::short_text("actor", &a.actor, 64)?;
    match &a.kind {
        ActionKind::Triage {
            assignee: Some(s), ..
        }
        | ActionKind::Assign { assignee: s } => validate::short_text("assignee", s, 64),
        ActionKind::Escalate { reason: s, .. } | ActionKind::Reject { reason: s } => {
            validate::text("reason", s, 1, 1000)
        }
        ActionKind::Resolve { summary } => validate::text("summary", summary, 1, 2000),
        ActionKind::Evaluate { comment, .. } => validate::text("comment", comment, 0, 2000),
        ActionKind::Comment { text } => validate::text("text", text, 1, 2000),
        _ => Ok(()),
    }
}

/// Writes a new case and its report action into an empty document.
pub(crate) fn create(
    tx: &mut impl Transactable,
    id: &DocId,
    c: &NewCase,
    action_id: &str,
) -> Result<()> {
    tx.put(ROOT, "kind", "case").map_err(am)?;
    tx.put(ROOT, "id", id.as_str()).map_err(am)?;
    tx.put(ROOT, "grid", c.grid.as_str()).map_err(am)?;
    tx.put(ROOT, "reporter", c.reporter.trim()).map_err(am)?;
    if let Some(h) = &c.household {
        tx.put(ROOT, "household", h.as_str()).map_err(am)?;
    }
    tx.put(ROOT, "title", c.title.trim()).map_err(am)?;
    tx.put(ROOT, "description", c.description.trim())
        .map_err(am)?;
    tx.put(ROOT, "category", c.category.trim()).map_err(am)?;
    tx.put(ROOT, "reported_at", c.at).map_err(am)?;
    tx.put_object(ROOT, "timeline", ObjType::List).map_err(am)?;
    let report = CaseAction {
        id: action_id.to_string(),
        actor: c.reporter.trim().to_string(),
        role: c.role,
        at: c.at,
        kind: ActionKind::Report,
    };
    append(tx, &report)
}

/// Appends an action to the timeline.
pub(crate) fn append(tx: &mut impl Transactable, a: &CaseAction) -> Result<()> {
    let list = req_obj(tx, &ROOT, "timeline", ObjType::List)?;
    let n = tx.length(&list);
    let o = tx.insert_object(&list, n, ObjType::Map).map_err(am)?;
    tx.put(&o, "id", a.id.as_str()).map_err(am)?;
    tx.put(&o, "actor", a.actor.as_str()).map_err(am)?;
    tx.put(&o, "role", a.role.as_str()).map_err(am)?;
    tx.put(&o, "at", a.at).map_err(am)?;
    tx.put(&o, "action", a.kind.name()).map_err(am)?;
    match &a.kind {
        ActionKind::Report | ActionKind::Accept | ActionKind::Start => {}
        ActionKind::Triage {
            class,
            level,
            deadline,
            assignee,
        } => {
            tx.put(&o, "class", class.as_str()).map_err(am)?;
            if let Some(l) = level {
                tx.put(&o, "level", l.as_str()).map_err(am)?;
            }
            if let Some(d) = deadline {
                tx.put(&o, "deadline", *d).map_err(am)?;
            }
            if let Some(s) = assignee {
                tx.put(&o, "assignee", s.as_str()).map_err(am)?;
            }
        }
        ActionKind::Assign { assignee } => tx.put(&o, "assignee", assignee.as_str()).map_err(am)?,
        ActionKind::Escalate {
            reason,
            beyond_level,
        } => {
            tx.put(&o, "reason", reason.as_str()).map_err(am)?;
            tx.put(&o, "beyond_level", *beyond_level).map_err(am)?;
        }
        ActionKind::Resolve { summary } => tx.put(&o, "summary", summary.as_str()).map_err(am)?,
        ActionKind::Evaluate { satisfied, comment } => {
            tx.put(&o, "satisfied", *satisfied).map_err(am)?;
            tx.put(&o, "comment", comment.as_str()).map_err(am)?;
        }
        ActionKind::Reject { reason } => tx.put(&o, "reason", reason.as_str()).map_err(am)?,
        ActionKind::Duplicate { of } => tx.put(&o, "of", of.as_str()).map_err(am)?,
        ActionKind::Comment { text } => tx.put(&o, "text", text.as_str()).map_err(am)?,
    }
    Ok(())
}

fn read_action(doc: &impl ReadDoc, o: &ObjId) -> Result<CaseAction> {
    let bad = |what: &str| Error::corrupt("document", format!("case action has a bad {what}"));
    let s = |k: &str| req_str(doc, o, k);
    let kind = match s("action")?.as_str() {
        "report" => ActionKind::Report,
        "accept" => ActionKind::Accept,
        "start" => ActionKind::Start,
        "triage" => ActionKind::Triage {
            class: TriageClass::parse(&s("class")?).ok_or_else(|| bad("class"))?,
            level: match opt_str(doc, o, "level")? {
                Some(l) => Some(Level::parse(&l).ok_or_else(|| bad("level"))?),
                None => None,
            },
            deadline: opt_i64(doc, o, "deadline")?,
            assignee: opt_str(doc, o, "assignee")?,
        },
        "assign" => ActionKind::Assign {
            assignee: s("assignee")?,
        },
        "escalate" => ActionKind::Escalate {
            reason: s("reason")?,
            beyond_level: flag(doc, o, "beyond_level")?,
        },
        "resolve" => ActionKind::Resolve {
            summary: s("summary")?,
        },
        "evaluate" => ActionKind::Evaluate {
            satisfied: flag(doc, o, "satisfied")?,
            comment: s("comment")?,
        },
        "reject" => ActionKind::Reject {
            reason: s("reason")?,
        },
        "duplicate" => ActionKind::Duplicate {
            of: DocId::parse(&s("of")?)?,
        },
        "comment" => ActionKind::Comment { text: s("text")? },
        _ => return Err(bad("action name")),
    };
    Ok(CaseAction {
        id: s("id")?,
        actor: s("actor")?,
        role: Role::parse(&s("role")?).ok_or_else(|| bad("role"))?,
        at: req_i64(doc, o, "at")?,
        kind,
    })
}

/// Every action on the timeline, in list order.
pub(crate) fn actions(doc: &impl ReadDoc) -> Result<Vec<CaseAction>> {
    let list = req_obj(doc, &ROOT, "timeline", ObjType::List)?;
    list_objects(doc, &list)?
        .iter()
        .map(|o| read_action(doc, o))
        .collect()
}

/// Reads the case back, folding its timeline under `policy`.
pub fn read(doc: &impl ReadDoc, policy: &TriagePolicy) -> Result<Case> {
    if req_str(doc, &ROOT, "kind")? != "case" {
        return Err(Error::corrupt("document", "not a case"));
    }
    let (state, timeline) = workflow::fold(&actions(doc)?, policy);
    Ok(Case {
        id: DocId::parse(&req_str(doc, &ROOT, "id")?)?,
        grid: GridPath::parse(&req_str(doc, &ROOT, "grid")?)?,
        reporter: req_str(doc, &ROOT, "reporter")?,
        household: opt_str(doc, &ROOT, "household")?
            .map(|h| DocId::parse(&h))
            .transpose()?,
        title: req_str(doc, &ROOT, "title")?,
        description: req_str(doc, &ROOT, "description")?,
        category: req_str(doc, &ROOT, "category")?,
        reported_at: req_i64(doc, &ROOT, "reported_at")?,
        state,
        timeline,
    })
}
