//! Fuzz targets shared by the `fuzz_*` tests and the crasher replay: bad bytes from the
//! wire and from disk must come back as errors, never as panics.
//!
//! - [`frame_target`]: bytes into `FrameDecoder` for both directions (a failed decoder
//!   must stay failed; what it returns must be valid and re-encode to itself).
//! - [`change_target`], [`snapshot_target`], [`doc_target`]: bytes as an automerge change
//!   for `Replica::apply_changes`, as a snapshot in `Replica::apply_batch`, or as the stored
//!   document in the `docs` tree read back through a fresh `Replica`; each on a replica
//!   that already holds a household, a visit and a case.
//! - [`replay`]: runs the target a crasher file's name says (`<target>-<kind>-....bin`).
//!
//! [`Mutation`] and [`fix_checksums`] help structure-aware fuzzing: automerge chunks carry
//! a SHA-256 checksum, so without fixing it almost every mutation stops at the checksum.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use anyhow::{Result, bail};
use gridsync_core::model::{Address, NewCase, NewHousehold, NewVisit, Role, Tier, VisitMode};
use gridsync_core::replica::CaseActionInput;
use gridsync_core::store::{Batch, MemoryStore, Store, trees};
use gridsync_core::sync::frame::{FrameDecoder, FrameEncoder};
use gridsync_core::sync::wire::{ClientMsg, Cursor, Entry, Payload, RelayMsg};
use gridsync_core::workflow::ActionKind;
use gridsync_core::{DocId, DocKind, GridPath, Replica, ReplicaConfig};
use proptest::prelude::*;

// ---- mutations ------------------------------------------------------------------------

/// One edit of a byte string; positions are taken modulo the length.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Flip one bit.
    FlipBit(usize, u8),
    /// Overwrite one byte.
    SetByte(usize, u8),
    /// Delete up to n bytes.
    Delete(usize, usize),
    /// Insert bytes.
    Insert(usize, Vec<u8>),
    /// Cut the end off.
    Truncate(usize),
    /// Copy a range over another place (repeats structure: a length, a varint, an op).
    Splice(usize, usize, usize),
    /// Write an extreme LEB128 varint (lengths and counts are LEB128 in postcard and
    /// automerge).
    BigVarint(usize),
}

/// A strategy for one [`Mutation`].
pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::SetByte(i, b)),
        2 => (any::<usize>(), 1usize..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
        2 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (any::<usize>(), any::<usize>(), 1usize..32)
            .prop_map(|(a, b, n)| Mutation::Splice(a, b, n)),
        2 => any::<usize>().prop_map(Mutation::BigVarint),
    ]
}

/// Applies one mutation.
pub fn mutate(data: &mut Vec<u8>, m: &Mutation) {
    let len = data.len();
    let at = |i: usize| if len == 0 { 0 } else { i % len };
    let gap = |i: usize| if len == 0 { 0 } else { i % (len + 1) };
    match m {
        Mutation::FlipBit(i, b) if len > 0 => data[at(*i)] ^= 1 << (b % 8),
        Mutation::SetByte(i, v) if len > 0 => data[at(*i)] = *v,
        Mutation::Delete(i, n) if len > 0 => {
            let s = at(*i);
            data.drain(s..(s + n).min(len));
        }
        Mutation::Insert(i, b) => {
            let s = gap(*i);
            data.splice(s..s, b.iter().copied());
        }
        Mutation::Truncate(i) => data.truncate(gap(*i)),
        Mutation::Splice(a, b, n) if len > 0 => {
            let (a, b) = (at(*a), at(*b));
            let n = (*n).min(len - a).min(len - b);
            let chunk = data[a..a + n].to_vec();
            data[b..b + n].copy_from_slice(&chunk);
        }
        Mutation::BigVarint(i) => {
            let s = gap(*i);
            let big = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
            let end = (s + big.len()).min(len);
            data.splice(s..end, big);
        }
        _ => {}
    }
}

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// Recomputes the checksum of every automerge chunk found at a chunk boundary (magic,
/// 4-byte checksum = first 4 bytes of SHA-256 over type, LEB128 length and data), so a
/// mutated chunk gets past the checksum into the parser.
pub fn fix_checksums(bytes: &mut [u8]) {
    let mut at = 0;
    while at + 9 <= bytes.len() && bytes[at..at + 4] == MAGIC {
        let mut len: u64 = 0;
        let mut shift = 0;
        let mut i = at + 9;
        while i < bytes.len() && shift < 64 {
            let b = bytes[i];
            len |= u64::from(b & 0x7f) << shift;
            shift += 7;
            i += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| i.checked_add(l))
            .map_or(bytes.len(), |e| e.min(bytes.len()));
        let sum = ring::digest::digest(&ring::digest::SHA256, &bytes[at + 8..end]);
        bytes[at + 4..at + 8].copy_from_slice(&sum.as_ref()[..4]);
        if end <= at + 9 {
            break;
        }
        at = end;
    }
}

