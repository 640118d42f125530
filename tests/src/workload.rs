//! Seeded, deterministic workload generator: realistic grid data for tests and benchmarks.
//!
//! [`Workload::generate`] turns a [`WorkloadConfig`] into households, visits, cases and
//! deliberate concurrent edits. Everything is drawn from a `ChaCha8Rng` seeded with
//! [`WorkloadConfig::seed`], so the same config always yields the same workload, byte for
//! byte, on every platform.
//!
//! The data follows the field (see `shared/DOMAIN.md`): Chinese names and addresses,
//! households tiered green/yellow/red (~83/11/6%) with tags that fit the tier, red and
//! yellow households visited far more often than green, 150-300 character diary notes
//! assembled from phrase pools, cases across the triage catalogue's categories, each with
//! the triage class a benchmark should drive it to.
//!
//! Records are *planned*, not stored: visits and cases point at households by index into
//! [`Workload::households`], and the caller maps indices to the [`DocId`]s its store
//! returned ([`PlannedVisit::to_new_visit`], [`PlannedCase::to_new_case`]).

use gridsync_core::model::{
    FollowUp, GeoPoint, HouseholdUpdate, NewCase, NewHousehold, NewVisit, Role, TriageClass,
    VisitMode,
};
use gridsync_core::{DAY_MS, DocId, DocKind, GridPath, Timestamp};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

mod case_pools;
mod cases;
mod conflicts;
mod households;
mod notes;
mod pools;
#[cfg(test)]
mod tests;
mod visits;

/// 2024-01-01 00:00 in China Standard Time (UTC+8), in Unix milliseconds.
pub const START_2024: Timestamp = 1_704_038_400_000;

/// One grid of the territory the workload covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridSpec {
    /// Its path, e.g. `ankang/hanbin/laocheng/xinhua/g03`.
    pub path: GridPath,
    /// Rural grids get village-group/courtyard addresses, urban ones building/unit/room.
    pub rural: bool,
}

impl GridSpec {
    /// An urban grid in Ankang's old town: `ankang/hanbin/laocheng/xinhua/g03`.
    pub fn urban_xinhua() -> Self {
        GridSpec {
            path: constant_path("ankang/hanbin/laocheng/xinhua/g03"),
            rural: false,
        }
    }

    /// A rural grid in the Qinba mountains: `ankang/ziyang/haoping/dongmu/g02`.
    pub fn rural_dongmu() -> Self {
        GridSpec {
            path: constant_path("ankang/ziyang/haoping/dongmu/g02"),
            rural: true,
        }
    }
}

/// Parses one of this module's built-in grid paths.
///
/// # Panics
/// Only if a built-in constant is not a valid grid path, which the unit tests rule out.
fn constant_path(path: &'static str) -> GridPath {
    GridPath::parse(path).expect("built-in grid paths are valid")
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadConfig {
    /// Seed of the `ChaCha8Rng` everything is drawn from.
    pub seed: u64,
    /// The grids; each gets `households_per_grid` households and its own workers.
    pub grids: Vec<GridSpec>,
    /// Households registered in each grid.
    pub households_per_grid: usize,
    /// Visits in total, spread over all households by tier.
    pub visits: usize,
    /// Cases in total.
    pub cases: usize,
    /// Start of the period: a local (UTC+8) midnight, e.g. [`START_2024`]. Visit and case
    /// times fall in working hours of the `days` days that follow.
    pub start: Timestamp,
    /// Length of the period in days (0 is treated as 1).
    pub days: u32,
    /// Number of deliberate concurrent household edits, and also of case races (each
    /// capped by the number of households or cases).
    pub conflicts: usize,
}

impl WorkloadConfig {
    /// A year of one urban grid: 300 households, 6,000 visits, 1,000 cases over 365 days,
    /// 30 concurrent household edits and 30 case races.
    pub fn grid_year() -> Self {
        WorkloadConfig {
            seed: 0x6772_6964_7965_6172, // "gridyear"
            grids: vec![GridSpec::urban_xinhua()],
            households_per_grid: 300,
            visits: 6_000,
            cases: 1_000,
            start: START_2024,
            days: 365,
            conflicts: 30,
        }
    }

    /// What a fresh handset pulls when a worker takes over a grid: 300 households,
    /// 2,000 visits and 300 cases over the last 120 days, no conflicts.
    pub fn bootstrap() -> Self {
        WorkloadConfig {
            seed: 0x626f_6f74, // "boot"
            grids: vec![GridSpec::urban_xinhua()],
            households_per_grid: 300,
            visits: 2_000,
            cases: 300,
            start: START_2024,
            days: 120,
            conflicts: 0,
        }
    }

    /// Five days without signal in a rural mountain grid of 25 households (a third-level
    /// grid of Ankang's size): 60 visits and 8 cases logged offline, 5 concurrent edits.
    pub fn five_days_offline() -> Self {
        WorkloadConfig {
            seed: 0x6f66_666c, // "offl"
            grids: vec![GridSpec::rural_dongmu()],
            households_per_grid: 25,
            visits: 60,
            cases: 8,
            start: START_2024,
            days: 5,
            conflicts: 5,
        }
    }
}

/// A person who works the grid and carries a handset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedWorker {
    /// Worker id, `w-<surname>-<given>` in pinyin (`w-li-na`), unique in the workload.
    pub id: String,
    /// Index into [`WorkloadConfig::grids`].
    pub grid: usize,
    /// What the person does (grid worker, grid leader, community staff).
    pub role: Role,
}

