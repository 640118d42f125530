//! Unit tests of the workload generator.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashSet};

use gridsync_core::model::{Address, Role, Tier, TriageClass};
use gridsync_core::{DAY_MS, DocId, GridPath};

use super::{DUMMY_HOUSEHOLD, GridSpec, START_2024, Workload, WorkloadConfig, cases, notes, pools};

/// Two grids (urban and rural), a quarter year: big enough to exercise everything, small
/// enough for debug builds.
fn mixed(seed: u64) -> WorkloadConfig {
    WorkloadConfig {
        seed,
        grids: vec![GridSpec::urban_xinhua(), GridSpec::rural_dongmu()],
        households_per_grid: 150,
        visits: 1_500,
        cases: 300,
        start: START_2024,
        days: 90,
        conflicts: 20,
    }
}

fn json(w: &Workload) -> String {
    serde_json::to_string(w).unwrap()
}

#[test]
fn same_seed_same_workload() {
    let a = Workload::generate(&mixed(7));
    let b = Workload::generate(&mixed(7));
    assert_eq!(json(&a), json(&b));
    assert_eq!(a.postcard_bytes(), b.postcard_bytes());
    assert_eq!(a.households.len(), 300);
    assert_eq!(a.visits.len(), 1_500);
    assert_eq!(a.cases.len(), 300);
}

#[test]
fn different_seeds_differ() {
    let a = Workload::generate(&mixed(7));
    let b = Workload::generate(&mixed(8));
    assert_ne!(json(&a), json(&b));
    assert_ne!(
        a.households[0].head, b.households[0].head,
        "first heads should differ too"
    );
}

#[test]
fn tier_mix_matches_the_field() {
    let grids = (0..6)
        .map(|i| GridSpec {
            path: GridPath::parse(&format!("ankang/hanbin/laocheng/xinhua/g{i:02}")).unwrap(),
            rural: i % 2 == 1,
        })
        .collect();
    let config = WorkloadConfig {
        grids,
        households_per_grid: 500,
        visits: 0,
        cases: 0,
        ..mixed(11)
    };
    let w = Workload::generate(&config);
    assert_eq!(w.households.len(), 3_000);
    for (tier, target) in [(Tier::Green, 0.83), (Tier::Yellow, 0.11), (Tier::Red, 0.06)] {
        let share = w.households.iter().filter(|h| h.tier == tier).count() as f64 / 3_000.0;
        assert!(
            (share - target).abs() <= 0.03,
            "{tier:?}: {share:.3} vs {target}"
        );
    }
}

#[test]
fn notes_are_150_to_300_chars_and_varied() {
    let chars = notes::MIN_CHARS..=notes::MAX_CHARS;
    for seed in 0..4 {
        for v in Workload::generate(&mixed(seed)).visits {
            assert!(chars.contains(&v.notes.chars().count()), "{}", v.notes);
        }
    }
    let w = Workload::generate(&WorkloadConfig::grid_year());
    assert_eq!(w.visits.len(), 6_000);
    for v in &w.visits {
        assert!(chars.contains(&v.notes.chars().count()), "{}", v.notes);
        assert!(
            !v.notes.contains('{') && !v.notes.contains(':'),
            "unfilled: {}",
            v.notes
        );
    }
    let distinct: HashSet<&str> = w.visits.iter().map(|v| v.notes.as_str()).collect();
    assert!(
        distinct.len() * 100 >= w.visits.len() * 99,
        "only {} distinct notes",
        distinct.len()
    );
    let with_findings = w.visits.iter().filter(|v| !v.findings.is_empty()).count();
    let share = with_findings as f64 / w.visits.len() as f64;
    assert!(
        (0.25..=0.35).contains(&share),
        "{share:.3} of visits have findings"
    );
}

