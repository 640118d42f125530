//! Cases: shape, author, role held, workflow, write-once header, timeline kept,
//! references and times.

use super::*;

fn evaluate() -> ActionKind {
    ActionKind::Evaluate {
        satisfied: true,
        comment: "处理及时，居民满意。".into(),
    }
}

#[test]
fn a_case_must_have_the_shape_of_a_case() {
    let w = World::new();
    let id = DocId::new(DocKind::Case);
    let good = case_doc(&id, &new_case(WORKER, None, NOW));
    assert_eq!(w.admit(&id, &empty(), &good, &[Role::GridWorker]), Ok(()));

    // A case id holding a household.
    let household = household_doc(&id, "王秀英", WORKER);
    let e = w
        .admit(&id, &empty(), &household, &[Role::GridWorker])
        .unwrap_err();
    assert!(
        matches!(e, Inadmissible::Shape { kind: "case", .. }),
        "{e:?}"
    );
    // A timeline entry in a role that does not exist.
    let bad_role = edit(&good, |tx| {
        let list = req_obj(tx, &ROOT, "timeline", ObjType::List).unwrap();
        let first = tx.get(&list, 0).unwrap().unwrap().1;
        tx.put(&first, "role", "mayor").unwrap();
    });
    let e = w
        .admit(&id, &empty(), &bad_role, &[Role::GridWorker])
        .unwrap_err();
    assert!(
        matches!(e, Inadmissible::Shape { kind: "case", .. }),
        "{e:?}"
    );
    // An empty title fails the app's own checks.
    let untitled = case_doc(
        &id,
        &NewCase {
            title: String::new(),
            ..new_case(WORKER, None, NOW)
        },
    );
    let e = w
        .admit(&id, &empty(), &untitled, &[Role::GridWorker])
        .unwrap_err();
    assert!(
        matches!(e, Inadmissible::Shape { kind: "case", .. }),
        "{e:?}"
    );
}

