//! Replicas that work offline and exchange changes in any order end identical, with no
//! operation lost; concurrent edits surface as conflicts and review items.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use gridsync_core::model::household::RESOLVED_REASON;
use gridsync_core::model::{FieldValue, HouseholdField, HouseholdUpdate, Role, Tier, TriageClass};
use gridsync_core::replica::{CaseActionInput, CaseFilter};
use gridsync_core::workflow::{ActionKind, CaseStatus};
use gridsync_core::{DocId, Replica};
use proptest::prelude::*;

/// Sends every local change of `from` to `to`, in the order given by `order` (a
/// permutation seed), only the first `take` of them.
fn deliver(from: &Replica, to: &Replica, seed: u64, take: usize) {
    let mut items = from.outbox_after(None, usize::MAX).unwrap();
    // A deterministic shuffle from the seed (Fisher-Yates with an LCG).
    let mut s = seed | 1;
    for i in (1..items.len()).rev() {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        items.swap(i, (s >> 33) as usize % (i + 1));
    }
    for item in items.into_iter().take(take) {
        let c = item.change;
        to.apply_changes(&c.doc, &c.grid, &[c.bytes]).unwrap();
    }
}

fn exchange_all(rs: &[Replica], seed: u64) {
    for (i, a) in rs.iter().enumerate() {
        for (j, b) in rs.iter().enumerate() {
            if i != j {
                deliver(a, b, seed ^ ((i * 31 + j) as u64), usize::MAX);
            }
        }
    }
}

fn snapshot(r: &Replica) -> String {
    let hh = r.list_households(None).unwrap();
    let cases = r.list_cases(&CaseFilter::default()).unwrap();
    let mut out = format!("{hh:?}\n{cases:?}\n");
    // The due list reads each household's latest visit from its own index entry; it must
    // agree with the household's visits however the changes arrived.
    let due = r.due_visits(None, i64::MAX / 2, 0).unwrap();
    for d in &due {
        let newest = r.visits_of(&d.household, 1).unwrap().first().map(|v| v.at);
        assert_eq!(d.last_visit, newest, "latest visit of {}", d.household);
    }
    out += &format!("{due:?}\n");
    for h in &hh {
        out += &format!(
            "{:?} {:?}\n",
            r.heads(&h.id).unwrap(),
            r.visits_of(&h.id, usize::MAX).unwrap()
        );
        out += &format!("{:?}\n", r.household_conflicts(&h.id).unwrap());
    }
    for c in &cases {
        out += &format!("{:?}\n", r.case(&c.id).unwrap());
    }
    out
}

#[test]
fn concurrent_phone_edits_surface_and_resolve() {
    let clock = TestClock::new(T0);
    let (a, b) = (memory_replica("a", &clock), memory_replica("b", &clock));
    let id = a
        .register_household(&household("王", Tier::Yellow, "w"), "w")
        .unwrap();
    deliver(&a, &b, 1, usize::MAX);
    let phone = |p: &str| HouseholdUpdate {
        phone: Some(p.into()),
        ..Default::default()
    };
    a.update_household(&id, &phone("13800000001")).unwrap();
    b.update_household(&id, &phone("13900000002")).unwrap();
    deliver(&a, &b, 2, usize::MAX);
    deliver(&b, &a, 3, usize::MAX);
    let ca = a.household_conflicts(&id).unwrap();
    assert_eq!(
        ca,
        b.household_conflicts(&id).unwrap(),
        "both sides see the same conflict"
    );
    assert_eq!(ca.len(), 1);
    assert_eq!(ca[0].field, HouseholdField::Phone);
    let mut values = ca[0].values.clone();
    values.sort_by_key(|v| format!("{v:?}"));
    assert_eq!(
        values,
        [
            FieldValue::Text("13800000001".into()),
            FieldValue::Text("13900000002".into())
        ]
    );
    let pick = ca[0]
        .values
        .iter()
        .position(|v| *v == FieldValue::Text("13900000002".into()))
        .unwrap();
    a.resolve_conflict(&id, HouseholdField::Phone, pick)
        .unwrap();
    deliver(&a, &b, 4, usize::MAX);
    for r in [&a, &b] {
        assert!(r.household_conflicts(&id).unwrap().is_empty());
        assert_eq!(r.household(&id).unwrap().phone, "13900000002");
    }
}

