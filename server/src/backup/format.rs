//! The backup file: `GSRBAK01`, then one zstd stream of length-prefixed postcard records —
//! a [`Header`], the store's entries and the identity files, and an `End` record holding
//! the count and SHA-256 of every record before it. A file cut short or changed anywhere
//! fails to read ([`BackupError::Truncated`], [`BackupError::Damaged`]) before anything is
//! restored from it.

use std::io::{Read, Write};

use gridsync_core::sync::wire::Fork;
use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};

use super::BackupError;

/// The first bytes of every backup file (format 1).
pub const MAGIC: &[u8; 8] = b"GSRBAK01";

/// Largest record a reader accepts (a relay document is at most 4 MiB).
const MAX_RECORD: usize = 64 << 20;

/// What the backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The generation of the log backed up.
    pub generation: u64,
    /// The forks that generation descends from.
    pub forks: Vec<Fork>,
    /// The log head of the snapshot: every sequence up to it, nothing after.
    pub head: u64,
    /// When the backup was taken (ms since the epoch).
    pub created_at: i64,
    /// The relay build that wrote it.
    pub relay_version: String,
}

/// One record after the header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Record {
    /// A store entry.
    Put {
        tree: String,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    /// A store entry written earlier in the file that the snapshot does not hold after all
    /// (a document created after the snapshot's head).
    Delete { tree: String, key: Vec<u8> },
    /// A file of the data directory (certificate, key, admin token hash).
    File { name: String, bytes: Vec<u8> },
    /// The last record: how many came before it (header included) and their SHA-256.
    End { records: u64, digest: Vec<u8> },
}

/// Writes records into a zstd stream, keeping the count and digest for `End`.
pub(crate) struct Writer<W: Write> {
    out: zstd::Encoder<'static, W>,
    digest: Context,
    records: u64,
}

impl<W: Write> Writer<W> {
    /// Starts a backup: magic and header.
    pub(crate) fn new(mut inner: W, header: &Header) -> Result<Self, BackupError> {
        inner.write_all(MAGIC)?;
        let mut out = zstd::Encoder::new(inner, 3)?;
        out.include_checksum(true)?;
        let mut w = Writer {
            out,
            digest: Context::new(&SHA256),
            records: 0,
        };
        w.frame(&postcard::to_allocvec(header)?)?;
        Ok(w)
    }

    fn frame(&mut self, body: &[u8]) -> Result<(), BackupError> {
        let len = u32::try_from(body.len()).map_err(|_| BackupError::TooLarge(body.len()))?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(body)?;
        self.digest.update(&len.to_le_bytes());
        self.digest.update(body);
        self.records += 1;
        Ok(())
    }

    /// Appends one record.
    pub(crate) fn record(&mut self, r: &Record) -> Result<(), BackupError> {
        self.frame(&postcard::to_allocvec(r)?)
    }

    /// Writes `End` and the end of the zstd stream; returns the inner writer and the
    /// number of records.
    pub(crate) fn finish(mut self) -> Result<(W, u64), BackupError> {
        let records = self.records;
        let digest = self.digest.clone().finish().as_ref().to_vec();
        self.frame(&postcard::to_allocvec(&Record::End { records, digest })?)?;
        Ok((self.out.finish()?, records))
    }
}

/// Reads a backup's records in order, checking the `End` record at the end.
pub(crate) struct Reader<R: Read> {
    input: zstd::Decoder<'static, std::io::BufReader<R>>,
    digest: Context,
    records: u64,
    ended: bool,
}

impl<R: Read> Reader<R> {
    /// Checks the magic and reads the header.
    pub(crate) fn open(mut inner: R) -> Result<(Self, Header), BackupError> {
        let mut magic = [0u8; 8];
        inner
            .read_exact(&mut magic)
            .map_err(|_| BackupError::NotABackup)?;
        if &magic != MAGIC {
            return Err(BackupError::NotABackup);
        }
        let mut r = Reader {
            input: zstd::Decoder::new(inner)?,
            digest: Context::new(&SHA256),
            records: 0,
            ended: false,
        };
        let body = r.frame()?.ok_or(BackupError::Truncated)?;
        let header = postcard::from_bytes(&body).map_err(|_| BackupError::Damaged)?;
        r.count(&body);
        Ok((r, header))
    }

    fn count(&mut self, body: &[u8]) {
        self.digest.update(&(body.len() as u32).to_le_bytes());
        self.digest.update(body);
        self.records += 1;
    }

    fn frame(&mut self) -> Result<Option<Vec<u8>>, BackupError> {
        let mut len = [0u8; 4];
        match self.input.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(_) => return Err(BackupError::Damaged),
        }
        let n = u32::from_le_bytes(len) as usize;
        if n > MAX_RECORD {
            return Err(BackupError::Damaged);
        }
        let mut body = vec![0u8; n];
        self.input
            .read_exact(&mut body)
            .map_err(|_| BackupError::Truncated)?;
        Ok(Some(body))
    }

    /// The next store or file record; `None` after a valid `End`.
    pub(crate) fn next_record(&mut self) -> Result<Option<Record>, BackupError> {
        if self.ended {
            return Ok(None);
        }
        let Some(body) = self.frame()? else {
            return Err(BackupError::Truncated);
        };
        let record: Record = postcard::from_bytes(&body).map_err(|_| BackupError::Damaged)?;
        if let Record::End { records, digest } = &record {
            let ours = self.digest.clone().finish();
            if *records != self.records || digest.as_slice() != ours.as_ref() {
                return Err(BackupError::Damaged);
            }
            // Nothing may follow the end, and the zstd stream must end cleanly.
            let mut rest = Vec::new();
            if self.input.read_to_end(&mut rest).is_err() || !rest.is_empty() {
                return Err(BackupError::Damaged);
            }
            self.ended = true;
            return Ok(None);
        }
        self.count(&body);
        Ok(Some(record))
    }
}
