//! Workers and households: who works each grid, who lives there, where, and how needy.

use gridsync_core::model::{Address, GeoPoint, Member, NewHousehold, Role, Tier};
use gridsync_core::{DAY_MS, Timestamp};
use rand::Rng;
use rand::seq::SliceRandom;

use super::pools::{self, pick};
use super::{PlannedWorker, WorkloadConfig};

/// Workers per grid: full-time worker, grid leader, two part-time contacts, community staff.
pub const CREW: usize = 5;

/// Target tier mix in per mille: green, yellow, red.
pub const TIER_MIX: [(Tier, usize); 3] = [(Tier::Green, 830), (Tier::Yellow, 110), (Tier::Red, 60)];

/// Centre of the first grid (Ankang's old town), in degrees.
pub const CENTRE: GeoPoint = GeoPoint {
    lat: 32.68,
    lon: 109.02,
};

/// The crew of every grid, [`CREW`] per grid in a fixed role order, ids unique.
pub fn workers<R: Rng>(rng: &mut R, grids: usize) -> Vec<PlannedWorker> {
    let roles = [
        Role::GridWorker,
        Role::GridLeader,
        Role::GridWorker,
        Role::GridWorker,
    ];
    let mut out: Vec<PlannedWorker> = Vec::with_capacity(grids * CREW);
    for grid in 0..grids {
        for role in roles.into_iter().chain([Role::CommunityStaff]) {
            let base = format!(
                "w-{}-{}",
                pick(rng, pools::WORKER_SURNAMES),
                pick(rng, pools::WORKER_GIVEN)
            );
            let mut id = base.clone();
            let mut n = 2;
            while out.iter().any(|w| w.id == id) {
                id = format!("{base}{n}");
                n += 1;
            }
            out.push(PlannedWorker { id, grid, role });
        }
    }
    out
}

/// The crew of grid `grid`.
pub fn crew(workers: &[PlannedWorker], grid: usize) -> &[PlannedWorker] {
    let start = (grid * CREW).min(workers.len());
    &workers[start..(start + CREW).min(workers.len())]
}

/// Households grid by grid, and where each one's door is.
pub fn generate<R: Rng>(
    rng: &mut R,
    config: &WorkloadConfig,
    workers: &[PlannedWorker],
) -> (Vec<NewHousehold>, Vec<GeoPoint>) {
    let given = pools::given_chars();
    let year = year_of(config.start);
    let n = config.households_per_grid;
    let mut households = Vec::with_capacity(n * config.grids.len());
    let mut homes = Vec::with_capacity(n * config.grids.len());
    for (g, spec) in config.grids.iter().enumerate() {
        let spread = if g == 0 { 0.005 } else { 0.05 };
        let centre = jitter(rng, CENTRE, spread);
        let mut tiers = Vec::with_capacity(n);
        for (tier, per_mille) in TIER_MIX.into_iter().rev() {
            let quota = if tier == Tier::Green {
                n - tiers.len()
            } else {
                (n * per_mille + 500) / 1000
            };
            tiers.extend(std::iter::repeat_n(tier, quota.min(n - tiers.len())));
        }
        tiers.shuffle(rng);
        let mut slots = Slots::new(rng, spec.rural, centre);
        let crew = crew(workers, g);
        for tier in tiers {
            let (address, home) = slots.next(rng);
            let tags = tags(rng, tier);
            let (head, members, elderly) = family(rng, &given, &tags, year);
            let phone_missing = if elderly { 0.25 } else { 0.08 };
            let phone = if rng.random_bool(phone_missing) {
                String::new()
            } else {
                pools::phone(rng)
            };
            let mut contacts: Vec<String> =
                crew.first().map(|w| w.id.clone()).into_iter().collect();
            let helper = crew.get(rng.random_range(2..4)).map(|w| w.id.clone());
            match tier {
                Tier::Red => {
                    contacts.extend(crew.get(1).map(|w| w.id.clone()).into_iter().chain(helper))
                }
                Tier::Yellow => contacts.extend(helper),
                Tier::Green => {}
            }
            contacts.sort();
            contacts.dedup();
            households.push(NewHousehold {
                grid: spec.path.clone(),
                address,
                head,
                members,
                phone,
                tier,
                tags,
                contacts,
            });
            homes.push(home);
        }
    }
    (households, homes)
}

/// Tags that fit the tier, sorted.
fn tags<R: Rng>(rng: &mut R, tier: Tier) -> Vec<String> {
    let mut tags: Vec<&str> = match tier {
        Tier::Red => {
            let mut t = vec![*pick(rng, pools::RED_PRIMARY)];
            if rng.random_bool(0.45) {
                t.push(*pick(rng, pools::RED_SECONDARY));
            }
            t
        }
        Tier::Yellow => {
            let mut t = vec![*pick(rng, pools::YELLOW_TAGS)];
            if rng.random_bool(0.25) {
                t.push(*pick(rng, pools::YELLOW_TAGS));
            }
            t
        }
        Tier::Green if rng.random_bool(0.12) => vec![*pick(rng, pools::GREEN_TAGS)],
        Tier::Green => Vec::new(),
    };
    tags.sort_unstable();
    tags.dedup();
    tags.into_iter().map(str::to_string).collect()
}

