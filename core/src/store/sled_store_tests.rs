//! Tests of the sled store: conformance, compression changes, compaction, damage.
use super::*;

#[test]
fn conformance() {
    let dirs = std::sync::Mutex::new(Vec::new());
    super::super::conformance::run_all(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path(), SledOptions::default()).expect("open");
        dirs.lock().expect("lock").push(dir);
        store
    });
}

#[test]
fn a_store_made_with_the_other_compression_is_copied_into_the_wanted_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let plain = SledOptions {
        compression: 0,
        ..SledOptions::default()
    };
    let text = "留守老人 独居 网格员将持续跟进。".repeat(40).into_bytes();
    {
        let s = SledStore::open(&path, plain.clone()).unwrap();
        let mut b = Batch::new();
        for k in 0..300u32 {
            b.put("docs", k.to_be_bytes().to_vec(), text.clone());
        }
        s.commit(b).unwrap();
    }
    assert_eq!(sled_open::stored_compression(&path), Some(false));
    let s = SledStore::open(&path, SledOptions::default()).unwrap();
    assert_eq!(sled_open::stored_compression(&path), Some(true));
    assert_eq!(s.len("docs").unwrap(), 300);
    assert_eq!(
        s.get("docs", &299u32.to_be_bytes()).unwrap(),
        Some(text.clone())
    );
    drop(s);
    // And back, when an operator turns compression off.
    let s = SledStore::open(&path, plain).unwrap();
    assert_eq!(sled_open::stored_compression(&path), Some(false));
    assert_eq!(s.get("docs", &0u32.to_be_bytes()).unwrap(), Some(text));
}

#[test]
fn reopening_a_bloated_store_compacts_it_and_keeps_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let opts = SledOptions {
        compact_over_bytes: 1 << 20,
        // Compressed pages of repeated bytes would never bloat the files.
        compression: 0,
        ..SledOptions::default()
    };
    {
        let s = SledStore::open(&path, opts.clone()).unwrap();
        for round in 0..40u32 {
            let mut b = Batch::new();
            for k in 0..200u32 {
                b.put("docs", k.to_be_bytes().to_vec(), vec![round as u8; 512]);
            }
            s.commit(b).unwrap();
        }
    }
    let before = compact::dir_bytes(&path);
    let s = SledStore::open(&path, opts.clone()).unwrap();
    let after = compact::dir_bytes(&path);
    assert!(
        after < before,
        "compaction did not shrink the store: {before} -> {after}"
    );
    assert_eq!(s.len("docs").unwrap(), 200);
    assert_eq!(
        s.get("docs", &7u32.to_be_bytes()).unwrap().unwrap(),
        vec![39u8; 512]
    );
    drop(s);
    // Nothing to gain the second time: no compaction, same contents.
    let s = SledStore::open(&path, opts).unwrap();
    assert_eq!(s.len("docs").unwrap(), 200);
}

#[test]
fn survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path(), SledOptions::default()).unwrap();
        let mut b = Batch::new();
        b.put("docs", b"k".to_vec(), b"v".to_vec());
        s.commit(b).unwrap();
    }
    let s = SledStore::open(dir.path(), SledOptions::default()).unwrap();
    assert_eq!(s.get("docs", b"k").unwrap().as_deref(), Some(&b"v"[..]));
}

#[test]
fn garbage_directory_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("conf"), b"\xff\xfe garbage").unwrap();
    std::fs::write(dir.path().join("db"), vec![0xab; 4096]).unwrap();
    let r = SledStore::open(dir.path(), SledOptions::default());
    assert!(r.is_err(), "a damaged store opened");
}