/// A visit to log, pointing at its household by index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedVisit {
    /// Index into [`Workload::households`].
    pub household: usize,
    /// Who visited (worker id).
    pub worker: String,
    /// When, in working hours.
    pub at: Timestamp,
    /// How.
    pub mode: VisitMode,
    /// The diary entry, 150-300 characters.
    pub notes: String,
    /// Problems found (about 30% of visits have 1-2).
    pub findings: Vec<String>,
    /// One follow-up per finding, due 3-14 days after the visit.
    pub follow_ups: Vec<FollowUp>,
    /// Where the handset was, for door-to-door and some courtyard visits.
    pub geo: Option<GeoPoint>,
}

impl PlannedVisit {
    /// The record to log, once the household has an id.
    pub fn to_new_visit(&self, household: DocId) -> NewVisit {
        NewVisit {
            household,
            worker: self.worker.clone(),
            at: self.at,
            mode: self.mode,
            notes: self.notes.clone(),
            findings: self.findings.clone(),
            follow_ups: self.follow_ups.clone(),
            geo: self.geo,
        }
    }
}

/// A case to report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedCase {
    /// Index into [`Workload::households`] of the household concerned, if any.
    pub household: Option<usize>,
    /// The report; its `household` is `None` for the caller to fill in.
    pub case: NewCase,
    /// The class the case should be triaged to (~15% big, 45% small, 40% private).
    pub intended_class: TriageClass,
}

impl PlannedCase {
    /// The report with the household's id filled in.
    pub fn to_new_case(&self, household: Option<DocId>) -> NewCase {
        NewCase {
            household,
            ..self.case.clone()
        }
    }
}

/// Two handsets editing the same household field differently while offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedConflict {
    /// Index into [`Workload::households`].
    pub household: usize,
    /// The first handset's edit.
    pub a: HouseholdUpdate,
    /// The second handset's edit, of the same field (phone or head) to another value.
    pub b: HouseholdUpdate,
}

/// A generated workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// The config it was generated from.
    pub config: WorkloadConfig,
    /// The people working the grids: per grid one full-time grid worker, one grid leader,
    /// two part-time contacts and one community staff member.
    pub workers: Vec<PlannedWorker>,
    /// Households, grid by grid (`households_per_grid` each).
    pub households: Vec<NewHousehold>,
    /// Visits, sorted by time.
    pub visits: Vec<PlannedVisit>,
    /// Cases, sorted by report time.
    pub cases: Vec<PlannedCase>,
    /// Concurrent household edits, on distinct households.
    pub conflicts: Vec<PlannedConflict>,
    /// Indices into [`Workload::cases`] (distinct, ascending) that two handsets act on
    /// concurrently.
    pub case_races: Vec<usize>,
}

/// Placeholder household id used when encoding visits and cases for size estimates.
const DUMMY_HOUSEHOLD: &str = "h-00000000000000000000000000000000";

impl Workload {
    /// Shuffles the characters inside every visit note and case description. The text
    /// keeps its length and characters but loses the phrases it was assembled from, so a
    /// compressor can no longer learn the generator's phrase pools: a pessimistic stand-in
    /// for real notes, which repeat less than generated ones.
    pub fn shuffle_text(&mut self, seed: u64) {
        use rand::seq::SliceRandom;
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5348_5546);
        let mut shuffle = |s: &mut String| {
            let mut chars: Vec<char> = s.chars().collect();
            chars.shuffle(&mut rng);
            *s = chars.into_iter().collect();
        };
        for v in &mut self.visits {
            shuffle(&mut v.notes);
        }
        for c in &mut self.cases {
            shuffle(&mut c.case.description);
        }
    }

    /// Generates the workload `config` describes; deterministic in `config`.
    pub fn generate(config: &WorkloadConfig) -> Workload {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let year = households::year_of(config.start);
        let workers = households::workers(&mut rng, config.grids.len());
        let (households, homes) = households::generate(&mut rng, config, &workers);
        let visits = visits::generate(&mut rng, config, &households, &homes);
        let cases = cases::generate(&mut rng, config, &households, &workers);
        let conflicts = conflicts::households(&mut rng, config.conflicts, &households, year);
        let case_races = conflicts::case_races(&mut rng, config.conflicts, cases.len());
        Workload {
            config: config.clone(),
            workers,
            households,
            visits,
            cases,
            conflicts,
            case_races,
        }
    }

    /// Total postcard-encoded size of every household, visit and case, in bytes: what the
    /// records weigh before any automerge or compression overhead.
    pub fn postcard_size(&self) -> usize {
        self.postcard_bytes().len()
    }

    /// The postcard encodings of every household, then every visit (as a [`NewVisit`]
    /// with a placeholder household id), then every case (a placeholder id where the case
    /// concerns a household), concatenated. Compressing this gives the zstd floor.
    pub fn postcard_bytes(&self) -> Vec<u8> {
        let dummy =
            DocId::parse(DUMMY_HOUSEHOLD).unwrap_or_else(|_| DocId::new(DocKind::Household));
        let mut out = Vec::new();
        for household in &self.households {
            append(&mut out, household);
        }
        for visit in &self.visits {
            append(&mut out, &visit.to_new_visit(dummy.clone()));
        }
        for case in &self.cases {
            append(
                &mut out,
                &case.to_new_case(case.household.map(|_| dummy.clone())),
            );
        }
        out
    }

    /// Start and end (exclusive) of the workload's period.
    pub fn period(&self) -> (Timestamp, Timestamp) {
        let days = Timestamp::from(self.config.days.max(1));
        (self.config.start, self.config.start + days * DAY_MS)
    }
}

/// Appends `value`'s postcard encoding. Encoding these plain records cannot fail (every
/// sequence has a known length), so an error appends nothing rather than panicking.
fn append<T: Serialize>(out: &mut Vec<u8>, value: &T) {
    if let Ok(bytes) = postcard::to_allocvec(value) {
        out.extend_from_slice(&bytes);
    }
}
