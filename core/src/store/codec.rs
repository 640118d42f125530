//! Dictionary compression of chosen trees' values (ADR 0006).
//!
//! sled compresses each page fragment on its own, and most fragments are single small
//! records, so on its own it gains little on a handset's documents. Every document of one
//! device repeats the same things: automerge's column layout, the device's actor id, field
//! names, the grid path, the workers' names. A zstd dictionary trained on the store's own
//! documents captures those, and each value is then compressed with it on its own.
//!
//! Stored layout, in the sled tree [`CODEC_TREE`]:
//! ```text
//! format            → [1]           values of coded trees begin with a tag byte
//! dict / id (u32)   → dictionary    the newest id is the one new values use
//! trained_at_bytes  → u64           store size when the newest dictionary was trained
//! ```
//! A coded value is `[0] ++ bytes` (plain) or `[1] ++ id (u32 BE) ++ zstd frame`. A store
//! written before this format (no `format` key) holds untagged values; its first
//! compaction rewrites them. Dictionaries are trained and values re-encoded only while a
//! store is being compacted into a fresh copy, so a crash never leaves a value whose
//! dictionary is missing.

use std::collections::BTreeMap;
use std::sync::Mutex;

use zstd::zstd_safe::{CCtx, CDict, DCtx, DDict};

use crate::error::{Error, Result};

/// The sled tree holding the codec's format marker and dictionaries.
pub(super) const CODEC_TREE: &str = "__codec";
const FORMAT_KEY: &[u8] = b"format";
const FORMAT_TAGGED: u8 = 1;
const DICT_PREFIX: &[u8] = b"dict/";
const TRAINED_AT_KEY: &[u8] = b"trained_at_bytes";

const TAG_PLAIN: u8 = 0;
const TAG_DICT: u8 = 1;

/// zstd level of dictionary-compressed values: with a dictionary, higher levels gain
/// little on kilobyte-sized records (measured in ADR 0006).
const LEVEL: i32 = 3;
/// Largest dictionary trained.
const DICT_BYTES: usize = 64 << 10;
/// Fewer values than this make a dictionary that is not worth its bytes.
pub(super) const MIN_SAMPLES: usize = 256;
/// Values sampled for training, spread over the tree.
const MAX_SAMPLES: usize = 4000;
/// A decoded value larger than this is corrupt (documents are far smaller).
const MAX_VALUE: u64 = 64 << 20;

/// The dictionary new values are compressed with.
struct Current {
    id: u32,
    cdict: CDict<'static>,
    cctx: Mutex<CCtx<'static>>,
}

/// How values of the coded trees are written and read.
pub(super) struct Codec {
    coded: Vec<&'static str>,
    /// Values are tagged (false: a store from before this format, read as they are).
    tagged: bool,
    current: Option<Current>,
    /// Every dictionary a value may name, by id.
    dicts: BTreeMap<u32, Vec<u8>>,
    decoders: BTreeMap<u32, DDict<'static>>,
    dctx: Mutex<DCtx<'static>>,
    trained_at_bytes: u64,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec")
            .field("coded", &self.coded)
            .field("tagged", &self.tagged)
            .field("dictionary", &self.current.as_ref().map(|c| c.id))
            .finish_non_exhaustive()
    }
}

fn zstd_error(what: &str, code: usize) -> Error {
    Error::corrupt(
        "store value",
        format!("{what}: {}", zstd::zstd_safe::get_error_name(code)),
    )
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| Error::Storage("codec context lock poisoned".into()))
}

impl Codec {
    fn new(coded: Vec<&'static str>, tagged: bool, dicts: BTreeMap<u32, Vec<u8>>) -> Self {
        let decoders = dicts
            .iter()
            .map(|(id, d)| (*id, DDict::create(d)))
            .collect();
        let current = dicts.iter().next_back().map(|(id, d)| Current {
            id: *id,
            cdict: CDict::create(d, LEVEL),
            cctx: Mutex::new(CCtx::create()),
        });
        Codec {
            coded,
            tagged,
            current,
            dicts,
            decoders,
            dctx: Mutex::new(DCtx::create()),
            trained_at_bytes: 0,
        }
    }

