//! Tests of an encrypted sled store (ADR 0008): nothing readable on disk, wrong and
//! missing keys, conversion of a plaintext store, rekey, erase, damaged ciphertext.

use std::path::Path;

use super::*;
use crate::error::Error;

const NAME: &str = "王秀英";
const PHONE: &str = "13912345678";

fn keyed(key: &StoreKey) -> SledOptions {
    SledOptions {
        key: Some(key.clone()),
        ..SledOptions::default()
    }
}

fn record(i: u32) -> Vec<u8> {
    format!("户主 {NAME} 电话 {PHONE} 幸福路{i}号 独居老人，需每周探访 {i}").into_bytes()
}

fn fill(s: &SledStore, n: u32) {
    let mut b = Batch::new();
    for i in 0..n {
        let k = format!("h-{i:05}").into_bytes();
        b.put(trees::DOCS, k.clone(), record(i));
        b.put(trees::INDEX, [b"H\0".as_slice(), &k].concat(), record(i));
        b.put(trees::OUTBOX, i.to_be_bytes().to_vec(), record(i));
    }
    b.put(trees::META, b"grants".to_vec(), NAME.as_bytes().to_vec());
    s.commit(b).unwrap();
}

/// Every file under `dir`, read whole.
fn all_bytes(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn holds(dir: &Path, needle: &str) -> bool {
    let n = needle.as_bytes();
    all_bytes(dir)
        .iter()
        .any(|(_, b)| b.windows(n.len()).any(|w| w == n))
}

#[test]
fn an_encrypted_store_keeps_nothing_readable_and_opens_only_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let key = StoreKey::generate();
    {
        let s = SledStore::open(&path, keyed(&key)).unwrap();
        assert!(s.is_encrypted());
        fill(&s, 600);
    }
    // Reopened (a compaction trains a dictionary on 600 records and seals it too).
    let s = SledStore::open(&path, keyed(&key)).unwrap();
    assert_eq!(s.get(trees::DOCS, b"h-00042").unwrap(), Some(record(42)));
    assert_eq!(s.len(trees::OUTBOX).unwrap(), 600);
    drop(s);
    for needle in [NAME, PHONE, "幸福路", "独居老人"] {
        assert!(!holds(&path, needle), "{needle} found on disk");
    }
    let before = all_bytes(&path);
    let wrong = SledStore::open(&path, keyed(&StoreKey::generate()));
    assert!(matches!(wrong, Err(Error::WrongKey { .. })), "{wrong:?}");
    let none = SledStore::open(&path, SledOptions::default());
    assert!(matches!(none, Err(Error::KeyNeeded { .. })), "{none:?}");
    assert!(
        all_bytes(&path) == before,
        "a failed open changed the files"
    );
}

#[test]
fn a_plaintext_store_is_converted_on_its_first_open_with_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    {
        let plain_pages = SledOptions {
            compression: 0,
            ..SledOptions::default()
        };
        let s = SledStore::open(&path, plain_pages).unwrap();
        assert!(!s.is_encrypted());
        fill(&s, 300);
    }
    assert!(
        holds(&path, "幸福路"),
        "the plaintext store holds its records in clear"
    );
    let key = StoreKey::generate();
    let s = SledStore::open(&path, keyed(&key)).unwrap();
    assert!(s.is_encrypted());
    assert_eq!(s.len(trees::DOCS).unwrap(), 300);
    assert_eq!(s.len(trees::INDEX).unwrap(), 300);
    assert_eq!(
        s.get(trees::OUTBOX, &7u32.to_be_bytes()).unwrap(),
        Some(record(7))
    );
    assert_eq!(
        s.get(trees::META, b"grants").unwrap().as_deref(),
        Some(NAME.as_bytes())
    );
    drop(s);
    for needle in [NAME, PHONE, "幸福路"] {
        assert!(!holds(&path, needle), "{needle} left in plaintext");
    }
    assert!(path.join(KEY_FILE).exists());
}

#[test]
fn rekey_switches_the_key_and_keeps_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (StoreKey::generate(), StoreKey::generate());
    let s = SledStore::open(dir.path(), keyed(&old)).unwrap();
    fill(&s, 50);
    s.rekey(&new).unwrap();
    drop(s);
    assert!(matches!(
        SledStore::open(dir.path(), keyed(&old)),
        Err(Error::WrongKey { .. })
    ));
    let s = SledStore::open(dir.path(), keyed(&new)).unwrap();
    assert_eq!(s.len(trees::DOCS).unwrap(), 50);
    let plain = SledStore::open(&dir.path().join("p"), SledOptions::default()).unwrap();
    assert!(matches!(plain.rekey(&new), Err(Error::NotEncrypted)));
}

#[test]
fn erase_removes_the_store_and_a_cut_erase_leaves_nothing_readable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let key = StoreKey::generate();
    let s = SledStore::open(&path, keyed(&key)).unwrap();
    fill(&s, 20);
    s.erase().unwrap();
    assert!(matches!(
        s.get(trees::DOCS, b"h-00001"),
        Err(Error::Erased { .. })
    ));
    drop(s);
    assert!(!path.exists() || all_bytes(&path).is_empty());
    // An erase cut right after the key file went: the records are there, unreadable.
    let s = SledStore::open(&path, keyed(&key)).unwrap();
    fill(&s, 20);
    drop(s);
    keyring::shred(&path).unwrap();
    for opts in [keyed(&key), SledOptions::default()] {
        let r = SledStore::open(&path, opts);
        assert!(matches!(r, Err(Error::Erased { .. })), "{r:?}");
    }
}

#[test]
fn a_damaged_value_is_a_clear_error_and_the_rest_reads() {
    let dir = tempfile::tempdir().unwrap();
    let key = StoreKey::generate();
    {
        let s = SledStore::open(dir.path(), keyed(&key)).unwrap();
        fill(&s, 30);
    }
    {
        // Flip one byte of one stored value, below the store.
        let db = sled::Config::new()
            .path(dir.path())
            .use_compression(true)
            .open()
            .unwrap();
        let docs = db.open_tree(trees::DOCS).unwrap();
        let mut v = docs.get(b"h-00003").unwrap().unwrap().to_vec();
        let mid = v.len() / 2;
        v[mid] ^= 0x01;
        docs.insert(b"h-00003", v).unwrap();
        db.flush().unwrap();
    }
    let s = SledStore::open(dir.path(), keyed(&key)).unwrap();
    let r = s.get(trees::DOCS, b"h-00003");
    assert!(matches!(r, Err(Error::Corrupt { .. })), "{r:?}");
    for i in (0..30).filter(|i| *i != 3) {
        let k = format!("h-{i:05}");
        assert_eq!(s.get(trees::DOCS, k.as_bytes()).unwrap(), Some(record(i)));
    }
}
