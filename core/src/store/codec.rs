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
//! sealed            → [1]           the store is encrypted (`store::cipher`)
//! ```
//! A coded value is `[0] ++ bytes` (plain), `[1] ++ id (u32 BE) ++ zstd frame` or
//! `[2] ++ zstd frame` (no dictionary). In an encrypted store every tree's values are coded
//! (documents with the dictionary, others with plain zstd when it gains) and then sealed,
//! dictionaries included; only the format and `sealed` markers and `trained_at_bytes` (a
//! size) stay clear. A store
//! written before this format (no `format` key) holds untagged values; its first
//! compaction rewrites them. Dictionaries are trained and values re-encoded only while a
//! store is being compacted into a fresh copy, so a crash never leaves a value whose
//! dictionary is missing.

use std::collections::BTreeMap;
use std::sync::Mutex;

use zstd::zstd_safe::{CCtx, CDict, DCtx, DDict};

use super::cipher::Cipher;
use crate::error::{Error, Result};

mod training;
#[cfg(test)]
use training::train;
pub(super) use training::{coded_trees_empty, has_samples, is_empty_db, is_sealed, retrain};

/// The sled tree holding the codec's format marker and dictionaries.
pub(super) const CODEC_TREE: &str = "__codec";
const FORMAT_KEY: &[u8] = b"format";
const FORMAT_TAGGED: u8 = 1;
const DICT_PREFIX: &[u8] = b"dict/";
const TRAINED_AT_KEY: &[u8] = b"trained_at_bytes";
const SEALED_KEY: &[u8] = b"sealed";

const TAG_PLAIN: u8 = 0;
const TAG_DICT: u8 = 1;
const TAG_ZSTD: u8 = 2;
/// Values shorter than this are not worth a zstd frame.
const ZSTD_FROM: usize = 96;

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
    /// Seals every value of an encrypted store.
    cipher: Option<Cipher>,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec")
            .field("coded", &self.coded)
            .field("tagged", &self.tagged)
            .field("dictionary", &self.current.as_ref().map(|c| c.id))
            .field("sealed", &self.cipher.is_some())
            .finish_non_exhaustive()
    }
}

fn zstd_error(what: &str, code: usize) -> Error {
    Error::corrupt(
        "store value",
        format!("{what}: {}", zstd::zstd_safe::get_error_name(code)),
    )
}

/// Decompresses one zstd `frame` with `run`, after checking the size its header claims
/// and before trusting the output: a damaged frame is [`Error::Corrupt`].
fn unframe(
    frame: &[u8],
    run: impl FnOnce(&mut Vec<u8>) -> std::result::Result<usize, usize>,
) -> Result<Vec<u8>> {
    let size = zstd::zstd_safe::get_frame_content_size(frame);
    if size > MAX_VALUE {
        return Err(Error::corrupt("store value", "bad compressed frame header"));
    }
    let mut out = Vec::with_capacity(size as usize);
    let n = run(&mut out).map_err(|c| zstd_error("decompressing", c))?;
    if n as u64 != size {
        return Err(Error::corrupt(
            "store value",
            "frame shorter than its header",
        ));
    }
    Ok(out)
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| Error::Storage("codec context lock poisoned".into()))
}

