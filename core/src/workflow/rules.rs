//! Which action is valid in which status for which role, and what it does.

use super::{ActionKind, CaseAction, CaseState, CaseStatus, TriagePolicy};
use crate::model::{Role, TriageClass};

use CaseStatus::*;
use Role::*;

const STAFF: &[Role] = &[GridLeader, CommunityStaff, StreetStaff];
const HANDLERS: &[Role] = &[GridWorker, GridLeader, CommunityStaff, StreetStaff];

fn roles_for(kind: &ActionKind) -> &'static [Role] {
    match kind {
        ActionKind::Report | ActionKind::Comment { .. } => &Role::ALL,
        ActionKind::Accept | ActionKind::Assign { .. } => STAFF,
        ActionKind::Triage { .. } => STAFF,
        ActionKind::Start | ActionKind::Resolve { .. } => HANDLERS,
        ActionKind::Escalate { .. } => &[GridLeader, CommunityStaff, StreetStaff, Supervisor],
        ActionKind::Evaluate { .. } => &[Supervisor],
        ActionKind::Reject { .. } | ActionKind::Duplicate { .. } => &[CommunityStaff, StreetStaff],
    }
}

fn statuses_for(kind: &ActionKind) -> &'static [CaseStatus] {
    match kind {
        ActionKind::Report => &[],
        ActionKind::Comment { .. } => &CaseStatus::ALL,
        ActionKind::Accept => &[Reported],
        ActionKind::Triage { .. } => &[Accepted],
        ActionKind::Assign { .. } => &[Triaged, InProgress],
        ActionKind::Start => &[Triaged],
        ActionKind::Escalate { .. } => &[Triaged, InProgress],
        ActionKind::Resolve { .. } => &[InProgress],
        ActionKind::Evaluate { .. } => &[Resolved],
        ActionKind::Reject { .. } => &[Reported, Accepted],
        ActionKind::Duplicate { .. } => &[Reported, Accepted, Triaged],
    }
}

/// Whether the workflow lets `role` take actions of this kind at all (in some status).
pub fn role_may(role: Role, kind: &ActionKind) -> bool {
    roles_for(kind).contains(&role)
}

/// Whether `action` may be taken on a case in `state`; `Err` says why not, in words a
/// worker understands.
pub fn check(state: &CaseState, action: &CaseAction, _policy: &TriagePolicy) -> Result<(), String> {
    let kind = &action.kind;
    if !role_may(action.role, kind) {
        return Err(format!(
            "a {} may not {} a case",
            action.role.as_str(),
            kind.name()
        ));
    }
    if !statuses_for(kind).contains(&state.status) {
        return Err(format!(
            "cannot {} a case that is {}",
            kind.name(),
            state.status.as_str()
        ));
    }
    match kind {
        ActionKind::Triage { class, .. }
            if *class != TriageClass::Private && action.role == GridLeader =>
        {
            return Err("a grid leader may triage only private matters".into());
        }
        ActionKind::Escalate { beyond_level, .. } => {
            if state.level.and_then(|l| l.up()).is_none() {
                return Err("the case is already handled at street level".into());
            }
            if !beyond_level && !state.is_overdue(action.at) {
                return Err("only an overdue case, or one beyond its level, is escalated".into());
            }
        }
        ActionKind::Assign { assignee } if assignee.trim().is_empty() => {
            return Err("the assignee is empty".into());
        }
        _ => {}
    }
    Ok(())
}

/// The actions a role may take on a case in `state` now, by name (for the app's buttons).
pub fn allowed(state: &CaseState, role: Role) -> Vec<&'static str> {
    let samples = [
        ActionKind::Accept,
        ActionKind::Triage {
            class: TriageClass::Private,
            level: None,
            deadline: None,
            assignee: None,
        },
        ActionKind::Assign {
            assignee: "x".into(),
        },
        ActionKind::Start,
        ActionKind::Escalate {
            reason: String::new(),
            beyond_level: true,
        },
        ActionKind::Resolve {
            summary: String::new(),
        },
        ActionKind::Evaluate {
            satisfied: true,
            comment: String::new(),
        },
        ActionKind::Reject {
            reason: String::new(),
        },
        ActionKind::Duplicate {
            of: crate::ids::DocId::new(crate::ids::DocKind::Case),
        },
        ActionKind::Comment {
            text: String::new(),
        },
    ];
    samples
        .into_iter()
        .filter(|k| {
            let probe = CaseAction {
                id: String::new(),
                actor: String::new(),
                role,
                at: 0,
                kind: k.clone(),
            };
            check(state, &probe, &TriagePolicy::default()).is_ok()
        })
        .map(|k| k.name())
        .collect()
}

