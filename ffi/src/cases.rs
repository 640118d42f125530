//! Cases as they cross the boundary: the report, the actions of the closed loop
//! (accept → triage → handle → resolve → evaluate), the folded state and the timeline.
//! Mirrors `gridsync_core::model::Case` and `gridsync_core::workflow`; conversions live in
//! [`crate::convert`].

/// The three-way split 三事分流.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum TriageClass {
    /// 大事: government services, big projects; led by the street.
    Big,
    /// 小事: community-wide affairs; led by the residents' or villagers' committee.
    Small,
    /// 私事: a person's or one grid's own affairs.
    Private,
}

/// The level that handles a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Level {
    /// The grid itself.
    Grid,
    /// The community (residents' / villagers' committee).
    Community,
    /// The street / township and government departments.
    Street,
}

/// Who takes a case action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Role {
    /// 网格员.
    GridWorker,
    /// 网格长.
    GridLeader,
    /// Community staff 社区工作人员.
    CommunityStaff,
    /// Street staff 街道工作人员.
    StreetStaff,
    /// Democratic supervisor 民主监督员: evaluates how matters were handled.
    Supervisor,
}

/// Where a case stands (derived from its timeline, never stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
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

/// What a case action does, with its parameters.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ActionKind {
    /// The report itself; always the first timeline entry (use `reportCase` to make one).
    Report,
    /// Accept the case.
    Accept,
    /// Classify it; level and deadline default from the class.
    Triage {
        /// Big, small or private matter.
        triage_class: TriageClass,
        /// Handling level; `null` takes the class's default.
        level: Option<Level>,
        /// Deadline (ms); `null` takes the class's time limit from the triage time.
        deadline: Option<i64>,
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
        /// The case it duplicates (`c-…`).
        of_case: String,
    },
    /// A note on the timeline; changes nothing.
    Comment {
        /// The note.
        text: String,
    },
}

/// The name of an action, for the app's buttons (see `allowedActions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ActionName {
    /// [`ActionKind::Accept`].
    Accept,
    /// [`ActionKind::Triage`].
    Triage,
    /// [`ActionKind::Assign`].
    Assign,
    /// [`ActionKind::Start`].
    Start,
    /// [`ActionKind::Escalate`].
    Escalate,
    /// [`ActionKind::Resolve`].
    Resolve,
    /// [`ActionKind::Evaluate`].
    Evaluate,
    /// [`ActionKind::Reject`].
    Reject,
    /// [`ActionKind::Duplicate`].
    Duplicate,
    /// [`ActionKind::Comment`].
    Comment,
}

/// What the app supplies to report a case.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NewCase {
    /// The grid path the case belongs to.
    pub grid: String,
    /// The role reported in: one the handset's worker holds (the reporter is the worker
    /// the handset writes as, see `grants()`).
    pub role: Role,
    /// The household concerned (`h-…`), if any; it must be in `grid`.
    pub household: Option<String>,
    /// One line.
    pub title: String,
    /// The details.
    pub description: String,
    /// Kind of matter, from the community's triage catalogue (矛盾纠纷, 环境卫生 ...).
    pub category: String,
    /// When it was reported (ms).
    pub at: i64,
}

/// A step on a case as the app asks for it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CaseActionInput {
    /// In which role: one the handset's worker holds (who acts is the worker the handset
    /// writes as).
    pub role: Role,
    /// When (ms); `null` takes the device clock.
    #[uniffi(default)]
    pub at: Option<i64>,
    /// What.
    pub kind: ActionKind,
}

/// One entry of a case's timeline.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TimelineEntry {
    /// Unique id of the action.
    pub id: String,
    /// Who (worker id).
    pub actor: String,
    /// In which role.
    pub role: Role,
    /// When (ms).
    pub at: i64,
    /// What.
    pub kind: ActionKind,
    /// Why it did not apply, when a merge made it invalid (it stays in the history).
    pub problem: Option<String>,
}

/// A case: what was reported, its folded state and its whole timeline.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Case {
    /// Its id (`c-…`).
    pub id: String,
    /// Its grid path.
    pub grid: String,
    /// Who reported it.
    pub reporter: String,
    /// The household concerned.
    pub household: Option<String>,
    /// One line.
    pub title: String,
    /// Details.
    pub description: String,
    /// Kind of matter.
    pub category: String,
    /// When reported (ms).
    pub reported_at: i64,
    /// Current status.
    pub status: CaseStatus,
    /// Triage class once triaged.
    pub triage_class: Option<TriageClass>,
    /// Handling level once triaged.
    pub level: Option<Level>,
    /// Who handles it.
    pub assignee: Option<String>,
    /// Deadline (ms) once triaged.
    pub deadline: Option<i64>,
    /// How often it was escalated.
    pub escalations: u32,
    /// How often an evaluation reopened it.
    pub reopened: u32,
    /// Some action became invalid after a merge; a person should review the case.
    pub needs_review: bool,
    /// Every action, in fold order, invalid ones marked.
    pub timeline: Vec<TimelineEntry>,
}

/// What a case list shows.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CaseSummary {
    /// Case id.
    pub id: String,
    /// Grid path.
    pub grid: String,
    /// Title.
    pub title: String,
    /// Category.
    pub category: String,
    /// Status.
    pub status: CaseStatus,
    /// Triage class.
    pub triage_class: Option<TriageClass>,
    /// Handling level.
    pub level: Option<Level>,
    /// Assignee.
    pub assignee: Option<String>,
    /// Deadline (ms).
    pub deadline: Option<i64>,
    /// When reported (ms).
    pub reported_at: i64,
    /// Household concerned.
    pub household: Option<String>,
    /// Has an action invalidated by a merge.
    pub needs_review: bool,
}

/// Which cases `listCases` returns; every field narrows the list, the empty filter
/// returns every case, newest report first.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct CaseFilter {
    /// Only cases in this status.
    #[uniffi(default)]
    pub status: Option<CaseStatus>,
    /// Only open cases (not closed, rejected or duplicate).
    #[uniffi(default = false)]
    pub open_only: bool,
    /// Only cases of this triage class.
    #[uniffi(default)]
    pub triage_class: Option<TriageClass>,
    /// Only open cases whose deadline passed before this time (ms).
    #[uniffi(default)]
    pub overdue_at: Option<i64>,
    /// Only cases in this grid subtree.
    #[uniffi(default)]
    pub grid: Option<String>,
}