impl Codec {
    fn new(
        coded: Vec<&'static str>,
        tagged: bool,
        dicts: BTreeMap<u32, Vec<u8>>,
        cipher: Option<Cipher>,
    ) -> Self {
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
            cipher,
        }
    }

    /// The codec a database was written with (`cipher`: its data key, when sealed).
    pub(super) fn load(
        db: &sled::Db,
        coded: Vec<&'static str>,
        cipher: Option<Cipher>,
    ) -> Result<Self> {
        let t = db.open_tree(CODEC_TREE)?;
        let tagged = t.get(FORMAT_KEY)?.as_deref() == Some(&[FORMAT_TAGGED][..]);
        let mut dicts = BTreeMap::new();
        for kv in t.scan_prefix(DICT_PREFIX) {
            let (k, v) = kv?;
            let id = k[DICT_PREFIX.len()..]
                .try_into()
                .map(u32::from_be_bytes)
                .map_err(|_| Error::corrupt("store", "bad dictionary key"))?;
            let dict = match &cipher {
                Some(c) => c.open(CODEC_TREE, &k, &v)?,
                None => v.to_vec(),
            };
            dicts.insert(id, dict);
        }
        let mut codec = Codec::new(coded, tagged, dicts, cipher);
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
        cipher: Option<Cipher>,
    ) -> Self {
        let mut codec = Codec::new(coded, true, dictionary.into_iter().collect(), cipher);
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
            let stored = match &self.cipher {
                Some(c) => c.seal(CODEC_TREE, &k, d)?,
                None => d.clone(),
            };
            t.insert(k, stored)?;
        }
        t.insert(TRAINED_AT_KEY, &self.trained_at_bytes.to_be_bytes())?;
        if self.cipher.is_some() {
            t.insert(SEALED_KEY, &[1u8][..])?;
        }
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

    /// Whether `tree`'s values go through the codec (every tree's, when sealed).
    pub(super) fn is_coded(&self, tree: &str) -> bool {
        // The commit counter is a bare number sled's transaction reads (`store::witness`).
        let raw = tree == CODEC_TREE || tree == super::witness::COUNTER_TREE;
        (self.cipher.is_some() && !raw) || self.coded.contains(&tree)
    }

    /// The cipher values are sealed with, when the store is encrypted.
    pub(super) fn cipher(&self) -> Option<&Cipher> {
        self.cipher.as_ref()
    }

    /// The trees whose values go through the codec.
    pub(super) fn coded_trees(&self) -> &[&'static str] {
        &self.coded
    }

    /// The stored form of `value` under `key` in `tree`: compressed, then sealed when the
    /// store is encrypted.
    pub(super) fn encode(&self, tree: &str, key: &[u8], value: &[u8]) -> Result<Vec<u8>> {
        if !self.tagged || !self.is_coded(tree) {
            return Ok(value.to_vec());
        }
        if value.is_empty() && self.cipher.is_some() {
            // An empty value (an index entry whose key says it all) has nothing to hide.
            return Ok(Vec::new());
        }
        let packed = self.compress(tree, value)?;
        match &self.cipher {
            Some(c) => c.seal(tree, key, &packed),
            None => Ok(packed),
        }
    }

    fn compress(&self, tree: &str, value: &[u8]) -> Result<Vec<u8>> {
        let current = self.current.as_ref().filter(|_| self.coded.contains(&tree));
        let Some(cur) = current else {
            if self.cipher.is_some() && value.len() >= ZSTD_FROM {
                let mut frame = Vec::with_capacity(zstd::zstd_safe::compress_bound(value.len()));
                zstd::zstd_safe::compress(&mut frame, value, LEVEL)
                    .map_err(|c| zstd_error("compressing", c))?;
                if frame.len() + 1 < value.len() {
                    let mut out = Vec::with_capacity(frame.len() + 1);
                    out.push(TAG_ZSTD);
                    out.extend_from_slice(&frame);
                    return Ok(out);
                }
            }
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

    /// The value stored as `stored` under `key` in `tree`.
    pub(super) fn decode(&self, tree: &str, key: &[u8], stored: &[u8]) -> Result<Vec<u8>> {
        if !self.tagged || !self.is_coded(tree) {
            return Ok(stored.to_vec());
        }
        match &self.cipher {
            Some(_) if stored.is_empty() => Ok(Vec::new()),
            Some(c) => self.decompress(&c.open(tree, key, stored)?),
            None => self.decompress(stored),
        }
    }

    fn decompress(&self, stored: &[u8]) -> Result<Vec<u8>> {
        match stored.split_first() {
            Some((&TAG_PLAIN, rest)) => Ok(rest.to_vec()),
            Some((&TAG_ZSTD, frame)) => {
                unframe(frame, |out| zstd::zstd_safe::decompress(out, frame))
            }
            Some((&TAG_DICT, rest)) if rest.len() >= 4 => {
                let id = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
                let frame = &rest[4..];
                let ddict = self.decoders.get(&id).ok_or_else(|| {
                    Error::corrupt("store value", format!("names missing dictionary {id}"))
                })?;
                let mut dctx = lock(&self.dctx)?;
                unframe(frame, |out| dctx.decompress_using_ddict(out, frame, ddict))
            }
            _ => Err(Error::corrupt("store value", "unknown encoding tag")),
        }
    }
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
