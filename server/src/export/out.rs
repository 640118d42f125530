//! One output file of an export: CSV rows or JSON lines, written under a temporary name
//! and renamed into place when complete.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use gridsync_core::error::{Error, Result};
use serde::Serialize;

use super::ExportFormat;

/// One open output file, written under a temporary name.
pub(super) struct Out {
    pub(super) tmp: PathBuf,
    pub(super) path: PathBuf,
    pub(super) csv: Option<csv::Writer<BufWriter<File>>>,
    pub(super) lines: Option<BufWriter<File>>,
}

pub(super) fn io(what: &Path, e: impl std::fmt::Display) -> Error {
    Error::Storage(format!("export {}: {e}", what.display()))
}

impl Out {
    pub(super) fn open(
        dir: &Path,
        name: &str,
        format: ExportFormat,
        header: &[&str],
    ) -> Result<Self> {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.part"));
        let file = BufWriter::new(File::create(&tmp).map_err(|e| io(&tmp, e))?);
        let mut out = Out {
            tmp,
            path,
            csv: None,
            lines: None,
        };
        match format {
            ExportFormat::Csv => {
                let mut w = csv::Writer::from_writer(file);
                w.write_record(header).map_err(|e| io(&out.tmp, e))?;
                out.csv = Some(w);
            }
            ExportFormat::Jsonl => out.lines = Some(file),
        }
        Ok(out)
    }

    pub(super) fn row(&mut self, cells: &[String]) -> Result<()> {
        match &mut self.csv {
            Some(w) => w.write_record(cells).map_err(|e| io(&self.tmp, e)),
            None => Ok(()),
        }
    }

    pub(super) fn line(&mut self, record: &impl Serialize) -> Result<()> {
        let Some(w) = &mut self.lines else {
            return Ok(());
        };
        serde_json::to_writer(&mut *w, record).map_err(|e| io(&self.tmp, e))?;
        w.write_all(b"\n").map_err(|e| io(&self.tmp, e))
    }

    pub(super) fn finish(self) -> Result<()> {
        let file = match (self.csv, self.lines) {
            (Some(w), _) => w.into_inner().map_err(|e| io(&self.tmp, e.error()))?,
            (None, Some(w)) => w,
            (None, None) => return Ok(()),
        };
        let file = file.into_inner().map_err(|e| io(&self.tmp, e.error()))?;
        file.sync_all().map_err(|e| io(&self.tmp, e))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| io(&self.path, e))
    }
}
