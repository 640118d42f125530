//! Cases 事件 across the triage catalogue's categories, each with the class it should be
//! triaged to, a title and a 60-200 character description (pools in `case_pools`).

use gridsync_core::model::{Address, NewCase, NewHousehold, Role, TriageClass};
use rand::Rng;
use rand::seq::SliceRandom;

use super::case_pools::{ACTION, Area, EXTRA, REQUEST, SOURCE, TEMPLATES};
use super::households::crew;
use super::pools::{self, pick};
use super::visits::work_time;
use super::{PlannedCase, PlannedWorker, WorkloadConfig};

/// Intended class mix in per cent: big, small, private.
pub const CLASS_MIX: [(TriageClass, u32); 3] = [
    (TriageClass::Big, 15),
    (TriageClass::Small, 45),
    (TriageClass::Private, 40),
];

/// Shortest description, in characters.
pub const MIN_DESCRIPTION: usize = 60;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 200;

/// `config.cases` cases, sorted by report time.
pub fn generate<R: Rng>(
    rng: &mut R,
    config: &WorkloadConfig,
    households: &[NewHousehold],
    workers: &[PlannedWorker],
) -> Vec<PlannedCase> {
    let mut cases = Vec::with_capacity(config.cases);
    if config.grids.is_empty() {
        return cases;
    }
    let per_grid = config.households_per_grid;
    let weights: Vec<u32> = CLASS_MIX.iter().map(|c| c.1).collect();
    for _ in 0..config.cases {
        let class = CLASS_MIX[pools::weighted(rng, &weights)].0;
        let grid = rng.random_range(0..config.grids.len());
        let rural = config.grids[grid].rural;
        let in_grid = grid * per_grid..((grid + 1) * per_grid).min(households.len());
        let fits = |t: &&(&str, TriageClass, Area, &str, &str)| {
            t.1 == class
                && (t.2 == Area::Any || (t.2 == Area::Rural) == rural)
                && (!t.4.contains("{h}") || !in_grid.is_empty())
        };
        let candidates: Vec<_> = TEMPLATES.iter().filter(fits).collect();
        let Some(&&(category, _, _, title, description)) =
            candidates.get(rng.random_range(0..candidates.len().max(1)))
        else {
            continue;
        };
        let concerns = description.contains("{h}")
            || (!in_grid.is_empty()
                && rng.random_bool(if class == TriageClass::Private {
                    0.3
                } else {
                    0.1
                }));
        let household = concerns.then(|| rng.random_range(in_grid.clone()));
        let head = household
            .and_then(|i| households.get(i))
            .map_or("", |h| h.head.as_str());
        let place = match household
            .and_then(|i| households.get(i))
            .map(|h| &h.address)
        {
            Some(Address::Urban { building, .. }) => building.clone(),
            Some(Address::Rural { courtyard, .. }) => courtyard.clone(),
            None if rural => pick(rng, pools::RURAL_PLACES).to_string(),
            None => pick(rng, pools::URBAN_PLACES).to_string(),
        };
        let (reporter, role) = reporter(rng, crew(workers, grid));
        let title = pools::fill(rng, &title.replace("{p}", &place), head, 1);
        let description = describe(rng, &description.replace("{p}", &place), head, class);
        let at = work_time(rng, config.start, config.days);
        let case = NewCase {
            grid: config.grids[grid].path.clone(),
            reporter,
            role,
            household: None,
            title,
            description,
            category: category.to_string(),
            at,
        };
        cases.push(PlannedCase {
            household,
            case,
            intended_class: class,
        });
    }
    cases.sort_by_key(|c| c.case.at);
    cases
}

/// Mostly the grid's workers, sometimes the grid leader or community staff.
fn reporter<R: Rng>(rng: &mut R, crew: &[PlannedWorker]) -> (String, Role) {
    let wanted = match pools::weighted(rng, &[85, 10, 5]) {
        0 => Role::GridWorker,
        1 => Role::GridLeader,
        _ => Role::CommunityStaff,
    };
    let matching: Vec<_> = crew.iter().filter(|w| w.role == wanted).collect();
    match matching.get(rng.random_range(0..matching.len().max(1))) {
        Some(w) => (w.id.clone(), w.role),
        None => ("w-unassigned".to_string(), Role::GridWorker),
    }
}

/// The template's situation, maybe its source, the action taken, the request (by class)
/// and maybe remarks: 60-200 characters.
fn describe<R: Rng>(rng: &mut R, base: &str, head: &str, class: TriageClass) -> String {
    let requests = match class {
        TriageClass::Big => REQUEST[0],
        TriageClass::Small => REQUEST[1],
        TriageClass::Private => REQUEST[2],
    };
    let mut text = pools::fill(rng, base, head, 1);
    if rng.random_bool(0.5) {
        text.push_str(pick::<&str, _>(rng, SOURCE));
    }
    text.push_str(pick::<&str, _>(rng, ACTION));
    text.push_str(pick::<&str, _>(rng, requests));
    let mut extra: Vec<&str> = EXTRA.to_vec();
    extra.shuffle(rng);
    let wanted = usize::from(rng.random_bool(0.5));
    for (i, remark) in extra.into_iter().enumerate() {
        let len = text.chars().count();
        if (i >= wanted && len >= MIN_DESCRIPTION) || len + remark.chars().count() > MAX_DESCRIPTION
        {
            break;
        }
        text.push_str(remark);
    }
    text
}
