//! Households and visits: shape, author, write-once fields, tier history, references,
//! times and the follow-up horizon.

use super::*;

#[test]
fn a_household_must_have_the_shape_of_a_household() {
    let w = World::new();
    let id = DocId::new(DocKind::Household);
    let good = household_doc(&id, "王秀英", WORKER);
    assert_eq!(w.admit(&id, &empty(), &good, &[Role::GridWorker]), Ok(()));

    // The head of household is an integer.
    let bad = edit(&good, |tx| tx.put(ROOT, "head", 42_i64).unwrap());
    let e = w
        .admit(&id, &empty(), &bad, &[Role::GridWorker])
        .unwrap_err();
    assert!(
        matches!(
            e,
            Inadmissible::Shape {
                kind: "household",
                ..
            }
        ),
        "{e:?}"
    );

    // Readable, but its content fails the app's own checks (an empty head).
    let blank = household_doc(&id, " ", WORKER);
    let e = w
        .admit(&id, &empty(), &blank, &[Role::GridWorker])
        .unwrap_err();
    assert!(
        matches!(
            e,
            Inadmissible::Shape {
                kind: "household",
                ..
            }
        ),
        "{e:?}"
    );

    // A household's id holding a visit.
    let visit = visit_doc(&id, &new_visit(&w.g1, WORKER, NOW), G1);
    let e = w
        .admit(&id, &empty(), &visit, &[Role::GridWorker])
        .unwrap_err();
    assert!(
        matches!(
            e,
            Inadmissible::Shape {
                kind: "household",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn tier_changes_are_the_writers_and_not_in_the_future() {
    let w = World::new();
    let id = DocId::new(DocKind::Household);
    let e = w
        .admit(
            &id,
            &empty(),
            &household_doc(&id, "王秀英", "w-li"),
            &[Role::GridWorker],
        )
        .unwrap_err();
    assert!(matches!(e, Inadmissible::Author { .. }), "{e:?}");

    let before = household_doc(&id, "王秀英", WORKER);
    let change = |by: &str, at: Timestamp| {
        edit(&before, |tx| {
            let c = TierChange {
                tier: Tier::Red,
                by: by.into(),
                at,
                reason: "独居老人摔倒".into(),
            };
            household::change_tier(tx, &c).unwrap()
        })
    };
    let roles = [Role::GridWorker];
    assert_eq!(w.admit(&id, &before, &change(WORKER, NOW), &roles), Ok(()));
    // Within the clock skew allowed.
    let at = NOW + CLOCK_SKEW_MS;
    assert_eq!(w.admit(&id, &before, &change(WORKER, at), &roles), Ok(()));
    let e = w
        .admit(&id, &before, &change("w-li", NOW), &roles)
        .unwrap_err();
    assert!(matches!(e, Inadmissible::Author { named, .. } if named == "w-li"));
    let e = w
        .admit(&id, &before, &change(WORKER, at + 1), &roles)
        .unwrap_err();
    assert!(matches!(e, Inadmissible::Future { ahead_ms, .. } if ahead_ms == CLOCK_SKEW_MS + 1));
}

#[test]
fn tier_history_is_never_removed() {
    let w = World::new();
    let id = DocId::new(DocKind::Household);
    let before = household_doc(&id, "王秀英", WORKER);
    let edited = edit(&before, |tx| tx.put(ROOT, "phone", "13800000000").unwrap());
    assert_eq!(w.admit(&id, &before, &edited, &[Role::GridWorker]), Ok(()));

    let removed = edit(&before, |tx| {
        let list = req_obj(tx, &ROOT, "tier_history", ObjType::List).unwrap();
        tx.delete(&list, 0).unwrap();
    });
    let e = w
        .admit(&id, &before, &removed, &[Role::GridWorker])
        .unwrap_err();
    assert_eq!(e, Inadmissible::RemovesHistory("tier history"));
}

#[test]
fn a_retirement_is_the_writers_and_keeps_a_household_of_its_grid() {
    let w = World::new();
    let id = DocId::new(DocKind::Household);
    let before = household_doc(&id, "王秀英", WORKER);
    let retired = |by: &str, at: Timestamp, kept: Option<&DocId>| {
        edit(&before, |tx| {
            let r = Retirement {
                by: by.into(),
                at,
                duplicate_of: kept.cloned(),
                reason: String::new(),
            };
            household::retire(tx, &r).unwrap()
        })
    };
    let roles = [Role::GridWorker];
    let ok = retired(WORKER, NOW, Some(&w.g1));
    assert_eq!(w.admit(&id, &before, &ok, &roles), Ok(()));
    // Reinstating is a plain edit.
    let back = edit(&ok, |tx| household::reinstate(tx).unwrap());
    assert_eq!(w.admit(&id, &ok, &back, &roles), Ok(()));
    let e = w
        .admit(&id, &before, &retired("w-li", NOW, None), &roles)
        .unwrap_err();
    assert!(matches!(e, Inadmissible::Author { named, .. } if named == "w-li"));
    let e = w
        .admit(
            &id,
            &before,
            &retired(WORKER, NOW + CLOCK_SKEW_MS + 1, None),
            &roles,
        )
        .unwrap_err();
    assert!(matches!(e, Inadmissible::Future { .. }), "{e:?}");
    let e = w
        .admit(&id, &before, &retired(WORKER, NOW, Some(&w.g10)), &roles)
        .unwrap_err();
    assert!(matches!(e, Inadmissible::OutsideGrid { .. }), "{e:?}");
    let e = w
        .admit(&id, &before, &retired(WORKER, NOW, Some(&id)), &roles)
        .unwrap_err();
    assert!(matches!(e, Inadmissible::Shape { .. }), "{e:?}");
}

#[test]
fn a_visit_must_have_the_shape_of_a_visit() {
    let w = World::new();
    let id = DocId::new(DocKind::Visit);
    let good = visit_doc(&id, &new_visit(&w.g1, WORKER, NOW), G1);
    assert_eq!(w.admit(&id, &empty(), &good, &[Role::GridWorker]), Ok(()));
    let bad = edit(&good, |tx| tx.put(ROOT, "mode", "by_pigeon").unwrap());
    let e = w
        .admit(&id, &empty(), &bad, &[Role::GridWorker])
        .unwrap_err();
    assert!(
        matches!(e, Inadmissible::Shape { kind: "visit", .. }),
        "{e:?}"
    );
    let no_notes = visit_doc(
        &id,
        &NewVisit {
            notes: String::new(),
            ..new_visit(&w.g1, WORKER, NOW)
        },
        G1,
    );
    let e = w
        .admit(&id, &empty(), &no_notes, &[Role::GridWorker])
        .unwrap_err();
    assert!(
        matches!(e, Inadmissible::Shape { kind: "visit", .. }),
        "{e:?}"
    );
}

#[test]
fn a_visit_is_the_writers() {
    let w = World::new();
    let id = DocId::new(DocKind::Visit);
    let forged = visit_doc(&id, &new_visit(&w.g1, "w-li", NOW), G1);
    let e = w
        .admit(&id, &empty(), &forged, &[Role::GridWorker])
        .unwrap_err();
    assert!(
        matches!(&e, Inadmissible::Author { named, writer, .. } if named == "w-li" && writer == WORKER),
        "{e:?}"
    );
}

#[test]
fn a_visit_names_a_known_household_of_its_own_grid() {
    let w = World::new();
    let id = DocId::new(DocKind::Visit);
    let roles = [Role::GridWorker];
    // A g1 visit naming a g10 household (both grids granted).
    let cross = visit_doc(&id, &new_visit(&w.g10, WORKER, NOW), G1);
    let e = w.admit(&id, &empty(), &cross, &roles).unwrap_err();
    assert!(matches!(e, Inadmissible::OutsideGrid { household, .. } if household == w.g10));
    let same = visit_doc(&id, &new_visit(&w.g10, WORKER, NOW), G10);
    assert_eq!(w.admit(&id, &empty(), &same, &roles), Ok(()));

    let unknown = DocId::new(DocKind::Household);
    let v = visit_doc(&id, &new_visit(&unknown, WORKER, NOW), G1);
    let e = w.admit(&id, &empty(), &v, &roles).unwrap_err();
    assert!(matches!(e, Inadmissible::UnknownHousehold { .. }), "{e:?}");
    let v = visit_doc(&id, &new_visit(&w.case, WORKER, NOW), G1);
    let e = w.admit(&id, &empty(), &v, &roles).unwrap_err();
    assert!(matches!(e, Inadmissible::NotAHousehold { id, .. } if id == w.case));
}

#[test]
fn a_visit_is_not_dated_in_the_future() {
    let w = World::new();
    let id = DocId::new(DocKind::Visit);
    let roles = [Role::GridWorker];
    let soon = visit_doc(&id, &new_visit(&w.g1, WORKER, NOW + CLOCK_SKEW_MS), G1);
    assert_eq!(w.admit(&id, &empty(), &soon, &roles), Ok(()));
    let in_2100 = 4_102_444_800_000;
    let late = visit_doc(&id, &new_visit(&w.g1, WORKER, in_2100), G1);
    let e = w.admit(&id, &empty(), &late, &roles).unwrap_err();
    assert!(
        matches!(
            e,
            Inadmissible::Future {
                what: "the visit",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn a_follow_up_is_planned_at_most_730_days_ahead() {
    let w = World::new();
    let id = DocId::new(DocKind::Visit);
    let with_due = |due: Timestamp| {
        let mut v = new_visit(&w.g1, WORKER, NOW);
        v.follow_ups.push(FollowUp {
            text: "复查血压".into(),
            due,
            done: false,
        });
        visit_doc(&id, &v, G1)
    };
    let roles = [Role::GridWorker];
    let edge = with_due(NOW + MAX_PLAN_AHEAD_MS);
    assert_eq!(w.admit(&id, &empty(), &edge, &roles), Ok(()));
    let e = w
        .admit(
            &id,
            &empty(),
            &with_due(NOW + MAX_PLAN_AHEAD_MS + 1),
            &roles,
        )
        .unwrap_err();
    assert!(matches!(e, Inadmissible::PlanAhead { text } if text == "复查血压"));
}

#[test]
fn a_visits_household_worker_and_time_are_written_once() {
    let w = World::new();
    let id = DocId::new(DocKind::Visit);
    let mut v = new_visit(&w.g1, WORKER, NOW - 5000);
    v.follow_ups.push(FollowUp {
        text: "送药".into(),
        due: NOW,
        done: false,
    });
    let before = visit_doc(&id, &v, G1);
    let roles = [Role::GridWorker];
    let ticked = edit(&before, |tx| {
        visit::set_follow_up_done(tx, 0, true).unwrap()
    });
    assert_eq!(w.admit(&id, &before, &ticked, &roles), Ok(()));
    for (key, value) in [
        ("household", automerge::ScalarValue::from(w.g10.as_str())),
        ("worker", automerge::ScalarValue::from("w-li")),
        ("at", automerge::ScalarValue::Int(NOW - 1)),
    ] {
        let rewritten = edit(&before, |tx| tx.put(ROOT, key, value).unwrap());
        let e = w.admit(&id, &before, &rewritten, &roles).unwrap_err();
        assert!(matches!(e, Inadmissible::WriteOnce(_)), "{key}: {e:?}");
    }
}