// ---- frames ---------------------------------------------------------------------------

/// Pushes `bytes` into a decoder split at `cuts`, popping after every push. Panics (the
/// finding) if the decoder panics, returns a message after failing, or returns a message
/// that is invalid or does not re-encode to itself. Returns the messages decoded.
pub fn decode_checked<T>(bytes: &[u8], cuts: &[usize], valid: impl Fn(&T)) -> usize
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    let mut d: FrameDecoder<T> = FrameDecoder::new();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    points.push(bytes.len());
    let mut at = 0;
    let mut failed = false;
    let mut got = 0;
    for p in points {
        let pushed = d.push(&bytes[at..p]);
        at = p;
        if pushed.is_err() {
            failed = true;
        } else {
            assert!(!failed, "a failed decoder accepted more bytes");
        }
        loop {
            match d.pop() {
                Ok(Some(msg)) => {
                    assert!(!failed, "a failed decoder returned {msg:?}");
                    valid(&msg);
                    let again = FrameEncoder::default()
                        .encode(&msg)
                        .expect("a decoded message re-encodes");
                    let mut d2: FrameDecoder<T> = FrameDecoder::new();
                    d2.push(&again).expect("re-encoded frame accepted");
                    let back = d2.pop().expect("re-encoded frame decodes");
                    assert_eq!(back.as_ref(), Some(&msg), "re-encoding changed the message");
                    got += 1;
                }
                Ok(None) => break,
                Err(_) => {
                    failed = true;
                    assert!(d.is_poisoned(), "an error did not poison the decoder");
                    break;
                }
            }
        }
    }
    let _ = d.finish();
    got
}

fn valid_cursor(c: &Cursor) {
    if let Cursor::Snapshot {
        after_doc: Some(d), ..
    } = c
    {
        assert!(DocId::parse(d.as_str()).is_ok(), "invalid id {d:?} decoded");
    }
}

/// Panics if a decoded handset message holds an invalid id or grid.
pub fn valid_client(m: &ClientMsg) {
    match m {
        ClientMsg::Push { changes, .. } => {
            for c in changes {
                assert!(DocId::parse(c.doc.as_str()).is_ok(), "invalid id decoded");
                assert!(
                    GridPath::parse(c.grid.as_str()).is_ok(),
                    "invalid grid decoded"
                );
            }
        }
        ClientMsg::Pull { cursor, scopes, .. } => {
            valid_cursor(cursor);
            for s in scopes {
                assert!(GridPath::parse(s.as_str()).is_ok(), "invalid grid decoded");
            }
        }
        _ => {}
    }
}

/// Panics if a decoded relay message holds an invalid id, grid or cursor.
pub fn valid_relay(m: &RelayMsg) {
    match m {
        RelayMsg::Welcome { grants, .. } => {
            for s in &grants.scopes {
                assert!(GridPath::parse(s.as_str()).is_ok(), "invalid grid decoded");
            }
        }
        RelayMsg::Batch {
            from,
            next,
            entries,
            ..
        } => {
            valid_cursor(from);
            valid_cursor(next);
            for e in entries {
                assert!(DocId::parse(e.doc.as_str()).is_ok(), "invalid id decoded");
                assert!(
                    GridPath::parse(e.grid.as_str()).is_ok(),
                    "invalid grid decoded"
                );
            }
        }
        _ => {}
    }
}

/// `bytes` into both decoders, whole and split at `cuts`.
pub fn frame_target(bytes: &[u8], cuts: &[usize]) {
    decode_checked::<ClientMsg>(bytes, cuts, valid_client);
    decode_checked::<RelayMsg>(bytes, cuts, valid_relay);
}

// ---- documents ------------------------------------------------------------------------

/// One record of the fixture: its id, grid, changes and saved document.
#[derive(Debug, Clone)]
pub struct FixtureDoc {
    /// The id.
    pub id: DocId,
    /// Its grid.
    pub grid: GridPath,
    /// Every change, oldest first.
    pub changes: Vec<Vec<u8>>,
    /// The document as the store keeps it (`save()`).
    pub saved: Vec<u8>,
    /// The document as snapshots carry it (`save_nocompress()`).
    pub snapshot: Vec<u8>,
}

const GRID: &str = "ankang/hanbin/laocheng/xinhua/g03";
const DEVICE: &str = "fuzz-phone";

