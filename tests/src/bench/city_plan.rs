//! What the city scenario's people type (issue 16): a community of grids, each with one
//! grid worker's handset, and a community supervisor holding every grid. Day 0 the workers
//! register their grids' households; then come the field days: visits, cases driven along
//! the workflow by age, tier changes, and household edits that the supervisor makes to the
//! same fields at the same time.

use gridsync_core::model::Tier;
use gridsync_core::{DocId, GridPath, Replica};

use crate::load::advance_case;
use crate::workload::{GridSpec, START_2024, Workload, WorkloadConfig};

/// The community the grids belong to: the supervisor's scope.
pub const COMMUNITY: &str = "ankang/hanbin/laocheng/xinhua";

/// The supervisor's device and worker id.
pub const SUPERVISOR: &str = "supervisor";

/// The size of a city run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CityConfig {
    /// Grids, each with its worker handset.
    pub grids: usize,
    /// Households registered in each grid on day 0.
    pub households_per_grid: usize,
    /// Field days, all offline.
    pub days: u32,
    /// Visits per grid per day.
    pub visits_per_grid_day: usize,
    /// Cases reported per grid per day.
    pub cases_per_grid_day: usize,
    /// Tier changes per grid per day.
    pub tier_changes_per_grid_day: usize,
    /// Household fields that a worker and the supervisor both edit while offline.
    pub concurrent_edits: usize,
    /// Workload seed.
    pub seed: u64,
}

impl CityConfig {
    /// Issue 16's city: 10 grids of 2,000 households, 100 field days with 25 visits, 2
    /// cases and a tier change per grid per day, 200 concurrent household edits.
    pub fn city(seed: u64) -> Self {
        CityConfig {
            grids: 10,
            households_per_grid: 2_000,
            days: 100,
            visits_per_grid_day: 25,
            cases_per_grid_day: 2,
            tier_changes_per_grid_day: 1,
            concurrent_edits: 200,
            seed,
        }
    }

    /// A small city for tests: 2 grids of 30 households, 4 field days.
    pub fn tiny(seed: u64) -> Self {
        CityConfig {
            grids: 2,
            households_per_grid: 30,
            days: 4,
            visits_per_grid_day: 4,
            cases_per_grid_day: 1,
            tier_changes_per_grid_day: 1,
            concurrent_edits: 4,
            seed,
        }
    }

    /// Grid `g`'s path (`…/xinhua/g01` for 0).
    pub fn grid(&self, g: usize) -> GridPath {
        GridPath::parse(&format!("{COMMUNITY}/g{:02}", g + 1))
            .unwrap_or_else(|_| unreachable!("{COMMUNITY}/gNN is a valid grid path"))
    }

    /// The workload: households grid by grid, visits, cases and concurrent edits.
    fn workload(&self) -> Workload {
        let grid_days = self.grids * self.days as usize;
        Workload::generate(&WorkloadConfig {
            seed: self.seed,
            grids: (0..self.grids)
                .map(|g| GridSpec {
                    path: self.grid(g),
                    rural: g % 2 == 1,
                })
                .collect(),
            households_per_grid: self.households_per_grid,
            visits: grid_days * self.visits_per_grid_day,
            cases: grid_days * self.cases_per_grid_day,
            start: START_2024,
            days: self.days,
            conflicts: self.concurrent_edits,
        })
    }
}

/// Grid `g`'s worker: the device name and the worker id it writes as.
pub fn worker(g: usize) -> String {
    format!("w-g{:02}", g + 1)
}

/// What one handset typed in the field days.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldWork {
    /// Visits logged.
    pub visits: usize,
    /// Cases reported.
    pub cases: usize,
    /// Case actions taken.
    pub case_actions: usize,
    /// Tier changes.
    pub tier_changes: usize,
    /// Household edits (this handset's side of the concurrent edits).
    pub edits: usize,
}

/// The planned city.
pub struct City {
    /// Its size.
    pub config: CityConfig,
    /// What everyone types.
    pub workload: Workload,
}

impl City {
    /// Plans the city `config` describes; deterministic in `config`.
    pub fn plan(config: CityConfig) -> City {
        City {
            config,
            workload: config.workload(),
        }
    }

    /// The grid of workload household `i`.
    fn grid_of(&self, i: usize) -> usize {
        i / self.config.households_per_grid
    }

    /// Day 0 on grid `g`'s handset: registers the grid's households. Returns their ids in
    /// workload order.
    pub fn register(&self, replica: &Replica, g: usize) -> gridsync_core::Result<Vec<DocId>> {
        let n = self.config.households_per_grid;
        let by = worker(g);
        self.workload.households[g * n..(g + 1) * n]
            .iter()
            .map(|h| replica.register_household(h, &by))
            .collect()
    }

    /// The field days on grid `g`'s handset: its visits, its cases (each driven along the
    /// workflow by its age at the end of the period), its tier changes and its side of the
    /// concurrent edits. `ids` are the grid's household ids from [`City::register`].
    pub fn field_days(
        &self,
        replica: &Replica,
        g: usize,
        ids: &[DocId],
    ) -> gridsync_core::Result<FieldWork> {
        let n = self.config.households_per_grid;
        let me = worker(g);
        let (_, end) = self.workload.period();
        let mut done = FieldWork::default();
        for v in self
            .workload
            .visits
            .iter()
            .filter(|v| self.grid_of(v.household) == g)
        {
            let mut nv = v.to_new_visit(ids[v.household % n].clone());
            nv.worker = me.clone();
            replica.log_visit(&nv)?;
            done.visits += 1;
        }
        let grid = self.config.grid(g);
        for c in self.workload.cases.iter().filter(|c| c.case.grid == grid) {
            let mut c = c.clone();
            c.case.reporter = me.clone();
            let id =
                replica.report_case(&c.to_new_case(c.household.map(|i| ids[i % n].clone())))?;
            done.cases += 1;
            done.case_actions += advance_case(replica, &id, &c, end)?;
        }
        for day in 0..self.config.days as usize {
            for t in 0..self.config.tier_changes_per_grid_day {
                let j = (day * 37 + t * 11 + g) % n;
                let tier = [Tier::Yellow, Tier::Red, Tier::Green][(day + t) % 3];
                replica.change_tier(&ids[j], tier, &me, "走访发现家庭情况变化")?;
                done.tier_changes += 1;
            }
        }
        for c in self
            .workload
            .conflicts
            .iter()
            .filter(|c| self.grid_of(c.household) == g)
        {
            replica.update_household(&ids[c.household % n], &c.a)?;
            done.edits += 1;
        }
        Ok(done)
    }

    /// The supervisor's field days: the other side of every concurrent edit. `ids` are
    /// every grid's household ids.
    pub fn supervisor_days(
        &self,
        replica: &Replica,
        ids: &[Vec<DocId>],
    ) -> gridsync_core::Result<FieldWork> {
        let n = self.config.households_per_grid;
        let mut done = FieldWork::default();
        for c in &self.workload.conflicts {
            replica.update_household(&ids[self.grid_of(c.household)][c.household % n], &c.b)?;
            done.edits += 1;
        }
        Ok(done)
    }

    /// How many documents a handset holding grid `g` holds at the end: its households,
    /// visits and cases.
    pub fn documents_in(&self, g: usize) -> usize {
        let grid = self.config.grid(g);
        self.config.households_per_grid
            + self
                .workload
                .visits
                .iter()
                .filter(|v| self.grid_of(v.household) == g)
                .count()
            + self
                .workload
                .cases
                .iter()
                .filter(|c| c.case.grid == grid)
                .count()
    }
}
