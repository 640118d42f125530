//! The dictionary codec inside a real sled store: trained at a reopen, read back, and old
//! untagged stores converted.

use super::codec::{CODEC_TREE, MIN_SAMPLES};
use super::{Batch, Scan, SledOptions, SledStore, Store};

/// A record like a visit document: shared structure, a little that varies.
fn record(i: u32) -> Vec<u8> {
    let mut x = u64::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let noise: String = (0..96)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect();
    format!(
        "{{worker:张网格,grid:县/镇/村/网格{},mode:door,notes:独居老人，血压偏高，已提醒按时服药，\
         子女在外务工，每周电话联系。{noise},household:h-{:032x}}}",
        i % 7,
        i
    )
    .repeat(6)
    .into_bytes()
}

fn fill(path: &std::path::Path, n: u32) {
    let s = SledStore::open(path, SledOptions::default()).unwrap();
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let mut b = Batch::new();
        for i in chunk {
            b.put("docs", i.to_be_bytes().to_vec(), record(*i));
        }
        s.commit(b).unwrap();
    }
}

fn raw_value(path: &std::path::Path, key: u32) -> Vec<u8> {
    // A store just dropped may hold its file lock a moment longer on a loaded machine.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let db = loop {
        match sled::Config::new().path(path).use_compression(true).open() {
            Ok(db) => break db,
            Err(e) if std::time::Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("opening {}: {e}", path.display()),
        }
    };
    db.open_tree("docs")
        .unwrap()
        .get(key.to_be_bytes())
        .unwrap()
        .unwrap()
        .to_vec()
}

#[test]
fn a_reopen_trains_a_dictionary_and_every_value_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let n = 1200;
    fill(&path, n);
    // Written before any dictionary existed: tagged plain.
    assert_eq!(raw_value(&path, 5)[0], 0);
    let s = SledStore::open(&path, SledOptions::default()).unwrap();
    assert_eq!(s.len("docs").unwrap(), n as usize);
    for i in [0, 1, 599, n - 1] {
        assert_eq!(s.get("docs", &i.to_be_bytes()).unwrap(), Some(record(i)));
    }
    let all = s.scan("docs", Scan::prefix(b"")).unwrap();
    assert!(all.iter().all(|(k, v)| {
        let i = u32::from_be_bytes(k.as_slice().try_into().unwrap());
        *v == record(i)
    }));
    // A value written now uses the dictionary too.
    let mut b = Batch::new();
    b.put("docs", n.to_be_bytes().to_vec(), record(n));
    s.commit(b).unwrap();
    assert_eq!(s.get("docs", &n.to_be_bytes()).unwrap(), Some(record(n)));
    drop(s);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let stored = raw_value(&path, 5);
    assert_eq!(stored[0], 1, "compressed with a dictionary");
    assert!(stored.len() * 3 < record(5).len(), "{} bytes", stored.len());
    assert_eq!(raw_value(&path, n)[0], 1);
}

#[test]
fn a_store_from_before_the_codec_is_converted_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    {
        // As an earlier build left it: untagged values, no codec tree.
        let db = sled::Config::new()
            .path(&path)
            .use_compression(true)
            .open()
            .unwrap();
        let t = db.open_tree("docs").unwrap();
        for i in 0..(MIN_SAMPLES as u32 + 10) {
            t.insert(i.to_be_bytes(), record(i)).unwrap();
        }
        db.flush().unwrap();
        assert!(
            !db.tree_names()
                .iter()
                .any(|n| &n[..] == CODEC_TREE.as_bytes())
        );
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    let s = SledStore::open(&path, SledOptions::default()).unwrap();
    assert_eq!(s.get("docs", &7u32.to_be_bytes()).unwrap(), Some(record(7)));
    assert_eq!(s.len("docs").unwrap(), MIN_SAMPLES + 10);
    drop(s);
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(
        matches!(raw_value(&path, 7)[0], 0 | 1),
        "tagged after the open"
    );
    let s = SledStore::open(&path, SledOptions::default()).unwrap();
    assert_eq!(s.get("docs", &9u32.to_be_bytes()).unwrap(), Some(record(9)));
}

#[test]
fn trees_outside_the_codec_keep_their_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let s = SledStore::open(&path, SledOptions::default()).unwrap();
    let mut b = Batch::new();
    b.put("index", b"k".to_vec(), b"v".to_vec());
    s.commit(b).unwrap();
    drop(s);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let db = sled::Config::new()
        .path(&path)
        .use_compression(true)
        .open()
        .unwrap();
    let v = db.open_tree("index").unwrap().get(b"k").unwrap().unwrap();
    assert_eq!(&v[..], b"v");
}
