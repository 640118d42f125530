//! The export's tables and the one place their rows are made: [`Tables`] turns each
//! household, visit and case into rows of whichever tables are open, for the file export
//! (every table of a format) and for an HTTP download (one table) alike.

use std::io::{self, Write};

use gridsync_core::ids::{DocId, DocKind};
use gridsync_core::model::{self, Household, Visit};
use serde::Serialize;

use super::{ExportCounts, ExportError, ExportFormat, utc};
use crate::export::out::Sink;

/// One table of the export: a file of the CLI export, a download of the HTTP API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// Households (`households.csv`, `households.jsonl`).
    Households,
    /// Tier changes of households (`tier_changes.csv`; inside households in JSONL).
    TierChanges,
    /// Visits (`visits.csv`, `visits.jsonl`).
    Visits,
    /// Cases (`cases.csv`, `cases.jsonl`).
    Cases,
    /// Steps of cases (`case_timeline.csv`; inside cases in JSONL).
    CaseTimeline,
}

impl Table {
    /// Every table, in the order the file export opens them.
    pub const ALL: [Table; 5] = [
        Table::Households,
        Table::TierChanges,
        Table::Visits,
        Table::Cases,
        Table::CaseTimeline,
    ];

    /// The table's name: its file name without the extension.
    pub fn name(self) -> &'static str {
        match self {
            Table::Households => "households",
            Table::TierChanges => "tier_changes",
            Table::Visits => "visits",
            Table::Cases => "cases",
            Table::CaseTimeline => "case_timeline",
        }
    }

    /// The table named `name`.
    pub fn parse(name: &str) -> Result<Self, ExportError> {
        Table::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| ExportError::UnknownTable(name.to_string()))
    }

    /// The table whose records hold this one's rows in JSONL (tier changes and case
    /// timelines are CSV tables only); `None` for a table of its own in both formats.
    pub fn inside(self) -> Option<Table> {
        match self {
            Table::TierChanges => Some(Table::Households),
            Table::CaseTimeline => Some(Table::Cases),
            Table::Households | Table::Visits | Table::Cases => None,
        }
    }

    /// Whether `format` has this table as a file of its own.
    pub fn in_format(self, format: ExportFormat) -> bool {
        format == ExportFormat::Csv || self.inside().is_none()
    }

    /// Fails unless `format` has this table as a file of its own.
    pub fn check_format(self, format: ExportFormat) -> Result<(), ExportError> {
        match self.inside() {
            Some(inside) if format == ExportFormat::Jsonl => Err(ExportError::NotInFormat {
                table: self,
                inside,
            }),
            _ => Ok(()),
        }
    }

    /// The table's file name in `format` (`households.csv`).
    pub fn file_name(self, format: ExportFormat) -> String {
        format!("{}.{}", self.name(), format.extension())
    }

    /// The CSV header row.
    pub fn header(self) -> &'static [&'static str] {
        match self {
            Table::Households => &[
                "id", "grid", "head", "phone", "tier", "address", "members", "tags", "retired",
            ],
            Table::TierChanges => &["household", "tier", "by", "at", "reason"],
            Table::Visits => &[
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
            Table::Cases => &[
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
            Table::CaseTimeline => &[
                "case",
                "action_id",
                "actor",
                "role",
                "at",
                "action",
                "problem",
            ],
        }
    }

    /// The kind of document the table's rows come from.
    pub fn source(self) -> DocKind {
        match self {
            Table::Households | Table::TierChanges => DocKind::Household,
            Table::Visits => DocKind::Visit,
            Table::Cases | Table::CaseTimeline => DocKind::Case,
        }
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
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

/// The open tables of one export, each into its own writer, and the rows counted.
pub(super) struct Tables<W: Write> {
    format: ExportFormat,
    sinks: Vec<(Table, Sink<W>)>,
    counts: ExportCounts,
}

impl<W: Write> Tables<W> {
    /// Opens tables as `format`, each into its writer (each table must be in the format).
    pub(super) fn open(
        format: ExportFormat,
        writers: impl IntoIterator<Item = (Table, io::Result<W>)>,
    ) -> Result<Self, ExportError> {
        let mut sinks = Vec::new();
        for (table, w) in writers {
            table.check_format(format)?;
            let w = w.map_err(|e| write_error(table, format, e))?;
            let sink = Sink::open(w, format, table.header());
            sinks.push((table, sink.map_err(|e| write_error(table, format, e))?));
        }
        Ok(Tables {
            format,
            sinks,
            counts: ExportCounts::default(),
        })
    }

    /// Whether any open table takes rows from documents of `kind`.
    pub(super) fn wants(&self, kind: DocKind) -> bool {
        self.sinks.iter().any(|(t, _)| t.source() == kind)
    }

    /// Writes to `table` if it is open.
    fn to(
        &mut self,
        table: Table,
        f: impl FnOnce(&mut Sink<W>) -> io::Result<()>,
    ) -> Result<(), ExportError> {
        let format = self.format;
        match self.sinks.iter_mut().find(|(t, _)| *t == table) {
            Some((_, sink)) => f(sink).map_err(|e| write_error(table, format, e)),
            None => Ok(()),
        }
    }

    /// A household's row, and a row per tier change.
    pub(super) fn household(&mut self, h: &Household) -> Result<(), ExportError> {
        self.to(Table::Households, |s| {
            s.write(h, || {
                vec![
                    h.id.to_string(),
                    h.grid.to_string(),
                    h.head.clone(),
                    h.phone.clone(),
                    h.tier.as_str().to_string(),
                    cell(&h.address),
                    serde_json::to_string(&h.members).unwrap_or_default(),
                    h.tags.join("；"),
                    h.retired.is_some().to_string(),
                ]
            })
        })?;
        self.counts.households += 1;
        self.to(Table::TierChanges, |s| {
            h.tier_history.iter().try_for_each(|t| {
                s.row(&[
                    h.id.to_string(),
                    t.tier.as_str().to_string(),
                    t.by.clone(),
                    utc(t.at),
                    t.reason.clone(),
                ])
            })
        })?;
        self.counts.tier_changes += h.tier_history.len() as u64;
        Ok(())
    }

    /// A visit's row.
    pub(super) fn visit(&mut self, v: &Visit) -> Result<(), ExportError> {
        let r = &v.record;
        self.to(Table::Visits, |s| {
            s.write(v, || {
                vec![
                    v.id.to_string(),
                    v.grid.to_string(),
                    r.household.to_string(),
                    r.worker.clone(),
                    utc(r.at),
                    r.mode.as_str().to_string(),
                    r.notes.clone(),
                    r.findings.join("；"),
                    cell(&r.follow_ups),
                ]
            })
        })?;
        self.counts.visits += 1;
        Ok(())
    }

    /// A case's row, and a row per step of its timeline.
    pub(super) fn case(&mut self, c: &model::Case) -> Result<(), ExportError> {
        let s = &c.state;
        self.to(Table::Cases, |sink| {
            sink.write(c, || {
                vec![
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
                ]
            })
        })?;
        self.counts.cases += 1;
        self.to(Table::CaseTimeline, |sink| {
            c.timeline.iter().try_for_each(|e| {
                let a = &e.action;
                sink.row(&[
                    c.id.to_string(),
                    a.id.clone(),
                    a.actor.clone(),
                    a.role.as_str().to_string(),
                    utc(a.at),
                    cell(&a.kind),
                    e.problem.clone().unwrap_or_default(),
                ])
            })
        })?;
        self.counts.timeline_entries += c.timeline.len() as u64;
        Ok(())
    }

    /// Flushes every table: their writers, by table, and the rows counted.
    pub(super) fn finish(self) -> Result<(Vec<(Table, W)>, ExportCounts), ExportError> {
        let format = self.format;
        let mut done = Vec::with_capacity(self.sinks.len());
        for (table, sink) in self.sinks {
            done.push((
                table,
                sink.finish().map_err(|e| write_error(table, format, e))?,
            ));
        }
        Ok((done, self.counts))
    }
}

fn write_error(table: Table, format: ExportFormat, source: io::Error) -> ExportError {
    ExportError::Write {
        file: table.file_name(format),
        source,
    }
}