#[test]
fn concurrent_tier_changes_conflict_and_both_stay_in_the_history() {
    let clock = TestClock::new(T0);
    let (a, b) = (memory_replica("a", &clock), memory_replica("b", &clock));
    let id = a
        .register_household(&household("王", Tier::Yellow, "w"), "w")
        .unwrap();
    deliver(&a, &b, 1, usize::MAX);
    clock.advance_days(1);
    a.change_tier(&id, Tier::Red, "w-wang", "独居老人摔伤")
        .unwrap();
    clock.advance_days(1);
    // The later change by the clock wins nothing by being later.
    b.change_tier(&id, Tier::Green, "w-li", "子女返乡照料")
        .unwrap();
    deliver(&a, &b, 2, usize::MAX);
    deliver(&b, &a, 3, usize::MAX);
    let ca = a.household_conflicts(&id).unwrap();
    assert_eq!(ca, b.household_conflicts(&id).unwrap(), "the same on both");
    assert_eq!(ca.len(), 1, "{ca:?}");
    assert_eq!(ca[0].field, HouseholdField::Tier);
    let mut values = ca[0].values.clone();
    values.sort_by_key(|v| format!("{v:?}"));
    assert_eq!(
        values,
        [FieldValue::Tier(Tier::Green), FieldValue::Tier(Tier::Red)]
    );
    let shown = a.household(&id).unwrap();
    for r in [&a, &b] {
        let h = r.household(&id).unwrap();
        let reasons: Vec<&str> = h.tier_history.iter().map(|c| c.reason.as_str()).collect();
        assert_eq!(reasons, ["登记", "独居老人摔伤", "子女返乡照料"]);
        assert_eq!(h.tier, shown.tier, "one tier in force on both, in conflict");
        let listed = r.list_households(None).unwrap();
        assert_eq!(listed[0].tier, h.tier, "the index agrees");
        let due = r.due_visits(None, i64::MAX / 2, 0).unwrap();
        assert_eq!(due[0].tier, h.tier, "the due list agrees");
    }
    // Choose the tier not in force, so the choice is seen to take effect.
    let (chosen, other) = match shown.tier {
        Tier::Green => (Tier::Red, Tier::Green),
        _ => (Tier::Green, Tier::Red),
    };
    let pick = ca[0]
        .values
        .iter()
        .position(|v| *v == FieldValue::Tier(chosen))
        .unwrap();
    clock.advance_days(1);
    b.resolve_conflict(&id, HouseholdField::Tier, pick).unwrap();
    deliver(&b, &a, 4, usize::MAX);
    for r in [&a, &b] {
        assert!(r.household_conflicts(&id).unwrap().is_empty());
        let h = r.household(&id).unwrap();
        assert_eq!(h.tier, chosen);
        assert_eq!(r.list_households(None).unwrap()[0].tier, chosen);
        assert_eq!(h.tier_history.len(), 4, "{:?}", h.tier_history);
        let settled = h.tier_history.last().unwrap();
        assert_eq!((settled.tier, settled.by.as_str()), (chosen, "b"));
        assert_eq!(
            settled.reason,
            format!(
                "{RESOLVED_REASON}: {} chosen over {}",
                chosen.as_str(),
                other.as_str()
            )
        );
    }
}

#[test]
fn concurrent_case_actions_both_survive_and_one_is_flagged() {
    let clock = TestClock::new(T0);
    let (a, b) = (memory_replica("a", &clock), memory_replica("b", &clock));
    let id = a.report_case(&case("w", T0)).unwrap();
    let act = |role, kind| CaseActionInput {
        actor: "s".into(),
        role,
        at: None,
        kind,
    };
    a.act_on_case(&id, &act(Role::CommunityStaff, ActionKind::Accept))
        .unwrap();
    deliver(&a, &b, 1, usize::MAX);
    a.act_on_case(
        &id,
        &act(
            Role::StreetStaff,
            ActionKind::Reject {
                reason: "不属实".into(),
            },
        ),
    )
    .unwrap();
    let triage = ActionKind::Triage {
        class: TriageClass::Small,
        level: None,
        deadline: None,
        assignee: None,
    };
    b.act_on_case(&id, &act(Role::CommunityStaff, triage))
        .unwrap();
    deliver(&a, &b, 2, usize::MAX);
    deliver(&b, &a, 3, usize::MAX);
    let (ca, cb) = (a.case(&id).unwrap(), b.case(&id).unwrap());
    assert_eq!(ca, cb);
    assert_eq!(
        ca.timeline.len(),
        4,
        "both offline actions are in the history"
    );
    assert_eq!(
        ca.timeline.iter().filter(|e| e.problem.is_some()).count(),
        1
    );
    assert!(matches!(
        ca.state.status,
        CaseStatus::Rejected | CaseStatus::Triaged
    ));
    for r in [&a, &b] {
        assert_eq!(r.cases_for_review().unwrap().len(), 1);
    }
}

