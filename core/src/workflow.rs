//! The case loop: report → accept → triage → in progress → resolve → evaluate (close or
//! reopen), with escalation 督办 and reject/duplicate, and which role may take which step.
//!
//! A case's timeline is append-only; its status is never stored but derived by folding the
//! timeline in list order (identical on every replica after a merge, and causal). Two offline actions on one case both survive a
//! merge; one that is no longer valid once the other is folded in stays in the timeline,
//! carries a `problem`, and puts the case on the review list.

use serde::{Deserialize, Serialize};

use crate::ids::{DAY_MS, DocId, Timestamp};
use crate::model::{Level, Role, TriageClass};

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CaseStatus {
    /// 上报: reported, waiting to be accepted.
    Reported,
    /// 受理: accepted, waiting for triage.
    Accepted,
    /// 分流: classified, level and deadline set.
    Triaged,
    /// 办理: being handled.
    InProgress,
    /// 办结: handled, waiting for evaluation.
    Resolved,
    /// Evaluated as satisfactory; the loop is closed.
    Closed,
    /// Refused at acceptance.
    Rejected,
    /// Same matter as another case.
    Duplicate,
}

impl CaseStatus {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Reported => "reported",
            CaseStatus::Accepted => "accepted",
            CaseStatus::Triaged => "triaged",
            CaseStatus::InProgress => "in_progress",
            CaseStatus::Resolved => "resolved",
            CaseStatus::Closed => "closed",
            CaseStatus::Rejected => "rejected",
            CaseStatus::Duplicate => "duplicate",
        }
    }

    /// Every status.
    pub const ALL: [CaseStatus; 8] = [
        CaseStatus::Reported,
        CaseStatus::Accepted,
        CaseStatus::Triaged,
        CaseStatus::InProgress,
        CaseStatus::Resolved,
        CaseStatus::Closed,
        CaseStatus::Rejected,
        CaseStatus::Duplicate,
    ];

    /// Parses [`CaseStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Still needs work (not closed, rejected or a duplicate).
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            CaseStatus::Closed | CaseStatus::Rejected | CaseStatus::Duplicate
        )
    }
}

/// What an action does, with its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionKind {
    /// The report itself; always the first entry.
    Report,
    /// Accept the case.
    Accept,
    /// Classify it; level and deadline default from the [`TriagePolicy`].
    Triage {
        /// Big, small or private matter.
        class: TriageClass,
        /// Handling level; `None` takes the class's default.
        level: Option<Level>,
        /// Deadline; `None` takes the class's time limit from the triage time.
        deadline: Option<Timestamp>,
        /// Who handles it.
        assignee: Option<String>,
    },
    /// Hand it to someone else.
    Assign {
        /// The new assignee.
        assignee: String,
    },
    /// Start handling.
    Start,
    /// 督办: push it one level up, when overdue or beyond the current level.
    Escalate {
        /// Why.
        reason: String,
        /// The matter is beyond the current level (allowed even when not overdue).
        beyond_level: bool,
    },
    /// Handled.
    Resolve {
        /// What was done.
        summary: String,
    },
    /// Evaluation 评价: satisfied closes the case, not satisfied reopens it.
    Evaluate {
        /// Satisfied or not.
        satisfied: bool,
        /// Comment.
        comment: String,
    },
    /// Refuse the case.
    Reject {
        /// Why.
        reason: String,
    },
    /// The same matter as another case.
    Duplicate {
        /// The case it duplicates.
        of: DocId,
    },
    /// A note on the timeline; changes nothing.
    Comment {
        /// The note.
        text: String,
    },
}

