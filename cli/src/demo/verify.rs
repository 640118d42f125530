//! The demo's last scene: compare what every handset and the relay hold, grid by grid.

use std::collections::BTreeSet;

use anyhow::Result;
use gridsync_core::Replica;
use gridsync_core::replica::CaseFilter;
use gridsync_core::workflow::CaseStatus;
use gridsync_server::Hub;

use super::story::Cast;
use super::{Demo, GRID_A, GRID_B, Phone, g};
use crate::output::Table;

/// Every record id a replica holds in one grid: households, visits and cases.
fn ids(r: &Replica, grid: &str) -> Result<BTreeSet<String>> {
    let gp = g(grid);
    let mut out = BTreeSet::new();
    out.extend(
        r.list_households(Some(&gp))?
            .into_iter()
            .map(|h| h.id.to_string()),
    );
    out.extend(
        r.visits_in(&gp, 0, i64::MAX)?
            .into_iter()
            .map(|v| v.id.to_string()),
    );
    let filter = CaseFilter {
        grid: Some(gp),
        ..CaseFilter::default()
    };
    out.extend(r.list_cases(&filter)?.into_iter().map(|c| c.id.to_string()));
    Ok(out)
}

impl Demo {
    /// Scene 7: the same records per scope everywhere, nothing out of scope, empty outboxes.
    pub(super) fn converged(&mut self, hub: &Hub, phones: [&Phone; 3], cast: &Cast) -> Result<()> {
        self.section("7. did they converge?");
        let on_relay = self.convergence_table(hub, phones)?;
        self.check_same_records(phones, on_relay)?;
        self.check_nothing_leaked(phones[0], cast)?;
        self.check_case_and_outboxes(phones, cast)
    }

    /// The table of what every handset and the relay hold; returns the relay's count.
    fn convergence_table(&mut self, hub: &Hub, phones: [&Phone; 3]) -> Result<usize> {
        let mut t = Table::new(&[
            "  HANDSET",
            "SCOPE",
            "g01 RECORDS",
            "g02 RECORDS",
            "PENDING",
        ]);
        for p in phones {
            let scope = p.hs.config.grid.clone().unwrap_or_default();
            t.row(vec![
                format!("  {} {}", p.name, p.worker),
                scope.rsplit('/').next().unwrap_or_default().into(),
                ids(p.r(), GRID_A)?.len().to_string(),
                ids(p.r(), GRID_B)?.len().to_string(),
                p.r().pending()?.changes.to_string(),
            ]);
        }
        let on_relay = hub.document_count()?;
        t.row(vec![
            "  relay".into(),
            "all".into(),
            String::new(),
            String::new(),
            format!("{on_relay} documents"),
        ]);
        if !self.json {
            print!("{}", t.render(""));
        }
        Ok(on_relay)
    }

    /// Each grid's records are the same on its worker's handset and the supervisor's, and
    /// the relay holds exactly those.
    fn check_same_records(&mut self, phones: [&Phone; 3], on_relay: usize) -> Result<()> {
        let [a, b, s] = phones;
        let (a_a, s_a) = (ids(a.r(), GRID_A)?, ids(s.r(), GRID_A)?);
        let (b_b, s_b) = (ids(b.r(), GRID_B)?, ids(s.r(), GRID_B)?);
        self.check(
            &format!("grid g01: {} and {} hold the same records", a.name, s.name),
            a_a == s_a && a_a.len() == 8,
            format!("{} and {} records", a_a.len(), s_a.len()),
        );
        self.check(
            &format!("grid g02: {} and {} hold the same records", b.name, s.name),
            b_b == s_b && b_b.len() == 4,
            format!("{} and {} records", b_b.len(), s_b.len()),
        );
        self.check(
            "the relay holds exactly the community's records",
            on_relay == s_a.len() + s_b.len(),
            format!("{on_relay} documents"),
        );
        Ok(())
    }

    /// The g01 worker's handset holds no record of g02, by list or by id.
    fn check_nothing_leaked(&mut self, a: &Phone, cast: &Cast) -> Result<()> {
        let mut leaked = ids(a.r(), GRID_B)?.len();
        leaked += cast
            .g02_households
            .iter()
            .filter(|h| a.r().household(h).is_ok())
            .count();
        let g01 = g(GRID_A);
        leaked += a
            .r()
            .list_households(None)?
            .iter()
            .filter(|h| !h.grid.is_within(&g01))
            .count();
        leaked += a
            .r()
            .list_cases(&CaseFilter::default())?
            .iter()
            .filter(|c| !c.grid.is_within(&g01))
            .count();
        self.check(
            &format!("{} (grid g01) never received a g02 document", a.name),
            leaked == 0,
            format!("{leaked} g02 record(s) on her handset"),
        );
        Ok(())
    }

    /// The case reads the same on both handsets; only the refused change is kept, apart.
    fn check_case_and_outboxes(&mut self, phones: [&Phone; 3], cast: &Cast) -> Result<()> {
        let [a, b, s] = phones;
        let (ka, ks) = (a.r().case(&cast.case)?, s.r().case(&cast.case)?);
        self.check(
            "the case has the same timeline and status on both handsets",
            ka.timeline == ks.timeline
                && ka.state.status == CaseStatus::Resolved
                && ka.timeline.len() == 5,
            format!(
                "{} actions, {}",
                ka.timeline.len(),
                crate::case::status(ka.state.status)
            ),
        );
        let (pa, pb, ps) = (a.r().pending()?, b.r().pending()?, s.r().pending()?);
        let pending = (pa.changes, pb.changes, ps.changes);
        let refused = (pa.refused, pb.refused, ps.refused);
        self.check(
            "every change left the outboxes (the stray write was never made, so nothing was refused)",
            pending == (0, 0, 0) && refused == (0, 0, 0),
            format!("pending {pending:?}, refused {refused:?}"),
        );
        Ok(())
    }
}
