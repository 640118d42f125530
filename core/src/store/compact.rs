//! Compaction of a sled store directory. sled 0.34 writes a log and reclaims space lazily;
//! a handset that keeps writing small records can hold several times its live data on
//! disk. When the store has grown past a threshold since the last compaction, it is copied
//! tree by tree into a fresh directory, which then replaces the old one.
//!
//! Crash safety: the copy is made in `<dir>.compact-tmp` and flushed; only then is `<dir>`
//! renamed to `<dir>.compact-old` and the copy renamed to `<dir>`. [`recover`] (run before
//! every open) finishes or undoes an interrupted swap: a leftover copy is discarded, and a
//! leftover old directory is restored if `<dir>` is missing or deleted if it is not.

use std::path::{Path, PathBuf};

use super::codec::{CODEC_TREE, Codec};
use crate::error::{Error, Result};

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut s = dir.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn io(what: &str, dir: &Path, e: std::io::Error) -> Error {
    Error::Storage(format!("{what} {}: {e}", dir.display()))
}

/// Finishes or undoes a compaction that a crash interrupted.
pub(super) fn recover(dir: &Path) -> Result<()> {
    let (tmp, old) = (sibling(dir, ".compact-tmp"), sibling(dir, ".compact-old"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| io("removing", &tmp, e))?;
    }
    if old.exists() {
        if dir.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| io("removing", &old, e))?;
        } else {
            std::fs::rename(&old, dir).map_err(|e| io("restoring", dir, e))?;
        }
    }
    Ok(())
}

/// Bytes of the files directly in `dir` (sled keeps its data in a few files).
pub(super) fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Copies every tree of `db` into a fresh database at `<dir>.compact-tmp` and flushes it,
/// with `key_file` (an encrypted store's, `store::keyring`) beside it. Values of coded
/// trees are read with codec `old` and written with `new`.
pub(super) fn copy_out(
    db: &sled::Db,
    dir: &Path,
    config: sled::Config,
    old: &Codec,
    new: &Codec,
    key_file: Option<&[u8]>,
) -> Result<PathBuf> {
    let tmp = sibling(dir, ".compact-tmp");
    let fresh = config.path(&tmp).create_new(true).open()?;
    for name in db.tree_names() {
        if &name[..] == CODEC_TREE.as_bytes() {
            continue;
        }
        let tree = String::from_utf8_lossy(&name).into_owned();
        let recode = old.is_coded(&tree) || new.is_coded(&tree);
        let (from, to) = (db.open_tree(&name)?, fresh.open_tree(&name)?);
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for kv in from.iter() {
            let (k, v) = kv?;
            if recode {
                let value = new.encode(&tree, &k, &old.decode(&tree, &k, &v)?)?;
                batch.insert(k, value);
            } else {
                batch.insert(k, v);
            }
            n += 1;
            if n % 1024 == 0 {
                to.apply_batch(std::mem::take(&mut batch))?;
            }
        }
        to.apply_batch(batch)?;
    }
    new.save(&fresh)?;
    fresh.flush()?;
    drop(fresh);
    if let Some(file) = key_file {
        super::keyring::write(&tmp, file)?;
    }
    Ok(tmp)
}

/// What [`copy_readable`] copied, and what it could not read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Readable {
    /// Entries copied.
    pub(super) copied: u64,
    /// Entries (or the rest of a tree) that could not be read or decoded.
    pub(super) unreadable: u64,
}

/// Like [`copy_out`] with one codec, for a damaged database: every entry that still reads
/// and decodes is copied as it is stored; one that does not is counted and left out, and a
/// tree whose iteration fails is cut there.
pub(super) fn copy_readable(
    db: &sled::Db,
    dir: &Path,
    config: sled::Config,
    codec: &Codec,
    key_file: Option<&[u8]>,
) -> Result<(PathBuf, Readable)> {
    let tmp = sibling(dir, ".compact-tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| io("removing", &tmp, e))?;
    }
    let fresh = config.path(&tmp).create_new(true).open()?;
    let mut counts = Readable::default();
    for name in db.tree_names() {
        if &name[..] == CODEC_TREE.as_bytes() {
            continue;
        }
        let tree = String::from_utf8_lossy(&name).into_owned();
        let (from, to) = (db.open_tree(&name)?, fresh.open_tree(&name)?);
        let mut batch = sled::Batch::default();
        for kv in from.iter() {
            let Ok((k, v)) = kv else {
                counts.unreadable += 1;
                break;
            };
            if codec.is_coded(&tree) && codec.decode(&tree, &k, &v).is_err() {
                counts.unreadable += 1;
                continue;
            }
            batch.insert(k, v);
            counts.copied += 1;
            if counts.copied % 1024 == 0 {
                to.apply_batch(std::mem::take(&mut batch))?;
            }
        }
        to.apply_batch(batch)?;
    }
    codec.save(&fresh)?;
    fresh.flush()?;
    drop(fresh);
    if let Some(file) = key_file {
        super::keyring::write(&tmp, file)?;
    }
    Ok((tmp, counts))
}

/// Replaces `dir` with the flushed copy at `tmp` (the old database must be closed).
pub(super) fn swap_in(dir: &Path, tmp: &Path) -> Result<()> {
    let old = sibling(dir, ".compact-old");
    std::fs::rename(dir, &old).map_err(|e| io("moving aside", dir, e))?;
    std::fs::rename(tmp, dir).map_err(|e| io("moving into place", dir, e))?;
    std::fs::remove_dir_all(&old).map_err(|e| io("removing", &old, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_swap_is_undone_or_finished() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("store");
        // Crash after moving the old store aside, before the copy moved in: restore.
        std::fs::create_dir_all(sibling(&dir, ".compact-old")).unwrap();
        std::fs::write(sibling(&dir, ".compact-old").join("db"), b"old").unwrap();
        std::fs::create_dir_all(sibling(&dir, ".compact-tmp")).unwrap();
        recover(&dir).unwrap();
        assert_eq!(std::fs::read(dir.join("db")).unwrap(), b"old");
        assert!(!sibling(&dir, ".compact-tmp").exists());
        // Crash after the copy moved in, before the old one was deleted: delete it.
        std::fs::create_dir_all(sibling(&dir, ".compact-old")).unwrap();
        recover(&dir).unwrap();
        assert!(!sibling(&dir, ".compact-old").exists());
        assert_eq!(std::fs::read(dir.join("db")).unwrap(), b"old");
    }
}