/// Head's name, members (head first, 1-6 people) and whether the head is elderly, shaped
/// by the tags: 独居 lives alone, 留守儿童 are raised by grandparents, and so on.
fn family<R: Rng>(
    rng: &mut R,
    given: &[char],
    tags: &[String],
    year: i32,
) -> (String, Vec<Member>, bool) {
    let has = |t: &str| tags.iter().any(|x| x == t);
    let elderly = tags
        .iter()
        .any(|t| pools::ELDERLY_TAGS.contains(&t.as_str()));
    let head_age: i32 = if has("高龄老人") {
        rng.random_range(80..96)
    } else if elderly || has("独居") {
        rng.random_range(63..90)
    } else if has("留守儿童") {
        rng.random_range(55..76)
    } else if has("单亲家庭") {
        rng.random_range(30..50)
    } else {
        rng.random_range(28..78)
    };
    let surname = *pick(rng, pools::SURNAMES);
    let head = pools::person_name(rng, given, Some(surname));
    let mut members = vec![member(head.clone(), year - head_age, pools::HEAD)];
    let mut add = |rng: &mut R, family_name: Option<&str>, age: i32, relation: &str| {
        if members.len() < 6 {
            members.push(member(
                pools::person_name(rng, given, family_name),
                year - age.max(0),
                relation,
            ));
        }
    };
    if has("独居") {
        // Alone: nobody else.
    } else if has("留守儿童") {
        if rng.random_bool(0.6) {
            let age = head_age + rng.random_range(-4..5);
            add(rng, None, age, pools::SPOUSE);
        }
        for _ in 0..rng.random_range(1..3) {
            let age = rng.random_range(3..16);
            add(rng, Some(surname), age, pools::GRANDCHILD);
        }
    } else if elderly {
        if rng.random_bool(0.5) {
            let age = head_age + rng.random_range(-5..4);
            add(rng, None, age, pools::SPOUSE);
        }
    } else {
        let single = has("单亲家庭");
        if !single && rng.random_bool(0.8) {
            let age = head_age + rng.random_range(-6..5);
            add(rng, None, age, pools::SPOUSE);
        }
        for _ in 0..rng.random_range(usize::from(single)..4) {
            let age = head_age - rng.random_range(22..37);
            if age >= 0 {
                add(rng, Some(surname), age, pools::CHILD);
            }
        }
        if head_age < 55 && rng.random_bool(0.3) {
            let age = head_age + rng.random_range(22..33);
            add(rng, None, age, pools::PARENT);
        }
        if head_age >= 55 && rng.random_bool(0.3) {
            let age = rng.random_range(1..17);
            add(rng, Some(surname), age, pools::GRANDCHILD);
        }
    }
    (head, members, elderly || head_age >= 70)
}

fn member(name: String, birth_year: i32, relation: &str) -> Member {
    let birth_year = u16::try_from(birth_year).unwrap_or(1950);
    Member {
        name,
        birth_year,
        relation: relation.to_string(),
    }
}

/// Hands out addresses in order: rooms up the stairwells of an estate, or house numbers
/// round the courtyards of a village, with some skipped (empty or not registered).
struct Slots {
    rural: bool,
    centre: GeoPoint,
    cluster: (usize, GeoPoint),
    next: usize,
    group_base: usize,
    courtyard_base: usize,
}

impl Slots {
    fn new<R: Rng>(rng: &mut R, rural: bool, centre: GeoPoint) -> Self {
        let group_base = rng.random_range(0..6);
        let courtyard_base = rng.random_range(0..pools::COURTYARDS.len());
        Slots {
            rural,
            centre,
            cluster: (usize::MAX, centre),
            next: 0,
            group_base,
            courtyard_base,
        }
    }

    fn next<R: Rng>(&mut self, rng: &mut R) -> (Address, GeoPoint) {
        // Rural: ~14 numbers per courtyard, two courtyards per village group.
        // Urban: 24 rooms per building (2 units x 6 floors x 2 rooms).
        let cluster_size = if self.rural { 14 } else { 24 };
        while rng.random_bool(0.12) {
            self.next += 1;
        }
        let j = self.next;
        self.next += 1;
        if self.cluster.0 != j / cluster_size {
            let spread = if self.rural { 0.012 } else { 0.002 };
            self.cluster = (j / cluster_size, jitter(rng, self.centre, spread));
        }
        let home = jitter(
            rng,
            self.cluster.1,
            if self.rural { 0.0008 } else { 0.0001 },
        );
        let address = if self.rural {
            let courtyard = j / cluster_size;
            Address::Rural {
                group: format!(
                    "第{}村民小组",
                    pools::NUMERALS[(self.group_base + courtyard / 2) % 12]
                ),
                courtyard: pools::COURTYARDS
                    [(self.courtyard_base + courtyard) % pools::COURTYARDS.len()]
                .to_string(),
                number: format!("{}号", j % cluster_size + 1),
            }
        } else {
            let in_building = j % cluster_size;
            Address::Urban {
                building: format!("{}栋", j / cluster_size + 1),
                unit: format!("{}单元", in_building / 12 + 1),
                room: format!("{}0{}", (in_building % 12) / 2 + 1, in_building % 2 + 1),
            }
        };
        (address, home)
    }
}

/// `p` moved by up to `spread` degrees each way, rounded to 6 decimals (~0.1 m).
pub fn jitter<R: Rng>(rng: &mut R, p: GeoPoint, spread: f64) -> GeoPoint {
    let round = |x: f64| (x * 1e6).round() / 1e6;
    GeoPoint {
        lat: round(p.lat + rng.random_range(-spread..=spread)),
        lon: round(p.lon + rng.random_range(-spread..=spread)),
    }
}

/// Gregorian year of a timestamp, in China Standard Time.
pub fn year_of(ts: Timestamp) -> i32 {
    // Days since 1970-01-01 to a civil year (Howard Hinnant's algorithm).
    let days = (ts + 8 * 3_600_000).div_euclid(DAY_MS) + 719_468;
    let era = days.div_euclid(146_097);
    let doe = days - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let year = yoe + era * 400 + i64::from(mp >= 10);
    i32::try_from(year).unwrap_or(2024)
}
