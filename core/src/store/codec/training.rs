//! What the codec reads from a whole database: training a dictionary on its values, the
//! codec a compacted copy is written with, and the markers an open looks at first.

use super::super::cipher::Cipher;
use super::{CODEC_TREE, Codec, DICT_BYTES, MAX_SAMPLES, MIN_SAMPLES, SEALED_KEY};
use crate::error::Result;

/// Trains a dictionary from `values`, already sampled (`None` when there are too few, or
/// zstd finds no structure worth keeping).
pub(in crate::store) fn train(values: &[Vec<u8>]) -> Option<Vec<u8>> {
    if values.len() < MIN_SAMPLES {
        return None;
    }
    let samples: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
    let total: usize = samples.iter().map(|s| s.len()).sum();
    let size = (total / 8).clamp(4 << 10, DICT_BYTES);
    match zstd::dict::from_samples(&samples, size) {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::warn!(%e, "no dictionary trained");
            None
        }
    }
}

/// Whether every coded tree of `db` is empty (nothing to convert or train on).
pub(in crate::store) fn coded_trees_empty(db: &sled::Db, codec: &Codec) -> Result<bool> {
    for t in codec.coded_trees() {
        if !db.open_tree(t)?.is_empty() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether a coded tree holds enough values to train a dictionary on.
pub(in crate::store) fn has_samples(db: &sled::Db, codec: &Codec) -> Result<bool> {
    for t in codec.coded_trees() {
        if db.open_tree(t)?.iter().keys().take(MIN_SAMPLES).count() == MIN_SAMPLES {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The codec a compacted copy of `db` is written with: a dictionary trained on the coded
/// trees' values (read with `old`) if they train one, else the current one; values sealed
/// with `cipher` (the store's, or a new one when a plaintext store is being encrypted).
pub(in crate::store) fn retrain(
    db: &sled::Db,
    old: &Codec,
    size: u64,
    cipher: Option<Cipher>,
) -> Result<Codec> {
    let coded = old.coded_trees().to_vec();
    let mut values = Vec::new();
    for t in &coded {
        let tree = db.open_tree(t)?;
        let step = tree.len().div_ceil(MAX_SAMPLES).max(1);
        for kv in tree.iter().step_by(step) {
            let (k, v) = kv?;
            values.push(old.decode(t, &k, &v)?);
        }
    }
    let id = old.dictionary_id().map_or(1, |i| i.wrapping_add(1));
    Ok(match train(&values) {
        Some(d) => Codec::fresh(coded, Some((id, d)), size, cipher),
        None => {
            let kept = old
                .current
                .as_ref()
                .and_then(|c| old.dicts.get(&c.id).map(|d| (c.id, d.clone())));
            Codec::fresh(coded, kept, size, cipher)
        }
    })
}

/// Whether `db` holds no record at all (every tree but the codec's is empty).
pub(in crate::store) fn is_empty_db(db: &sled::Db) -> Result<bool> {
    for name in db.tree_names() {
        if &name[..] != CODEC_TREE.as_bytes() && !db.open_tree(&name)?.is_empty() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether `db` is marked encrypted (its values sealed), key file or not.
pub(in crate::store) fn is_sealed(db: &sled::Db) -> Result<bool> {
    Ok(db.open_tree(CODEC_TREE)?.get(SEALED_KEY)?.is_some())
}