impl ActionKind {
    /// Stable name.
    pub fn name(&self) -> &'static str {
        match self {
            ActionKind::Report => "report",
            ActionKind::Accept => "accept",
            ActionKind::Triage { .. } => "triage",
            ActionKind::Assign { .. } => "assign",
            ActionKind::Start => "start",
            ActionKind::Escalate { .. } => "escalate",
            ActionKind::Resolve { .. } => "resolve",
            ActionKind::Evaluate { .. } => "evaluate",
            ActionKind::Reject { .. } => "reject",
            ActionKind::Duplicate { .. } => "duplicate",
            ActionKind::Comment { .. } => "comment",
        }
    }
}

/// One entry of a case's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseAction {
    /// Unique id (random), the tie-breaker between actions at the same time.
    pub id: String,
    /// Who (worker id).
    pub actor: String,
    /// In which role.
    pub role: Role,
    /// When.
    pub at: Timestamp,
    /// What.
    pub kind: ActionKind,
}

/// Time limits per triage class (办理时限), in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriagePolicy {
    /// Big matters.
    pub big_days: u32,
    /// Small matters.
    pub small_days: u32,
    /// Private matters.
    pub private_days: u32,
}

impl Default for TriagePolicy {
    fn default() -> Self {
        TriagePolicy {
            big_days: 30,
            small_days: 7,
            private_days: 3,
        }
    }
}

impl TriagePolicy {
    /// The time limit for a class, in milliseconds.
    pub fn limit(&self, class: TriageClass) -> Timestamp {
        let days = match class {
            TriageClass::Big => self.big_days,
            TriageClass::Small => self.small_days,
            TriageClass::Private => self.private_days,
        };
        Timestamp::from(days) * DAY_MS
    }

    /// Who leads a class by default: big → street, small → community, private → grid.
    pub fn default_level(class: TriageClass) -> Level {
        match class {
            TriageClass::Big => Level::Street,
            TriageClass::Small => Level::Community,
            TriageClass::Private => Level::Grid,
        }
    }
}

/// The state a timeline folds to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseState {
    /// Current status.
    pub status: CaseStatus,
    /// Triage class once triaged.
    pub class: Option<TriageClass>,
    /// Handling level once triaged.
    pub level: Option<Level>,
    /// Who handles it.
    pub assignee: Option<String>,
    /// Deadline once triaged.
    pub deadline: Option<Timestamp>,
    /// How often it was escalated.
    pub escalations: u32,
    /// How often an evaluation reopened it.
    pub reopened: u32,
}

impl CaseState {
    fn reported() -> Self {
        CaseState {
            status: CaseStatus::Reported,
            class: None,
            level: None,
            assignee: None,
            deadline: None,
            escalations: 0,
            reopened: 0,
        }
    }

    /// Open, with a deadline before `now`.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.status.is_open() && self.deadline.is_some_and(|d| d < now)
    }
}

/// A timeline entry with its validity after the fold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// The action as recorded.
    pub action: CaseAction,
    /// Why it did not apply, when it did not (it stays in the history regardless).
    pub problem: Option<String>,
}

mod rules;

pub use rules::{allowed, check, role_may};

/// Folds a timeline into the case's state; every action is kept, invalid ones marked.
///
/// `actions` are in timeline-list order. The automerge list gives every replica the same
/// order after a merge, and it is causal (an action appended after seeing another comes
/// after it), which wall-clock times on handsets are not.
pub fn fold(actions: &[CaseAction], policy: &TriagePolicy) -> (CaseState, Vec<TimelineEntry>) {
    let mut state = CaseState::reported();
    let mut seen_report = false;
    let mut timeline = Vec::with_capacity(actions.len());
    for a in actions {
        let problem = if a.kind == ActionKind::Report {
            if seen_report {
                Some("a case is reported only once".to_string())
            } else {
                None
            }
        } else {
            check(&state, a, policy).err()
        };
        if a.kind == ActionKind::Report {
            seen_report = true;
        } else if problem.is_none() {
            rules::apply(&mut state, a, policy);
        }
        timeline.push(TimelineEntry {
            action: a.clone(),
            problem,
        });
    }
    (state, timeline)
}