#[derive(Debug, Clone)]
enum Op {
    Register {
        r: usize,
        tier: u8,
    },
    Phone {
        r: usize,
        h: usize,
        n: u32,
    },
    Tier {
        r: usize,
        h: usize,
        tier: u8,
    },
    Visit {
        r: usize,
        h: usize,
    },
    Report {
        r: usize,
    },
    Act {
        r: usize,
        c: usize,
        step: u8,
    },
    Deliver {
        from: usize,
        to: usize,
        seed: u64,
        take: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let r = 0..3usize;
    prop_oneof![
        (r.clone(), 0..3u8).prop_map(|(r, tier)| Op::Register { r, tier }),
        (r.clone(), any::<usize>(), 0..3u32).prop_map(|(r, h, n)| Op::Phone { r, h, n }),
        (r.clone(), any::<usize>(), 0..3u8).prop_map(|(r, h, tier)| Op::Tier { r, h, tier }),
        (r.clone(), any::<usize>()).prop_map(|(r, h)| Op::Visit { r, h }),
        r.clone().prop_map(|r| Op::Report { r }),
        (r.clone(), any::<usize>(), 0..6u8).prop_map(|(r, c, step)| Op::Act { r, c, step }),
        (r.clone(), r, any::<u64>(), 0..20usize).prop_map(|(from, to, seed, take)| Op::Deliver {
            from,
            to,
            seed,
            take
        }),
    ]
}

fn tier(n: u8) -> Tier {
    [Tier::Green, Tier::Yellow, Tier::Red][n as usize % 3]
}

fn step(n: u8) -> (Role, ActionKind) {
    match n {
        0 => (Role::CommunityStaff, ActionKind::Accept),
        1 => (
            Role::CommunityStaff,
            ActionKind::Triage {
                class: TriageClass::Private,
                level: None,
                deadline: None,
                assignee: None,
            },
        ),
        2 => (Role::GridWorker, ActionKind::Start),
        3 => (
            Role::GridWorker,
            ActionKind::Resolve {
                summary: "办结".into(),
            },
        ),
        4 => (
            Role::StreetStaff,
            ActionKind::Reject {
                reason: "重复上报".into(),
            },
        ),
        _ => (
            Role::GridWorker,
            ActionKind::Comment {
                text: "跟进中".into(),
            },
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn replicas_converge_in_any_delivery_order(ops in proptest::collection::vec(op(), 1..60), seed in any::<u64>()) {
        let clock = TestClock::new(T0);
        let rs: Vec<Replica> = (0..3).map(|i| memory_replica(&format!("d{i}"), &clock)).collect();
        let mut visits: Vec<DocId> = Vec::new();
        let mut households: Vec<DocId> = Vec::new();
        let mut accepted_actions = std::collections::HashMap::<DocId, usize>::new();
        for op in ops {
            clock.advance_days(1);
            match op {
                Op::Register { r, tier: t } => {
                    households.push(rs[r].register_household(&household("户主", tier(t), "w"), "w").unwrap());
                }
                Op::Phone { r, h, n } => {
                    let hh = rs[r].list_households(None).unwrap();
                    if hh.is_empty() { continue; }
                    let u = HouseholdUpdate { phone: Some(format!("1390000000{n}")), ..Default::default() };
                    rs[r].update_household(&hh[h % hh.len()].id, &u).unwrap();
                }
                Op::Tier { r, h, tier: t } => {
                    let hh = rs[r].list_households(None).unwrap();
                    if hh.is_empty() { continue; }
                    rs[r].change_tier(&hh[h % hh.len()].id, tier(t), "w", "复核").unwrap();
                }
                Op::Visit { r, h } => {
                    let hh = rs[r].list_households(None).unwrap();
                    if hh.is_empty() { continue; }
                    visits.push(rs[r].log_visit(&visit(&hh[h % hh.len()].id, "w", clock.now())).unwrap());
                }
                Op::Report { r } => {
                    let id = rs[r].report_case(&case("w", clock.now())).unwrap();
                    accepted_actions.insert(id, 1);
                }
                Op::Act { r, c, step: s } => {
                    let cases = rs[r].list_cases(&CaseFilter::default()).unwrap();
                    if cases.is_empty() { continue; }
                    let (role, kind) = step(s);
                    let id = cases[c % cases.len()].id.clone();
                    let input = CaseActionInput { actor: "s".into(), role, at: None, kind };
                    if rs[r].act_on_case(&id, &input).is_ok() {
                        *accepted_actions.entry(id).or_default() += 1;
                    }
                }
                Op::Deliver { from, to, seed, take } => {
                    if from != to { deliver(&rs[from], &rs[to], seed, take); }
                }
            }
        }
        exchange_all(&rs, seed);
        let first = snapshot(&rs[0]);
        for r in &rs[1..] {
            prop_assert_eq!(&snapshot(r), &first);
        }
        for r in &rs {
            prop_assert_eq!(r.list_households(None).unwrap().len(), households.len());
            for v in &visits {
                prop_assert!(r.visit(v).is_ok(), "visit {} lost", v);
            }
            for (c, n) in &accepted_actions {
                prop_assert_eq!(r.case(c).unwrap().timeline.len(), *n, "actions lost on case {}", c);
            }
        }
    }
}
