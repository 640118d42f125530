//! Issue 15, the due list and duplicates: an open follow-up that has come due appears in
//! `due` until it is ticked, a visit dated in the future is refused, and a household
//! registered twice is retired as a duplicate (names find the one kept, the duplicate
//! takes no visits, `--undo` lists it again).

// A failed unwrap is a failed test, with its location: that is what tests want.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use support::{date_in, fails, json, offline_handset, ok};

fn add(dir: &Path, head: &str, tier: &str) -> String {
    support::add_household(
        dir,
        &["--head", head, "--tier", tier, "--address", "2栋/1单元/302"],
    )
}

#[test]
fn an_overdue_follow_up_is_due_until_it_is_ticked() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    offline_handset(d, "lihua");
    let h = add(d, "陈桂兰", "green");
    let three_days_ago = format!("{} 09:00", date_in(-3));
    let follow_up = format!("送药上门@{}", date_in(-2));
    let v = json(
        d,
        &[
            "visit",
            "log",
            "--household",
            &h,
            "--notes",
            "血压偏高，药快吃完了",
            "--at",
            &three_days_ago,
            "--follow-up",
            &follow_up,
        ],
    );
    let visit = v["id"].as_str().unwrap().to_string();

    // Green and visited three days ago: due by its tier in 87 days, but the follow-up is
    // overdue since the end of the day before yesterday (Beijing time).
    let due = json(d, &["due"]);
    let due = due.as_array().unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0]["household"], h.as_str());
    assert_eq!(due[0]["follow_up"]["text"], "送药上门");
    assert_eq!(due[0]["follow_up"]["visit"], visit.as_str());
    let overdue = due[0]["days_overdue"].as_i64().unwrap();
    assert!((1..=2).contains(&overdue), "{overdue}");
    let table = ok(d, &["due"]);
    assert!(
        table.contains("送药上门") && table.contains("陈桂兰"),
        "{table}"
    );

    ok(d, &["visit", "done", &visit[..8], "0"]);
    let table = ok(d, &["due"]);
    assert!(table.contains("nobody is due"), "{table}");
}

#[test]
fn a_visit_dated_years_ahead_is_refused_and_the_household_stays_due() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    offline_handset(d, "lihua");
    let h = add(d, "赵德明", "red");
    let err = fails(
        d,
        &[
            "visit",
            "log",
            "--household",
            &h,
            "--notes",
            "走访",
            "--at",
            "2030-01-01 09:00",
        ],
    );
    assert!(err.contains("in the future"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    let due = json(d, &["due"]);
    assert_eq!(due[0]["household"], h.as_str(), "never visited: still due");
    assert_eq!(
        json(d, &["visit", "list", "--household", &h]),
        serde_json::json!([])
    );
}

#[test]
fn a_household_registered_twice_is_retired_as_a_duplicate_and_can_come_back() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    offline_handset(d, "lihua");
    let kept = add(d, "王秀英", "red");
    let twice = add(d, "王秀英", "red");
    let err = fails(d, &["household", "show", "王秀英"]);
    assert!(err.contains("2 households match"), "{err}");

    let out = ok(
        d,
        &["household", "retire", &twice[..8], "--duplicate-of", &kept],
    );
    assert!(
        out.contains("retired household") && out.contains("--undo"),
        "{out}"
    );
    let shown = json(d, &["household", "show", "王秀英"]);
    assert_eq!(
        shown["household"]["id"],
        kept.as_str(),
        "the name finds the one kept"
    );
    let listed = json(d, &["household", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let retired = json(d, &["household", "list", "--retired"]);
    assert_eq!(retired[0]["id"], twice.as_str());
    assert_eq!(retired[0]["retired"], true);
    let shown = ok(d, &["household", "show", &twice]);
    assert!(
        shown.contains("retired") && shown.contains(&kept),
        "{shown}"
    );
    let due = json(d, &["due"]);
    assert_eq!(due.as_array().unwrap().len(), 1, "only the one kept is due");

    let err = fails(
        d,
        &["visit", "log", "--household", &twice, "--notes", "走访"],
    );
    assert!(err.contains("retired") && err.contains(&kept), "{err}");
    let err = fails(d, &["household", "retire", &kept, "--duplicate-of", &twice]);
    assert!(err.contains("retired itself"), "{err}");

    ok(d, &["household", "retire", &twice, "--undo"]);
    assert_eq!(json(d, &["household", "list"]).as_array().unwrap().len(), 2);
    ok(
        d,
        &["visit", "log", "--household", &twice, "--notes", "走访"],
    );
}
