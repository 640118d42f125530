//! Opening a sled database for [`SledStore`]: its configuration from [`SledOptions`], the
//! compression an existing database was made with (sled fixes it at creation), and waiting
//! for a file lock a closing handle still holds.

use std::path::Path;

use super::SledOptions;
use crate::error::{Error, Result};

/// Whether the sled database in `path` was made with compression (`None`: no database
/// yet, or its `conf` file cannot be read, in which case sled reports the problem).
pub(super) fn stored_compression(path: &Path) -> Option<bool> {
    // Text lines, then a binary checksum.
    let conf = std::fs::read(path.join("conf")).ok()?;
    String::from_utf8_lossy(&conf)
        .lines()
        .find_map(|l| l.strip_prefix("use_compression:"))
        .and_then(|v| v.trim().parse().ok())
}

/// How long an open waits for the database's file lock to be released.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Opens `config`'s database. sled's background flusher can hold the file lock for a
/// moment after the last handle of the same database is dropped (an app closing and
/// reopening its store), so a lock held elsewhere is retried for up to [`LOCK_WAIT`]
/// before it is reported.
fn open_waiting_for_lock(config: &sled::Config) -> sled::Result<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        match config.open() {
            Err(e) if is_lock_held(&e) && started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Whether sled failed because another process holds the database's file lock. sled
/// reports the lock only as a plain I/O error with this text: this is the one place that
/// reads it, and the rest of the code sees [`Error::StoreInUse`].
fn is_lock_held(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.to_string().starts_with("could not acquire lock"))
}

/// sled's configuration for `options`, with or without page compression.
pub(super) fn config(options: &SledOptions, compress: bool) -> sled::Config {
    sled::Config::new()
        .cache_capacity(options.cache_bytes)
        .mode(if options.high_throughput {
            sled::Mode::HighThroughput
        } else {
            sled::Mode::LowSpace
        })
        .use_compression(compress)
        .compression_factor(options.compression.clamp(1, 22))
}

/// Opens the database in `path` with the compression it was made with (`wanted` for a
/// new database). A damaged database is an [`Error::Corrupt`], one open in another
/// process an [`Error::StoreInUse`], any other failure an [`Error::Storage`].
pub(super) fn open_db(path: &Path, options: &SledOptions, wanted: bool) -> Result<sled::Db> {
    let compress = stored_compression(path).unwrap_or(wanted);
    open_waiting_for_lock(&config(options, compress).path(path)).map_err(|e| match e {
        sled::Error::Corruption { .. } => Error::corrupt(format!("store at {}", path.display()), e),
        e if is_lock_held(&e) => Error::StoreInUse {
            path: path.display().to_string(),
        },
        other => Error::Storage(format!("cannot open store at {}: {other}", path.display())),
    })
}

#[cfg(test)]
mod tests {
    use crate::store::{SledOptions, SledStore};

    #[test]
    fn an_open_waits_briefly_for_a_closing_handle_to_release_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let first = SledStore::open(dir.path(), SledOptions::default()).unwrap();
        let closer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(first);
        });
        // Held for 300 ms: the second open waits instead of failing.
        let second = SledStore::open(dir.path(), SledOptions::default());
        closer.join().unwrap();
        assert!(second.is_ok(), "{:?}", second.err());
    }

    #[test]
    fn a_store_held_open_elsewhere_is_a_typed_in_use_error() {
        let dir = tempfile::tempdir().unwrap();
        let _held = SledStore::open(dir.path(), SledOptions::default()).unwrap();
        let second = SledStore::open(dir.path(), SledOptions::default());
        assert!(
            matches!(second, Err(crate::Error::StoreInUse { .. })),
            "{:?}",
            second.err()
        );
    }
}