    /// The codec a database was written with.
    pub(super) fn load(db: &sled::Db, coded: Vec<&'static str>) -> Result<Self> {
        let t = db.open_tree(CODEC_TREE)?;
        let tagged = t.get(FORMAT_KEY)?.as_deref() == Some(&[FORMAT_TAGGED][..]);
        let mut dicts = BTreeMap::new();
        for kv in t.scan_prefix(DICT_PREFIX) {
            let (k, v) = kv?;
            let id = k[DICT_PREFIX.len()..]
                .try_into()
                .map(u32::from_be_bytes)
                .map_err(|_| Error::corrupt("store", "bad dictionary key"))?;
            dicts.insert(id, v.to_vec());
        }
        let mut codec = Codec::new(coded, tagged, dicts);
        codec.trained_at_bytes = t
            .get(TRAINED_AT_KEY)?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0);
        Ok(codec)
    }

    /// A tagged codec for a fresh copy of a store: with `dictionary` (trained when the
    /// store was `at_bytes` big) if there is one.
    pub(super) fn fresh(
        coded: Vec<&'static str>,
        dictionary: Option<(u32, Vec<u8>)>,
        at_bytes: u64,
    ) -> Self {
        let mut codec = Codec::new(coded, true, dictionary.into_iter().collect());
        codec.trained_at_bytes = at_bytes;
        codec
    }

    /// Writes this codec's marker and dictionaries into `db` (a new database).
    pub(super) fn save(&self, db: &sled::Db) -> Result<()> {
        let t = db.open_tree(CODEC_TREE)?;
        t.insert(FORMAT_KEY, &[FORMAT_TAGGED][..])?;
        for (id, d) in &self.dicts {
            let mut k = DICT_PREFIX.to_vec();
            k.extend_from_slice(&id.to_be_bytes());
            t.insert(k, d.as_slice())?;
        }
        t.insert(TRAINED_AT_KEY, &self.trained_at_bytes.to_be_bytes())?;
        Ok(())
    }

    /// Whether values are tagged (false for a store older than this format).
    pub(super) fn is_tagged(&self) -> bool {
        self.tagged
    }

    /// The id of the dictionary new values use.
    pub(super) fn dictionary_id(&self) -> Option<u32> {
        self.current.as_ref().map(|c| c.id)
    }

    /// Store size when the current dictionary was trained.
    pub(super) fn trained_at_bytes(&self) -> u64 {
        self.trained_at_bytes
    }

    /// Whether `tree`'s values go through the codec.
    pub(super) fn is_coded(&self, tree: &str) -> bool {
        self.coded.contains(&tree)
    }

    /// The trees whose values go through the codec.
    pub(super) fn coded_trees(&self) -> &[&'static str] {
        &self.coded
    }

    /// The stored form of `value` in `tree`.
    pub(super) fn encode(&self, tree: &str, value: &[u8]) -> Result<Vec<u8>> {
        if !self.tagged || !self.is_coded(tree) {
            return Ok(value.to_vec());
        }
        let Some(cur) = &self.current else {
            let mut out = Vec::with_capacity(value.len() + 1);
            out.push(TAG_PLAIN);
            out.extend_from_slice(value);
            return Ok(out);
        };
        let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(value.len()) + 5);
        out.push(TAG_DICT);
        out.extend_from_slice(&cur.id.to_be_bytes());
        let mut frame = Vec::with_capacity(zstd::zstd_safe::compress_bound(value.len()));
        lock(&cur.cctx)?
            .compress_using_cdict(&mut frame, value, &cur.cdict)
            .map_err(|c| Error::Storage(format!("compressing a value: {c}")))?;
        out.extend_from_slice(&frame);
        Ok(out)
    }

    /// The value stored as `stored` in `tree`.
    pub(super) fn decode(&self, tree: &str, stored: &[u8]) -> Result<Vec<u8>> {
        if !self.tagged || !self.is_coded(tree) {
            return Ok(stored.to_vec());
        }
        match stored.split_first() {
            Some((&TAG_PLAIN, rest)) => Ok(rest.to_vec()),
            Some((&TAG_DICT, rest)) if rest.len() >= 4 => {
                let id = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
                let frame = &rest[4..];
                let ddict = self.decoders.get(&id).ok_or_else(|| {
                    Error::corrupt("store value", format!("names missing dictionary {id}"))
                })?;
                let size = zstd::zstd_safe::get_frame_content_size(frame);
                if size > MAX_VALUE {
                    return Err(Error::corrupt("store value", "bad compressed frame header"));
                }
                let mut out = Vec::with_capacity(size as usize);
                let n = lock(&self.dctx)?
                    .decompress_using_ddict(&mut out, frame, ddict)
                    .map_err(|c| zstd_error("decompressing", c))?;
                if n as u64 != size {
                    return Err(Error::corrupt(
                        "store value",
                        "frame shorter than its header",
                    ));
                }
                Ok(out)
            }
            _ => Err(Error::corrupt("store value", "unknown encoding tag")),
        }
    }
}