#[test]
fn a_case_and_its_actions_are_the_writers() {
    let w = World::new();
    let id = DocId::new(DocKind::Case);
    let e = w
        .admit(
            &id,
            &empty(),
            &case_doc(&id, &new_case("w-li", None, NOW)),
            &[Role::GridWorker],
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            Inadmissible::Author {
                what: "the case",
                ..
            }
        ),
        "{e:?}"
    );

    let before = case_doc(&id, &new_case(WORKER, None, NOW - 5000));
    let mine = with_action(
        &before,
        &action(WORKER, Role::CommunityStaff, NOW, ActionKind::Accept),
    );
    let roles = [Role::CommunityStaff];
    assert_eq!(w.admit(&id, &before, &mine, &roles), Ok(()));
    let forged = with_action(
        &before,
        &action("w-li", Role::CommunityStaff, NOW, ActionKind::Accept),
    );
    let e = w.admit(&id, &before, &forged, &roles).unwrap_err();
    assert!(
        matches!(
            e,
            Inadmissible::Author {
                what: "the case action",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn a_case_action_is_taken_in_a_role_the_writer_holds() {
    let w = World::new();
    let id = DocId::new(DocKind::Case);
    let before = case_doc(&id, &new_case(WORKER, None, NOW - 5000));
    let after = with_action(&before, &action(WORKER, Role::Supervisor, NOW, evaluate()));
    assert_eq!(w.admit(&id, &before, &after, &[Role::Supervisor]), Ok(()));
    let e = w
        .admit(&id, &before, &after, &[Role::GridWorker, Role::GridLeader])
        .unwrap_err();
    assert!(
        matches!(
            e,
            Inadmissible::RoleNotHeld {
                role: Role::Supervisor,
                ..
            }
        ),
        "{e:?}"
    );
    // The report itself, in a role not held.
    let report = case_doc(
        &id,
        &NewCase {
            role: Role::StreetStaff,
            ..new_case(WORKER, None, NOW)
        },
    );
    let e = w
        .admit(&id, &empty(), &report, &[Role::GridWorker])
        .unwrap_err();
    assert!(
        matches!(
            e,
            Inadmissible::RoleNotHeld {
                role: Role::StreetStaff,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn the_workflow_decides_which_role_takes_which_action() {
    let w = World::new();
    let id = DocId::new(DocKind::Case);
    let before = case_doc(&id, &new_case(WORKER, None, NOW - 5000));
    // Every role is held: only the workflow refuses.
    for role in Role::ALL {
        for kind in [ActionKind::Accept, evaluate(), ActionKind::Start] {
            let after = with_action(&before, &action(WORKER, role, NOW, kind.clone()));
            let got = w.admit(&id, &before, &after, &Role::ALL);
            if workflow::role_may(role, &kind) {
                assert_eq!(got, Ok(()), "{role:?} {}", kind.name());
            } else {
                assert_eq!(
                    got,
                    Err(Inadmissible::Workflow {
                        role,
                        action: kind.name()
                    })
                );
            }
        }
    }
}

#[test]
fn a_cases_reporter_and_household_are_written_once() {
    let w = World::new();
    let id = DocId::new(DocKind::Case);
    let before = case_doc(&id, &new_case(WORKER, Some(w.g1.clone()), NOW - 5000));
    let roles = [Role::GridWorker];
    let comment = ActionKind::Comment {
        text: "已联系物业".into(),
    };
    let commented = with_action(&before, &action(WORKER, Role::GridWorker, NOW, comment));
    assert_eq!(w.admit(&id, &before, &commented, &roles), Ok(()));
    for (key, value) in [("reporter", "w-li"), ("household", w.g10.as_str())] {
        let rewritten = edit(&before, |tx| tx.put(ROOT, key, value).unwrap());
        let e = w.admit(&id, &before, &rewritten, &roles).unwrap_err();
        assert!(matches!(e, Inadmissible::WriteOnce(_)), "{key}: {e:?}");
    }
}

#[test]
fn timeline_entries_are_never_removed() {
    let w = World::new();
    let id = DocId::new(DocKind::Case);
    let before = case_doc(&id, &new_case(WORKER, None, NOW - 5000));
    let removed = edit(&before, |tx| {
        let list = req_obj(tx, &ROOT, "timeline", ObjType::List).unwrap();
        tx.delete(&list, 0).unwrap();
    });
    let e = w
        .admit(&id, &before, &removed, &[Role::GridWorker])
        .unwrap_err();
    assert_eq!(e, Inadmissible::RemovesHistory("timeline entries"));
}

#[test]
fn a_case_names_a_household_of_its_grid_and_a_duplicate_it_may_see() {
    let w = World::new();
    let id = DocId::new(DocKind::Case);
    let roles = [Role::GridWorker];
    let own = case_doc(&id, &new_case(WORKER, Some(w.g1.clone()), NOW));
    assert_eq!(w.admit(&id, &empty(), &own, &roles), Ok(()));
    let cross = case_doc(&id, &new_case(WORKER, Some(w.g10.clone()), NOW));
    let e = w.admit(&id, &empty(), &cross, &roles).unwrap_err();
    assert!(
        matches!(
            e,
            Inadmissible::OutsideGrid {
                what: "the case",
                ..
            }
        ),
        "{e:?}"
    );

    let before = case_doc(&id, &new_case(WORKER, None, NOW - 5000));
    let dup = |of: &DocId| {
        let kind = ActionKind::Duplicate { of: of.clone() };
        with_action(&before, &action(WORKER, Role::CommunityStaff, NOW, kind))
    };
    let staff = [Role::CommunityStaff];
    assert_eq!(w.admit(&id, &before, &dup(&w.case), &staff), Ok(()));
    let unseen = DocId::new(DocKind::Case);
    let e = w.admit(&id, &before, &dup(&unseen), &staff).unwrap_err();
    assert_eq!(e, Inadmissible::DuplicateNotVisible { of: unseen });
    // A household is not a case, even a visible one.
    let e = w.admit(&id, &before, &dup(&w.g1), &staff).unwrap_err();
    assert!(
        matches!(e, Inadmissible::DuplicateNotVisible { .. }),
        "{e:?}"
    );
}

#[test]
fn a_case_and_its_actions_are_not_dated_in_the_future() {
    let w = World::new();
    let id = DocId::new(DocKind::Case);
    let roles = [Role::GridWorker];
    let late = case_doc(&id, &new_case(WORKER, None, NOW + CLOCK_SKEW_MS + 1));
    let e = w.admit(&id, &empty(), &late, &roles).unwrap_err();
    assert!(
        matches!(
            e,
            Inadmissible::Future {
                what: "the case",
                ..
            }
        ),
        "{e:?}"
    );

    let before = case_doc(&id, &new_case(WORKER, None, NOW));
    let at = |t: Timestamp| {
        let kind = ActionKind::Comment {
            text: "已上门核实".into(),
        };
        with_action(&before, &action(WORKER, Role::GridWorker, t, kind))
    };
    assert_eq!(
        w.admit(&id, &before, &at(NOW + CLOCK_SKEW_MS), &roles),
        Ok(())
    );
    let e = w
        .admit(&id, &before, &at(NOW + CLOCK_SKEW_MS + 1), &roles)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Inadmissible::Future {
                what: "the case action",
                ..
            }
        ),
        "{e:?}"
    );
}
