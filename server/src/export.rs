//! Export for the governance centre: every household (with its tier history), visit and
//! case (with its timeline) of a grid subtree, as flat files in a directory, streamed
//! document by document (`docs/EXPORT.md` names the columns).
//!
//! CSV: `households.csv`, `tier_changes.csv`, `visits.csv`, `cases.csv`,
//! `case_timeline.csv`, UTF-8 with a header row; lists are joined with `；`, nested
//! values are JSON. JSONL: `households.jsonl`, `visits.jsonl`, `cases.jsonl`, one record
//! per line as the model holds it. Files are written under temporary names and renamed
//! when complete: a failed export leaves no half-written file behind.

use std::path::{Path, PathBuf};

use automerge::Automerge;
use gridsync_core::error::{Error, Result};
use gridsync_core::ids::{DocId, DocKind, GridPath};
use gridsync_core::model::{self, Household, Visit};
use gridsync_core::store::Scan;
use gridsync_core::workflow::TriagePolicy;
use serde::{Deserialize, Serialize};

use crate::hub::{GDOCS, GRIDS, Hub, RDOCS, RelayDoc, decode};

mod out;
use out::{Out, io};

/// The export's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// Flat CSV files, one per record kind and one per history.
    Csv,
    /// One JSON object per line, one file per record kind.
    Jsonl,
}

/// Rows written, by file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportCounts {
    /// Households.
    pub households: u64,
    /// Tier changes of those households (CSV only; inside households in JSONL).
    pub tier_changes: u64,
    /// Visits.
    pub visits: u64,
    /// Cases.
    pub cases: u64,
    /// Timeline entries of those cases (CSV only; inside cases in JSONL).
    pub timeline_entries: u64,
}

