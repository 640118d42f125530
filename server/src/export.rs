//! Export for the governance centre: every household (with its tier history), visit and
//! case (with its timeline) of a grid subtree, as CSV or JSONL tables, streamed document
//! by document (`docs/EXPORT.md` names the columns).
//!
//! CSV: `households.csv`, `tier_changes.csv`, `visits.csv`, `cases.csv`,
//! `case_timeline.csv`, UTF-8 with a header row; lists are joined with `；`, nested
//! values are JSON. JSONL: `households.jsonl`, `visits.jsonl`, `cases.jsonl`, one record
//! per line as the model holds it.
//!
//! [`Hub::export`] writes every table of a format into a directory, each under a
//! temporary name renamed when complete (a failed export leaves no half-written file
//! behind). [`Hub::export_table`] writes one table into any writer (the HTTP admin API
//! streams it as a download). Both make their rows in one place, so a table's bytes are
//! the same either way.

use std::io::{self, Write};
use std::path::Path;

use automerge::Automerge;
use gridsync_core::error::{Error, Result};
use gridsync_core::ids::{DocId, DocKind, GridPath};
use gridsync_core::model;
use gridsync_core::store::Scan;
use gridsync_core::workflow::TriagePolicy;
use serde::{Deserialize, Serialize};

use crate::hub::{GDOCS, GRIDS, Hub, RDOCS, RelayDoc, decode};

mod out;
mod tables;
pub use tables::Table;
use tables::Tables;

/// The export's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// Flat CSV files, one per record kind and one per history.
    Csv,
    /// One JSON object per line, one file per record kind.
    Jsonl,
}

impl ExportFormat {
    /// The format's name, as `--format` and the HTTP API's `format=` take it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Jsonl => "jsonl",
        }
    }

    /// The format named `name` (`csv` or `jsonl`).
    pub fn parse(name: &str) -> Result<Self, ExportError> {
        match name {
            "csv" => Ok(ExportFormat::Csv),
            "jsonl" => Ok(ExportFormat::Jsonl),
            other => Err(ExportError::UnknownFormat(other.to_string())),
        }
    }

    /// The files' extension (`csv`, `jsonl`).
    pub fn extension(self) -> &'static str {
        self.as_str()
    }
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

impl ExportCounts {
    /// The rows of one table.
    pub fn of(&self, table: Table) -> u64 {
        match table {
            Table::Households => self.households,
            Table::TierChanges => self.tier_changes,
            Table::Visits => self.visits,
            Table::Cases => self.cases,
            Table::CaseTimeline => self.timeline_entries,
        }
    }
}

/// Why an export could not be made as asked, or failed part way.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// No table has this name.
    #[error(
        "no table {0:?}: households, visits or cases (and in CSV tier_changes or case_timeline)"
    )]
    UnknownTable(String),
    /// No format has this name.
    #[error("no format {0:?}: csv or jsonl")]
    UnknownFormat(String),
    /// The table is a CSV table only: in JSONL its rows are inside another table's records.
    #[error("{table} is a CSV table: in JSONL it is inside {inside}.jsonl")]
    NotInFormat {
        /// The table asked for.
        table: Table,
        /// The table whose records hold it in JSONL.
        inside: Table,
    },
    /// Reading the store or a document failed.
    #[error(transparent)]
    Store(#[from] Error),
    /// Writing a table failed (the disk, or the HTTP client went away).
    #[error("export {file}: {source}")]
    Write {
        /// The table's file name (`households.csv`).
        file: String,
        /// What failed.
        #[source]
        source: io::Error,
    },
}

impl ExportError {
    /// True for a request that cannot be carried out as asked (a name or format that does
    /// not exist), false for a failure while exporting.
    pub fn is_bad_request(&self) -> bool {
        matches!(
            self,
            ExportError::UnknownTable(_)
                | ExportError::UnknownFormat(_)
                | ExportError::NotInFormat { .. }
        )
    }
}

impl From<ExportError> for Error {
    /// The core's error for the admin socket and the command line.
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::Store(e) => e,
            e @ ExportError::Write { .. } => Error::Storage(e.to_string()),
            bad => Error::invalid("export", bad.to_string()),
        }
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
        let in_dir = |file: &str, e: &dyn std::fmt::Display| {
            Error::Storage(format!("export {}: {e}", dir.join(file).display()))
        };
        let failed = |e: ExportError| match e {
            ExportError::Write { file, source } => in_dir(&file, &source),
            other => other.into(),
        };
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Storage(format!("export {}: {e}", dir.display())))?;
        let files = Table::ALL
            .into_iter()
            .filter(|t| t.in_format(format))
            .map(|t| (t, out::create(dir, &t.file_name(format))));
        let mut files = Tables::open(format, files).map_err(failed)?;
        self.export_into(scope, &mut files, progress)
            .map_err(failed)?;
        let (files, counts) = files.finish().map_err(failed)?;
        for (table, w) in files {
            let name = table.file_name(format);
            out::commit(dir, &name, w).map_err(|e| in_dir(&name, &e))?;
        }
        tracing::info!(scope = %scope, ?format, dir = %dir.display(), ?counts, "exported");
        Ok(counts)
    }

    /// Writes `table` of `scope`'s records as `format` into `w`, byte for byte the file
    /// [`Hub::export`] writes for it; returns the rows written. Reads the store: call it
    /// on a blocking thread.
    pub fn export_table<W: Write>(
        &self,
        scope: &GridPath,
        table: Table,
        format: ExportFormat,
        w: W,
    ) -> Result<u64, ExportError> {
        let mut one = Tables::open(format, [(table, Ok(w))])?;
        self.export_into(scope, &mut one, &|_| {})?;
        let (_, counts) = one.finish()?;
        let rows = counts.of(table);
        tracing::debug!(scope = %scope, %table, ?format, rows, "exported a table");
        Ok(rows)
    }

    /// Feeds every document of `scope` that an open table wants into `tables`, calling
    /// `progress` after each document.
    fn export_into<W: Write>(
        &self,
        scope: &GridPath,
        tables: &mut Tables<W>,
        progress: &dyn Fn(u64),
    ) -> Result<(), ExportError> {
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
                    if tables.wants(id.kind()) {
                        self.export_doc(&id, &policy, tables)?;
                    }
                    done += 1;
                    progress(done);
                }
            }
        }
        Ok(())
    }

    /// Loads one document and writes its rows into `tables`.
    fn export_doc<W: Write>(
        &self,
        id: &DocId,
        policy: &TriagePolicy,
        tables: &mut Tables<W>,
    ) -> Result<(), ExportError> {
        let Some(saved) = self.store().get(RDOCS, id.as_str().as_bytes())? else {
            return Ok(());
        };
        let rd: RelayDoc = decode("relay document", &saved)?;
        let doc = Automerge::load(&rd.saved)
            .map_err(|e| Error::corrupt(format!("relay document {id}"), e))?;
        match id.kind() {
            DocKind::Household => tables.household(&model::household::read(&doc)?),
            DocKind::Visit => tables.visit(&model::visit::read(&doc)?),
            DocKind::Case => tables.case(&model::case::read(&doc, policy)?),
        }
    }
}
