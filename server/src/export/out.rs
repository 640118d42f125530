//! Where an export's rows go. A [`Sink`] writes one table as CSV rows (after its header
//! row) or as JSON lines into any writer: a file of the CLI export, the body of an HTTP
//! download. The file export writes each table under a temporary name ([`create`]) and
//! renames it into place when complete ([`commit`]).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::ExportFormat;

/// One table's output in one format.
pub(super) enum Sink<W: Write> {
    /// CSV: the header row is written, one row per record follows.
    Csv(Box<csv::Writer<W>>),
    /// JSONL: one JSON object per line.
    Lines(W),
}

impl<W: Write> Sink<W> {
    /// A sink into `w` as `format`, the CSV header row written.
    pub(super) fn open(w: W, format: ExportFormat, header: &[&str]) -> io::Result<Self> {
        Ok(match format {
            ExportFormat::Csv => {
                let mut csv = csv::Writer::from_writer(w);
                csv.write_record(header)?;
                Sink::Csv(Box::new(csv))
            }
            ExportFormat::Jsonl => Sink::Lines(w),
        })
    }

    /// Writes one record: `record` as a JSON line, or the cells `row` makes as a CSV row
    /// (made only for CSV).
    pub(super) fn write(
        &mut self,
        record: &impl Serialize,
        row: impl FnOnce() -> Vec<String>,
    ) -> io::Result<()> {
        match self {
            Sink::Csv(w) => Ok(w.write_record(row())?),
            Sink::Lines(w) => {
                serde_json::to_writer(&mut *w, record)?;
                w.write_all(b"\n")
            }
        }
    }

    /// Writes one CSV row (tables that exist only in CSV).
    pub(super) fn row(&mut self, cells: &[String]) -> io::Result<()> {
        match self {
            Sink::Csv(w) => Ok(w.write_record(cells)?),
            Sink::Lines(_) => Ok(()),
        }
    }

    /// Flushes everything written and hands the writer back.
    pub(super) fn finish(self) -> io::Result<W> {
        let mut w = match self {
            Sink::Csv(w) => w.into_inner().map_err(|e| e.into_error())?,
            Sink::Lines(w) => w,
        };
        w.flush()?;
        Ok(w)
    }
}

/// The temporary name a file is written under until it is complete (`.NAME.part`).
fn part(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!(".{name}.part"))
}

/// Creates `dir/.NAME.part` for writing.
pub(super) fn create(dir: &Path, name: &str) -> io::Result<BufWriter<File>> {
    Ok(BufWriter::new(File::create(part(dir, name))?))
}

/// `dir/.NAME.part` is complete: flushed to disk and renamed to `dir/NAME`.
pub(super) fn commit(dir: &Path, name: &str, w: BufWriter<File>) -> io::Result<()> {
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    std::fs::rename(part(dir, name), dir.join(name))
}