/// Trains a dictionary from `values`, already sampled (`None` when there are too few, or
/// zstd finds no structure worth keeping).
pub(super) fn train(values: &[Vec<u8>]) -> Option<Vec<u8>> {
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
pub(super) fn coded_trees_empty(db: &sled::Db, codec: &Codec) -> Result<bool> {
    for t in codec.coded_trees() {
        if !db.open_tree(t)?.is_empty() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether a coded tree holds enough values to train a dictionary on.
pub(super) fn has_samples(db: &sled::Db, codec: &Codec) -> Result<bool> {
    for t in codec.coded_trees() {
        if db.open_tree(t)?.iter().keys().take(MIN_SAMPLES).count() == MIN_SAMPLES {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The codec a compacted copy of `db` is written with: a dictionary trained on the coded
/// trees' values (read with `old`) if they train one, else the current one.
pub(super) fn retrain(db: &sled::Db, old: &Codec, size: u64) -> Result<Codec> {
    let coded = old.coded_trees().to_vec();
    let mut values = Vec::new();
    for t in &coded {
        let tree = db.open_tree(t)?;
        let step = tree.len().div_ceil(MAX_SAMPLES).max(1);
        for kv in tree.iter().step_by(step) {
            let (_, v) = kv?;
            values.push(old.decode(t, &v)?);
        }
    }
    let id = old.dictionary_id().map_or(1, |i| i.wrapping_add(1));
    Ok(match train(&values) {
        Some(d) => Codec::fresh(coded, Some((id, d)), size),
        None => {
            let kept = old
                .current
                .as_ref()
                .and_then(|c| old.dicts.get(&c.id).map(|d| (c.id, d.clone())));
            Codec::fresh(coded, kept, size)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                format!(
                    "visit {i} worker 张网格 household h-{:032x} notes 老人独居，血压偏高，已提醒按时服药 {}",
                    i * 7919,
                    i % 13
                )
                .into_bytes()
            })
            .collect()
    }

    #[test]
    fn values_round_trip_with_and_without_a_dictionary() {
        let values = records(600);
        let dict = train(&values).expect("600 similar records train a dictionary");
        let plain = Codec::fresh(vec!["docs"], None, 0);
        let with = Codec::fresh(vec!["docs"], Some((3, dict)), 0);
        let (mut plain_bytes, mut dict_bytes) = (0, 0);
        for v in &values {
            let p = plain.encode("docs", v).unwrap();
            let d = with.encode("docs", v).unwrap();
            assert_eq!(plain.decode("docs", &p).unwrap(), *v);
            assert_eq!(with.decode("docs", &d).unwrap(), *v);
            // A codec that knows the dictionary also reads plain values.
            assert_eq!(with.decode("docs", &p).unwrap(), *v);
            plain_bytes += p.len();
            dict_bytes += d.len();
        }
        assert!(
            dict_bytes * 2 < plain_bytes,
            "{dict_bytes} vs {plain_bytes}"
        );
        // Trees that are not coded pass through untouched.
        assert_eq!(with.encode("index", b"k").unwrap(), b"k");
    }

    #[test]
    fn damaged_values_are_errors_not_panics() {
        let values = records(300);
        let with = Codec::fresh(vec!["docs"], Some((1, train(&values).unwrap())), 0);
        let good = with.encode("docs", &values[0]).unwrap();
        let without = Codec::fresh(vec!["docs"], None, 0);
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![9, 1, 2],
            vec![TAG_DICT, 0, 0],
            good[..good.len() / 2].to_vec(),
        ];
        for bad in &cases {
            assert!(matches!(
                with.decode("docs", bad),
                Err(Error::Corrupt { .. })
            ));
        }
        // A value naming a dictionary the store does not have.
        assert!(matches!(
            without.decode("docs", &good),
            Err(Error::Corrupt { .. })
        ));
        let mut flipped = good.clone();
        let last = flipped.len() - 3;
        flipped[last] ^= 0xff;
        let _ = with.decode("docs", &flipped);
    }

    #[test]
    fn too_few_values_train_nothing() {
        assert!(train(&records(MIN_SAMPLES - 1)).is_none());
    }
}