/// Applies a checked action to the state.
pub(super) fn apply(state: &mut CaseState, action: &CaseAction, policy: &TriagePolicy) {
    match &action.kind {
        ActionKind::Report | ActionKind::Comment { .. } => {}
        ActionKind::Accept => state.status = Accepted,
        ActionKind::Triage {
            class,
            level,
            deadline,
            assignee,
        } => {
            state.status = Triaged;
            state.class = Some(*class);
            state.level = Some(level.unwrap_or_else(|| TriagePolicy::default_level(*class)));
            state.deadline = Some(deadline.unwrap_or(action.at + policy.limit(*class)));
            if assignee.is_some() {
                state.assignee.clone_from(assignee);
            }
        }
        ActionKind::Assign { assignee } => state.assignee = Some(assignee.clone()),
        ActionKind::Start => state.status = InProgress,
        ActionKind::Escalate { .. } => {
            state.level = state.level.and_then(|l| l.up());
            state.escalations += 1;
            if let Some(class) = state.class {
                state.deadline = Some(action.at + policy.limit(class));
            }
        }
        ActionKind::Resolve { .. } => state.status = Resolved,
        ActionKind::Evaluate { satisfied, .. } => {
            if *satisfied {
                state.status = Closed;
            } else {
                state.status = InProgress;
                state.reopened += 1;
            }
        }
        ActionKind::Reject { .. } => state.status = Rejected,
        ActionKind::Duplicate { .. } => state.status = Duplicate,
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use crate::model::{Level, Role, TriageClass};

    fn act(n: u32, role: Role, at: i64, kind: ActionKind) -> CaseAction {
        CaseAction {
            id: format!("a{n:03}"),
            actor: format!("p{n}"),
            role,
            at,
            kind,
        }
    }

    fn report() -> CaseAction {
        act(0, Role::GridWorker, 0, ActionKind::Report)
    }

    fn triage(class: TriageClass) -> ActionKind {
        ActionKind::Triage {
            class,
            level: None,
            deadline: None,
            assignee: Some("w1".into()),
        }
    }

    #[test]
    fn full_loop_closes_and_unsatisfied_reopens() {
        let p = TriagePolicy::default();
        let mut t = vec![
            report(),
            act(1, Role::CommunityStaff, 10, ActionKind::Accept),
            act(2, Role::CommunityStaff, 20, triage(TriageClass::Small)),
            act(3, Role::GridWorker, 30, ActionKind::Start),
            act(
                4,
                Role::GridWorker,
                40,
                ActionKind::Resolve {
                    summary: "修好了".into(),
                },
            ),
            act(
                5,
                Role::Supervisor,
                50,
                ActionKind::Evaluate {
                    satisfied: false,
                    comment: "没修好".into(),
                },
            ),
        ];
        let (s, tl) = fold(&t, &p);
        assert!(tl.iter().all(|e| e.problem.is_none()), "{tl:?}");
        assert_eq!((s.status, s.reopened), (CaseStatus::InProgress, 1));
        assert_eq!(s.level, Some(Level::Community));
        assert_eq!(s.deadline, Some(20 + 7 * crate::ids::DAY_MS));
        t.push(act(
            6,
            Role::GridWorker,
            60,
            ActionKind::Resolve {
                summary: "again".into(),
            },
        ));
        t.push(act(
            7,
            Role::Supervisor,
            70,
            ActionKind::Evaluate {
                satisfied: true,
                comment: String::new(),
            },
        ));
        assert_eq!(fold(&t, &p).0.status, CaseStatus::Closed);
    }

    #[test]
    fn roles_are_enforced() {
        let p = TriagePolicy::default();
        let s = fold(&[report()], &p).0;
        let e = check(&s, &act(1, Role::GridWorker, 1, ActionKind::Accept), &p).unwrap_err();
        assert_eq!(e, "a grid_worker may not accept a case");
        let e = check(&s, &act(1, Role::CommunityStaff, 1, ActionKind::Start), &p).unwrap_err();
        assert_eq!(e, "cannot start a case that is reported");
        assert_eq!(
            allowed(&s, Role::CommunityStaff),
            ["accept", "reject", "duplicate", "comment"]
        );
        assert_eq!(allowed(&s, Role::GridWorker), ["comment"]);
    }

    #[test]
    fn escalation_needs_overdue_or_beyond_level() {
        let p = TriagePolicy::default();
        let t = vec![
            report(),
            act(1, Role::CommunityStaff, 10, ActionKind::Accept),
            act(2, Role::CommunityStaff, 20, triage(TriageClass::Private)),
        ];
        let s = fold(&t, &p).0;
        let early = act(
            3,
            Role::GridLeader,
            30,
            ActionKind::Escalate {
                reason: "slow".into(),
                beyond_level: false,
            },
        );
        assert!(check(&s, &early, &p).is_err());
        let late_at = 20 + 3 * crate::ids::DAY_MS + 1;
        let late = act(
            3,
            Role::GridLeader,
            late_at,
            ActionKind::Escalate {
                reason: "超期".into(),
                beyond_level: false,
            },
        );
        assert!(check(&s, &late, &p).is_ok());
        let mut t2 = t.clone();
        t2.push(late);
        let s2 = fold(&t2, &p).0;
        assert_eq!((s2.level, s2.escalations), (Some(Level::Community), 1));
        assert!(
            !s2.is_overdue(late_at + 1),
            "escalation sets a new deadline"
        );
    }

    #[test]
    fn escalate_is_not_offered_at_street_level() {
        let p = TriagePolicy::default();
        let t = vec![
            report(),
            act(1, Role::CommunityStaff, 10, ActionKind::Accept),
            act(2, Role::StreetStaff, 20, triage(TriageClass::Big)),
        ];
        let s = fold(&t, &p).0;
        assert_eq!(s.level, Some(Level::Street));
        assert!(!allowed(&s, Role::StreetStaff).contains(&"escalate"));
        let community = fold(
            &[
                report(),
                act(1, Role::CommunityStaff, 10, ActionKind::Accept),
                act(2, Role::CommunityStaff, 20, triage(TriageClass::Small)),
            ],
            &p,
        )
        .0;
        assert!(allowed(&community, Role::StreetStaff).contains(&"escalate"));
    }

    #[test]
    fn concurrent_conflicting_actions_both_stay_one_is_marked() {
        let p = TriagePolicy::default();
        let base = vec![
            report(),
            act(1, Role::CommunityStaff, 10, ActionKind::Accept),
        ];
        // Offline, one staff member rejects while another triages, at nearly the same time.
        let mut merged = base.clone();
        merged.push(act(
            7,
            Role::StreetStaff,
            20,
            ActionKind::Reject {
                reason: "不属实".into(),
            },
        ));
        merged.push(act(8, Role::CommunityStaff, 21, triage(TriageClass::Small)));
        let (s, tl) = fold(&merged, &p);
        assert_eq!(s.status, CaseStatus::Rejected);
        assert_eq!(tl.len(), 4);
        let marked: Vec<_> = tl.iter().filter(|e| e.problem.is_some()).collect();
        assert_eq!(marked.len(), 1);
        assert_eq!(marked[0].action.kind.name(), "triage");
        // Folded the other way round (the list order automerge picked), triage wins instead
        // and the reject is the one marked: either way both stay and one is flagged.
        merged.swap(2, 3);
        let (s2, tl2) = fold(&merged, &p);
        assert_eq!(s2.status, CaseStatus::Triaged);
        assert_eq!(tl2.iter().filter(|e| e.problem.is_some()).count(), 1);
    }
}