fn fresh_replica() -> Result<(Arc<MemoryStore>, Replica)> {
    let store = Arc::new(MemoryStore::new());
    let replica = Replica::open_with(store.clone(), DEVICE, ReplicaConfig::default())?;
    Ok((store, replica))
}

fn make_fixture() -> Result<Vec<FixtureDoc>> {
    let (store, r) = fresh_replica()?;
    let grid = GridPath::parse(GRID)?;
    let h = r.register_household(
        &NewHousehold {
            grid: grid.clone(),
            address: Address::Rural {
                group: "三组".into(),
                courtyard: "石板院子".into(),
                number: "7号".into(),
            },
            head: "杨德明".into(),
            members: vec![],
            phone: "13900000000".into(),
            tier: Tier::Red,
            tags: vec!["独居".into(), "低保".into()],
            contacts: vec!["w-li-na".into()],
        },
        "w-li-na",
    )?;
    let v = r.log_visit(&NewVisit {
        household: h.clone(),
        worker: "w-li-na".into(),
        at: 1_704_700_800_000,
        mode: VisitMode::DoorToDoor,
        notes: "入户走访：老人腿脚不便，屋顶漏雨，已联系村委维修。".into(),
        findings: vec!["屋顶漏雨".into()],
        follow_ups: vec![],
        geo: None,
    })?;
    let c = r.report_case(&NewCase {
        grid: grid.clone(),
        reporter: "w-li-na".into(),
        role: Role::GridWorker,
        household: Some(h.clone()),
        title: "屋顶漏雨".into(),
        description: "杨德明家屋顶漏雨，需村委协调维修。".into(),
        category: "基础设施".into(),
        at: 1_704_700_900_000,
    })?;
    r.act_on_case(
        &c,
        &CaseActionInput {
            actor: "s-wang".into(),
            role: Role::CommunityStaff,
            at: Some(1_704_704_400_000),
            kind: ActionKind::Accept,
        },
    )?;
    let mut out = Vec::new();
    for id in [h, v, c] {
        let saved = store
            .get(trees::DOCS, id.as_str().as_bytes())?
            .ok_or_else(|| anyhow::anyhow!("fixture document missing"))?;
        let snapshot = automerge::Automerge::load(&saved)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .save_nocompress();
        out.push(FixtureDoc {
            changes: r.changes_since(&id, &[])?,
            id,
            grid: grid.clone(),
            saved,
            snapshot,
        });
    }
    Ok(out)
}

/// A household, a visit (of it) and a case (about it), made once per process.
pub fn fixture() -> &'static [FixtureDoc] {
    static F: OnceLock<Vec<FixtureDoc>> = OnceLock::new();
    F.get_or_init(|| make_fixture().expect("the fuzz fixture builds"))
}

/// The fixture document of a kind.
pub fn fixture_doc(kind: DocKind) -> &'static FixtureDoc {
    fixture()
        .iter()
        .find(|d| d.id.kind() == kind)
        .expect("the fixture has every kind")
}

/// A replica holding the fixture's documents (received, as from the relay).
fn seeded_replica() -> Result<(Arc<MemoryStore>, Replica)> {
    let (store, r) = fresh_replica()?;
    for d in fixture() {
        r.apply_changes(&d.id, &d.grid, &d.changes)?;
    }
    Ok((store, r))
}

/// Reads everything about the fixture's records, ignoring errors (only panics count).
fn exercise(r: &Replica) {
    let f = fixture();
    let (h, v, c) = (&f[0].id, &f[1].id, &f[2].id);
    let _ = r.household(h);
    let _ = r.household_conflicts(h);
    let _ = r.list_households(None);
    let _ = r.count_households(None);
    let _ = r.visits_of(h, 100);
    let _ = r.visit(v);
    let _ = r.case(c);
    let _ = r.cases_for_review();
    for d in f {
        let _ = r.heads(&d.id);
        let _ = r.changes_since(&d.id, &[]);
        let _ = r.record_sync_state(&d.id);
    }
    let _ = r.pending();
    // Writing on top of whatever is there must fail cleanly or work.
    let _ = r.log_visit(&NewVisit {
        household: h.clone(),
        worker: "w-li-na".into(),
        at: 1_704_787_200_000,
        mode: VisitMode::Phone,
        notes: "电话回访。".into(),
        findings: vec![],
        follow_ups: vec![],
        geo: None,
    });
    let _ = r.update_household(
        h,
        &gridsync_core::model::HouseholdUpdate {
            phone: Some("13900000001".into()),
            ..Default::default()
        },
    );
}