/// A cell for a value: strings as they are, anything else as JSON.
fn cell(v: &impl Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Null) => String::new(),
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// A time (ms since the epoch) as RFC 3339 UTC (`2026-12-02T06:10:00Z`).
pub fn utc(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

struct Files {
    households: Out,
    tiers: Out,
    visits: Out,
    cases: Out,
    timeline: Out,
    counts: ExportCounts,
}

impl Files {
    fn open(dir: &Path, f: ExportFormat) -> Result<Self> {
        let ext = if f == ExportFormat::Csv {
            "csv"
        } else {
            "jsonl"
        };
        let name = |n: &str| format!("{n}.{ext}");
        let csv_only = |n: &str, h: &[&str]| -> Result<Out> {
            match f {
                ExportFormat::Csv => Out::open(dir, &name(n), f, h),
                ExportFormat::Jsonl => Ok(Out {
                    tmp: PathBuf::new(),
                    path: PathBuf::new(),
                    csv: None,
                    lines: None,
                }),
            }
        };
        Ok(Files {
            households: Out::open(
                dir,
                &name("households"),
                f,
                &[
                    "id", "grid", "head", "phone", "tier", "address", "members", "tags", "retired",
                ],
            )?,
            tiers: csv_only("tier_changes", &["household", "tier", "by", "at", "reason"])?,
            visits: Out::open(
                dir,
                &name("visits"),
                f,
                &[
                    "id",
                    "grid",
                    "household",
                    "worker",
                    "at",
                    "mode",
                    "notes",
                    "findings",
                    "follow_ups",
                ],
            )?,
            cases: Out::open(
                dir,
                &name("cases"),
                f,
                &[
                    "id",
                    "grid",
                    "household",
                    "reporter",
                    "title",
                    "description",
                    "category",
                    "reported_at",
                    "status",
                    "class",
                    "level",
                    "assignee",
                    "deadline",
                ],
            )?,
            timeline: csv_only(
                "case_timeline",
                &[
                    "case",
                    "action_id",
                    "actor",
                    "role",
                    "at",
                    "action",
                    "problem",
                ],
            )?,
            counts: ExportCounts::default(),
        })
    }

    fn household(&mut self, h: &Household) -> Result<()> {
        self.households.line(h)?;
        let tags = h.tags.join("；");
        let members = serde_json::to_string(&h.members).unwrap_or_default();
        let row = [
            h.id.to_string(),
            h.grid.to_string(),
            h.head.clone(),
            h.phone.clone(),
            h.tier.as_str().to_string(),
            cell(&h.address),
            members,
            tags,
            h.retired.is_some().to_string(),
        ];
        self.households.row(&row)?;
        self.counts.households += 1;
        for t in &h.tier_history {
            self.tiers.row(&[
                h.id.to_string(),
                t.tier.as_str().to_string(),
                t.by.clone(),
                utc(t.at),
                t.reason.clone(),
            ])?;
            self.counts.tier_changes += 1;
        }
        Ok(())
    }

    fn visit(&mut self, v: &Visit) -> Result<()> {
        self.visits.line(v)?;
        let r = &v.record;
        let row = [
            v.id.to_string(),
            v.grid.to_string(),
            r.household.to_string(),
            r.worker.clone(),
            utc(r.at),
            r.mode.as_str().to_string(),
            r.notes.clone(),
            r.findings.join("；"),
            cell(&r.follow_ups),
        ];
        self.visits.row(&row)?;
        self.counts.visits += 1;
        Ok(())
    }

    fn case(&mut self, c: &model::Case) -> Result<()> {
        self.cases.line(c)?;
        let s = &c.state;
        let row = [
            c.id.to_string(),
            c.grid.to_string(),
            c.household
                .as_ref()
                .map(DocId::to_string)
                .unwrap_or_default(),
            c.reporter.clone(),
            c.title.clone(),
            c.description.clone(),
            c.category.clone(),
            utc(c.reported_at),
            s.status.as_str().to_string(),
            s.class.map(|c| c.as_str().to_string()).unwrap_or_default(),
            s.level.map(|l| l.as_str().to_string()).unwrap_or_default(),
            s.assignee.clone().unwrap_or_default(),
            s.deadline.map(utc).unwrap_or_default(),
        ];
        self.cases.row(&row)?;
        self.counts.cases += 1;
        for e in &c.timeline {
            let a = &e.action;
            self.timeline.row(&[
                c.id.to_string(),
                a.id.clone(),
                a.actor.clone(),
                a.role.as_str().to_string(),
                utc(a.at),
                cell(&a.kind),
                e.problem.clone().unwrap_or_default(),
            ])?;
            self.counts.timeline_entries += 1;
        }
        Ok(())
    }

    fn finish(self) -> Result<ExportCounts> {
        for out in [
            self.households,
            self.tiers,
            self.visits,
            self.cases,
            self.timeline,
        ] {
            out.finish()?;
        }
        Ok(self.counts)
    }
}

impl Hub {
    /// The grids with documents inside `scope`.
    fn grids_within(&self, scope: &GridPath) -> Result<Vec<GridPath>> {
        let mut out = Vec::new();
        for (k, _) in self
            .store()
            .scan(GRIDS, Scan::prefix(scope.as_str().as_bytes()))?
        {
            if let Ok(g) = GridPath::parse(&String::from_utf8_lossy(&k))
                && g.is_within(scope)
            {
                out.push(g);
            }
        }
        Ok(out)
    }

    /// Documents of `scope`, for a progress bar's length.
    pub fn documents_within(&self, scope: &GridPath) -> Result<u64> {
        let mut n = 0;
        for g in self.grids_within(scope)? {
            let prefix = crate::hub::grid_key(&g, b"");
            n += self.store().scan(GDOCS, Scan::prefix(&prefix))?.len() as u64;
        }
        Ok(n)
    }

    /// Writes `scope`'s records into `dir` (made if missing) as `format`, calling
    /// `progress` after each document.
    pub fn export(
        &self,
        scope: &GridPath,
        format: ExportFormat,
        dir: &Path,
        progress: &dyn Fn(u64),
    ) -> Result<ExportCounts> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let mut files = Files::open(dir, format)?;
        let policy = TriagePolicy::default();
        let mut done = 0;
        for g in self.grids_within(scope)? {
            let prefix = crate::hub::grid_key(&g, b"");
            let mut after: Option<Vec<u8>> = None;
            loop {
                let page = self.store().scan(
                    GDOCS,
                    Scan {
                        prefix: &prefix,
                        after: after.as_deref(),
                        limit: 256,
                        reverse: false,
                    },
                )?;
                let Some((last, _)) = page.last() else { break };
                after = Some(last.clone());
                for (k, _) in &page {
                    let id = DocId::parse(&String::from_utf8_lossy(&k[prefix.len()..]))?;
                    let Some(saved) = self.store().get(RDOCS, id.as_str().as_bytes())? else {
                        continue;
                    };
                    let rd: RelayDoc = decode("relay document", &saved)?;
                    let doc = Automerge::load(&rd.saved)
                        .map_err(|e| Error::corrupt(format!("relay document {id}"), e))?;
                    match id.kind() {
                        DocKind::Household => files.household(&model::household::read(&doc)?)?,
                        DocKind::Visit => files.visit(&model::visit::read(&doc)?)?,
                        DocKind::Case => files.case(&model::case::read(&doc, &policy)?)?,
                    }
                    done += 1;
                    progress(done);
                }
            }
        }
        let counts = files.finish()?;
        tracing::info!(scope = %scope, ?format, dir = %dir.display(), ?counts, "exported");
        Ok(counts)
    }
}