#[test]
fn red_households_are_visited_most() {
    let w = Workload::generate(&WorkloadConfig::grid_year());
    let mut per_tier: BTreeMap<Tier, (usize, usize)> = BTreeMap::new();
    for h in &w.households {
        per_tier.entry(h.tier).or_default().0 += 1;
    }
    for v in &w.visits {
        per_tier
            .entry(w.households[v.household].tier)
            .or_default()
            .1 += 1;
    }
    let rate = |t: Tier| per_tier[&t].1 as f64 / per_tier[&t].0 as f64;
    let (red, yellow, green) = (rate(Tier::Red), rate(Tier::Yellow), rate(Tier::Green));
    assert!(
        red > 2.0 * yellow && yellow > 2.0 * green,
        "red {red}, yellow {yellow}, green {green}"
    );
}

#[test]
fn times_fall_in_working_hours_of_the_period_and_are_sorted() {
    let w = Workload::generate(&mixed(3));
    let (start, end) = w.period();
    assert_eq!(end - start, 90 * DAY_MS);
    let local_minute = |t: i64| (t - start).rem_euclid(DAY_MS) / 60_000;
    for v in &w.visits {
        assert!((start..end).contains(&v.at));
        assert!((8 * 60 + 30..18 * 60).contains(&local_minute(v.at)));
        assert_eq!(v.findings.len(), v.follow_ups.len());
        for f in &v.follow_ups {
            assert!((3 * DAY_MS..=14 * DAY_MS).contains(&(f.due - v.at)) && !f.done);
        }
    }
    assert!(w.visits.windows(2).all(|p| p[0].at <= p[1].at));
    assert!(w.cases.iter().all(|c| (start..end).contains(&c.case.at)));
    assert!(w.cases.windows(2).all(|p| p[0].case.at <= p[1].case.at));
}

#[test]
fn households_look_like_the_field() {
    let w = Workload::generate(&mixed(5));
    let workers: HashSet<&str> = w.workers.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(workers.len(), w.workers.len(), "worker ids are unique");
    for (i, h) in w.households.iter().enumerate() {
        let spec = &w.config.grids[i / w.config.households_per_grid];
        assert_eq!(h.grid, spec.path);
        assert_eq!(matches!(h.address, Address::Rural { .. }), spec.rural);
        assert!((2..=3).contains(&h.head.chars().count()), "{}", h.head);
        assert!(h.head.chars().all(|c| !c.is_ascii()));
        assert!((1..=6).contains(&h.members.len()));
        assert_eq!(
            (h.members[0].name.as_str(), h.members[0].relation.as_str()),
            (h.head.as_str(), "户主")
        );
        assert!(
            h.members
                .iter()
                .all(|m| (1920..=2024).contains(&m.birth_year))
        );
        assert!(h.phone.is_empty() || (h.phone.len() == 11 && h.phone.starts_with('1')));
        assert!(!h.contacts.is_empty() && h.contacts.iter().all(|c| workers.contains(c.as_str())));
        let only = |pool: &[&str]| h.tags.iter().all(|t| pool.contains(&t.as_str()));
        match h.tier {
            Tier::Red => {
                let red: Vec<&str> = pools::RED_PRIMARY
                    .iter()
                    .chain(pools::RED_SECONDARY)
                    .copied()
                    .collect();
                assert!(!h.tags.is_empty() && only(&red), "{:?}", h.tags);
            }
            Tier::Yellow => assert!(!h.tags.is_empty() && only(pools::YELLOW_TAGS)),
            Tier::Green => assert!(h.tags.len() <= 1 && only(pools::GREEN_TAGS)),
        }
        if h.tags.iter().any(|t| t == "独居") {
            assert_eq!(h.members.len(), 1);
        }
    }
    let door = w
        .visits
        .iter()
        .filter(|v| v.mode == gridsync_core::model::VisitMode::DoorToDoor);
    for v in door {
        let g = v.geo.unwrap();
        assert!(
            (g.lat - 32.68).abs() < 0.1 && (g.lon - 109.02).abs() < 0.1,
            "{g:?}"
        );
    }
}

