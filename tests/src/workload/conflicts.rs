//! Deliberate concurrent edits: two handsets, offline, changing the same household field
//! to different values, and cases two handsets act on at once.
//!
//! The household edits are the ones that happen in the field: a new phone number reported
//! to two different workers, or a change of head (the head died or moved away) recorded
//! once as the spouse and once as a child, or a misspelt name corrected two ways.

use gridsync_core::model::{HouseholdUpdate, NewHousehold};
use rand::Rng;
use rand::seq::index;

use super::PlannedConflict;
use super::pools::{self, pick};

/// Share of conflicts on the phone number; the rest are on the head of household.
pub const PHONE_SHARE: f64 = 0.6;

/// Up to `count` conflicts on distinct households, in household order; `year` is the
/// current year (only adults become head).
pub fn households<R: Rng>(
    rng: &mut R,
    count: usize,
    households: &[NewHousehold],
    year: i32,
) -> Vec<PlannedConflict> {
    let given = pools::given_chars();
    let mut chosen = index::sample(rng, households.len(), count.min(households.len())).into_vec();
    chosen.sort_unstable();
    let mut out = Vec::with_capacity(chosen.len());
    for i in chosen {
        let Some(household) = households.get(i) else {
            continue;
        };
        let (a, b) = if rng.random_bool(PHONE_SHARE) {
            let a = pools::phone(rng);
            let mut b = pools::phone(rng);
            while b == a {
                b = pools::phone(rng);
            }
            (phone(a), phone(b))
        } else {
            let (a, b) = new_heads(rng, household, &given, year);
            (head(a), head(b))
        };
        out.push(PlannedConflict { household: i, a, b });
    }
    out
}

/// Up to `count` distinct case indices below `cases`, ascending.
pub fn case_races<R: Rng>(rng: &mut R, count: usize, cases: usize) -> Vec<usize> {
    let mut chosen = index::sample(rng, cases, count.min(cases)).into_vec();
    chosen.sort_unstable();
    chosen
}

/// Two different new heads: two other adult members (18 or older in `year`), another member and a corrected spelling,
/// or two corrected spellings.
fn new_heads<R: Rng>(
    rng: &mut R,
    household: &NewHousehold,
    given: &[char],
    year: i32,
) -> (String, String) {
    let others: Vec<&str> = household
        .members
        .iter()
        .filter(|m| m.name != household.head && year - i32::from(m.birth_year) >= 18)
        .map(|m| m.name.as_str())
        .collect();
    let (a, mut b) = match others.len() {
        0 => (
            respell(rng, &household.head, given),
            respell(rng, &household.head, given),
        ),
        1 => (others[0].to_string(), respell(rng, &household.head, given)),
        n => {
            let first = rng.random_range(0..n);
            let second = (first + rng.random_range(1..n)) % n;
            (others[first].to_string(), others[second].to_string())
        }
    };
    while b == a {
        b = respell(rng, &household.head, given);
    }
    (a, b)
}

/// `name` with its last character replaced by a different one (a spelling correction).
fn respell<R: Rng>(rng: &mut R, name: &str, given: &[char]) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    let last = chars.pop();
    let mut replacement = *pick(rng, given);
    while Some(replacement) == last {
        replacement = *pick(rng, given);
    }
    chars.push(replacement);
    chars.into_iter().collect()
}

fn phone(phone: String) -> HouseholdUpdate {
    HouseholdUpdate {
        phone: Some(phone),
        ..HouseholdUpdate::default()
    }
}

fn head(head: String) -> HouseholdUpdate {
    HouseholdUpdate {
        head: Some(head),
        ..HouseholdUpdate::default()
    }
}
