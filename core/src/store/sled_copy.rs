//! Copies of a sled store into fresh files: a compaction when one is due (grown, other
//! page compression, untagged values, worth a new dictionary, or to be sealed), and the
//! salvage of a damaged store (ADR 0013). Both copy through `store::compact`.

use std::path::Path;

use super::cipher::Cipher;
use super::codec::{self, Codec};
use super::sled_store::{COMPACTED_MARKER, Salvaged, SledStore, TRAIN_FROM_BYTES, unlock};
use super::{SledOptions, compact, keyring, sled_open, witness};
use crate::error::{Error, Result};

impl SledStore {
    /// Copies what still reads of the (possibly damaged) store in `path` into fresh files
    /// that take its place, so that later writes land in files with no damaged record
    /// before them. Values of coded trees must decode to be kept. The copy keeps the commit
    /// counter; the next open witnesses it anew. Needs the store's key when it has one.
    pub fn salvage(path: &Path, options: SledOptions) -> Result<Salvaged> {
        let _span = tracing::info_span!("sled_salvage", path = %path.display()).entered();
        compact::recover(path)?;
        let key_file = keyring::read(path)?;
        let cipher = unlock(path, key_file.as_deref(), options.key.as_ref())?;
        let wanted = options.compression > 0;
        let db = sled_open::open_db(path, &options, wanted)?;
        let lost_commits = witness::lost_commits(path, &db)?.unwrap_or(0);
        let codec = Codec::load(&db, options.dictionary_trees.clone(), cipher)?;
        let config = sled_open::config(
            &options,
            sled_open::stored_compression(path).unwrap_or(wanted),
        );
        let (tmp, readable) =
            compact::copy_readable(&db, path, config, &codec, key_file.as_deref())?;
        drop(db);
        compact::swap_in(path, &tmp)?;
        let salvaged = Salvaged {
            entries: readable.copied,
            unreadable: readable.unreadable,
            lost_commits,
        };
        tracing::warn!(?salvaged, "store salvaged into fresh files");
        Ok(salvaged)
    }
}

/// Copies the store into a fresh database when it is due (grown, other page compression,
/// untagged, worth a new dictionary) or when `seal_with` (a data key and its key file)
/// asks for its plaintext to be sealed; returns the codec the copy was written with.
pub(super) fn copy_if_due(
    path: &Path,
    db: &sled::Db,
    codec: &Codec,
    options: &SledOptions,
    wanted: bool,
    seal_with: Option<(Cipher, Vec<u8>)>,
) -> Result<Option<Codec>> {
    let size = compact::dir_bytes(path);
    let marker = path.join(COMPACTED_MARKER);
    let last: u64 = std::fs::read_to_string(&marker)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let grown =
        options.compact_over_bytes > 0 && size > options.compact_over_bytes && size > 2 * last;
    let recompress = sled_open::stored_compression(path).is_some_and(|c| c != wanted);
    let untagged = !codec.is_tagged();
    let train = !options.dictionary_trees.is_empty()
        && size >= TRAIN_FROM_BYTES
        && size > 4 * codec.trained_at_bytes()
        && codec::has_samples(db, codec)?;
    let seal = seal_with.is_some();
    if !(grown || recompress || untagged || train || seal) {
        return Ok(None);
    }
    let _span = tracing::info_span!(
        "sled_compact",
        before = size,
        recompress,
        untagged,
        train,
        seal
    )
    .entered();
    let (cipher, key_file) = match seal_with {
        Some((c, f)) => (Some(c), Some(f)),
        None => (codec.cipher().cloned(), keyring::read(path)?),
    };
    let next = codec::retrain(db, codec, size, cipher)?;
    let config = sled_open::config(options, wanted);
    let tmp = compact::copy_out(db, path, config, codec, &next, key_file.as_deref())?;
    compact::swap_in(path, &tmp)?;
    let after = compact::dir_bytes(path);
    std::fs::write(&marker, after.to_string())
        .map_err(|e| Error::Storage(format!("writing {}: {e}", marker.display())))?;
    tracing::info!(before = size, after, dictionary = ?next.dictionary_id(), sealed = next.cipher().is_some(), "store compacted");
    Ok(Some(next))
}