#[test]
fn cases_follow_the_catalogue() {
    let config = WorkloadConfig {
        cases: 3_000,
        visits: 0,
        ..mixed(9)
    };
    let w = Workload::generate(&config);
    assert_eq!(w.cases.len(), 3_000);
    let categories = [
        "矛盾纠纷",
        "环境卫生",
        "道路交通",
        "安全隐患",
        "民生服务",
        "政策咨询",
        "设施维修",
        "治安防范",
    ];
    let seen: HashSet<&str> = w.cases.iter().map(|c| c.case.category.as_str()).collect();
    assert_eq!(seen.len(), categories.len());
    for c in &w.cases {
        assert!(categories.contains(&c.case.category.as_str()));
        let n = c.case.description.chars().count();
        assert!(
            (cases::MIN_DESCRIPTION..=cases::MAX_DESCRIPTION).contains(&n),
            "{n}: {}",
            c.case.description
        );
        assert!(!c.case.title.contains('{') && !c.case.description.contains('{'));
        assert!(c.case.household.is_none());
        if let Some(h) = c.household {
            assert_eq!(w.households[h].grid, c.case.grid);
        }
    }
    for (class, target) in [
        (TriageClass::Big, 0.15),
        (TriageClass::Small, 0.45),
        (TriageClass::Private, 0.40),
    ] {
        let share = w.cases.iter().filter(|c| c.intended_class == class).count() as f64 / 3_000.0;
        assert!((share - target).abs() <= 0.03, "{class:?}: {share:.3}");
    }
    let by_workers = w
        .cases
        .iter()
        .filter(|c| c.case.role == Role::GridWorker)
        .count();
    assert!(by_workers * 10 >= w.cases.len() * 8);
}

#[test]
fn conflicts_edit_the_same_field_differently() {
    let w = Workload::generate(&mixed(13));
    assert_eq!(w.conflicts.len(), 20);
    assert!(
        w.conflicts
            .windows(2)
            .all(|p| p[0].household < p[1].household)
    );
    for c in &w.conflicts {
        let phone = (c.a.phone.is_some(), c.b.phone.is_some());
        let head = (c.a.head.is_some(), c.b.head.is_some());
        assert!(phone == (true, true) || head == (true, true), "{c:?}");
        assert_ne!(c.a, c.b);
        if let Some(head) = &c.a.head {
            let household = &w.households[c.household];
            let adult = |n: &str| {
                household
                    .members
                    .iter()
                    .any(|m| m.name == n && m.birth_year <= 2006)
            };
            let respelt = |n: &str| n.chars().count() == household.head.chars().count();
            assert!(adult(head) || respelt(head), "{head} heads {household:?}");
        }
    }
    assert_eq!(w.case_races.len(), 20);
    assert!(w.case_races.windows(2).all(|p| p[0] < p[1]));
    assert!(w.case_races.iter().all(|&i| i < w.cases.len()));
}

#[test]
fn presets_and_sizes() {
    assert!(
        DocId::parse(DUMMY_HOUSEHOLD).is_ok(),
        "placeholder id must be fixed"
    );
    let boot = Workload::generate(&WorkloadConfig::bootstrap());
    assert_eq!(
        (boot.households.len(), boot.visits.len(), boot.cases.len()),
        (300, 2_000, 300)
    );
    let offline = Workload::generate(&WorkloadConfig::five_days_offline());
    assert!(
        offline
            .households
            .iter()
            .all(|h| matches!(h.address, Address::Rural { .. }))
    );
    assert_eq!(offline.postcard_size(), offline.postcard_bytes().len());
    assert!(
        boot.postcard_size() > 300 * 100 + 2_000 * 400,
        "{}",
        boot.postcard_size()
    );
    let empty = WorkloadConfig {
        grids: Vec::new(),
        ..WorkloadConfig::bootstrap()
    };
    let nothing = Workload::generate(&empty);
    assert!(nothing.households.is_empty() && nothing.visits.is_empty() && nothing.cases.is_empty());
}

#[test]
fn pools_are_big_enough() {
    let surnames: HashSet<&str> = pools::SURNAMES.iter().copied().collect();
    assert!(surnames.len() >= 60);
    let given: HashSet<char> = pools::given_chars().into_iter().collect();
    assert!(given.len() >= 150);
    for pool in notes::ALL {
        assert!(pool.len() >= 4);
        assert!(
            pool.iter().all(|p| p.chars().count() <= 60),
            "phrase too long in {pool:?}"
        );
    }
}