/// `bytes` as a change of the fixture's `kind` document: on a fresh replica and on one
/// that already holds the document. Errors are fine; panics are the finding.
pub fn change_target(kind: DocKind, bytes: &[u8]) -> Result<()> {
    let d = fixture_doc(kind);
    let (_, fresh) = fresh_replica()?;
    let _ = fresh.apply_changes(&d.id, &d.grid, &[bytes.to_vec()]);
    exercise(&fresh);
    let (_, seeded) = seeded_replica()?;
    let _ = seeded.apply_changes(&d.id, &d.grid, &[bytes.to_vec()]);
    exercise(&seeded);
    Ok(())
}

/// `bytes` as a snapshot of the fixture's `kind` document in a pulled batch.
pub fn snapshot_target(kind: DocKind, bytes: &[u8]) -> Result<()> {
    let d = fixture_doc(kind);
    let entry = Entry {
        doc: d.id.clone(),
        grid: d.grid.clone(),
        payload: Payload::Snapshot(bytes.to_vec()),
    };
    let cursor = Cursor::Log { after: 7 };
    let (_, fresh) = fresh_replica()?;
    let _ = fresh.apply_batch(std::slice::from_ref(&entry), &cursor);
    exercise(&fresh);
    let (_, seeded) = seeded_replica()?;
    let _ = seeded.apply_batch(&[entry], &cursor);
    exercise(&seeded);
    Ok(())
}

/// `bytes` stored as the fixture's `kind` document in the `docs` tree, read back through
/// a replica opened afresh over the same store.
pub fn doc_target(kind: DocKind, bytes: &[u8]) -> Result<()> {
    let d = fixture_doc(kind);
    let (store, seeded) = seeded_replica()?;
    drop(seeded);
    let mut batch = Batch::new();
    batch.put(
        trees::DOCS,
        d.id.as_str().as_bytes().to_vec(),
        bytes.to_vec(),
    );
    store.commit(batch)?;
    let r = Replica::open_with(store, DEVICE, ReplicaConfig::default())?;
    exercise(&r);
    Ok(())
}

// ---- crashers -------------------------------------------------------------------------

fn kind_letter(kind: DocKind) -> char {
    match kind {
        DocKind::Household => 'h',
        DocKind::Visit => 'v',
        DocKind::Case => 'c',
    }
}

/// Runs `f`; if it panics, saves `input` as `<target>-....bin` under
/// `$CARGO_TARGET_TMPDIR`-style `dir` for `tests/fixtures/crashers/`, then panics on.
pub fn guarded(dir: &Path, target: &str, input: &[u8], f: impl FnOnce()) {
    if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        let _ = std::fs::create_dir_all(dir);
        let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, x| {
            (h ^ u64::from(*x)).wrapping_mul(0x100_0000_01b3)
        });
        let path = dir.join(format!("{target}-{hash:016x}.bin"));
        let _ = std::fs::write(&path, input);
        eprintln!(
            "crasher saved as {}; copy it to tests/fixtures/crashers/ to replay it in CI",
            path.display()
        );
        std::panic::resume_unwind(p);
    }
}

/// The target name for a store crasher of `what` (`change`, `snapshot`, `doc`) on `kind`.
pub fn store_target_name(what: &str, kind: DocKind) -> String {
    format!("{what}-{}", kind_letter(kind))
}

/// Replays a crasher file: the target is the file name up to the last `-`
/// (`frame`, `frame-client`, `frame-relay`, `change-h`, `snapshot-v`, `doc-c`, ...).
pub fn replay(path: &Path) -> Result<()> {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let target = name.rsplit_once('-').map_or(name, |(t, _)| t);
    let bytes = std::fs::read(path)?;
    let kind = |c: &str| match c {
        "h" => Ok(DocKind::Household),
        "v" => Ok(DocKind::Visit),
        "c" => Ok(DocKind::Case),
        _ => bail!("unknown document kind {c:?} in {name}"),
    };
    match target.split_once('-') {
        None if target == "frame" => frame_target(&bytes, &[]),
        Some(("frame", "client")) => {
            decode_checked::<ClientMsg>(&bytes, &[], valid_client);
        }
        Some(("frame", "relay")) => {
            decode_checked::<RelayMsg>(&bytes, &[], valid_relay);
        }
        Some(("change", k)) => change_target(kind(k)?, &bytes)?,
        Some(("snapshot", k)) => snapshot_target(kind(k)?, &bytes)?,
        Some(("doc", k)) => doc_target(kind(k)?, &bytes)?,
        _ => bail!("unknown crasher target {target:?} ({})", path.display()),
    }
    Ok(())
}
