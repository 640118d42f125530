//! The conformance suite every [`Store`] must pass. Each backend's tests call
//! [`run_all`] with a constructor for fresh, empty stores.

use super::{Batch, Scan, Store};

const T: &str = "conformance";
const U: &str = "conformance_other";

/// Runs every conformance check, each on a fresh store from `make`.
pub fn run_all<S: Store>(make: impl Fn() -> S) {
    put_get_delete(&make());
    batch_spans_trees(&make());
    scans_are_ordered_and_paged(&make());
    reverse_scans(&make());
    later_ops_win(&make());
    missing_tree_is_empty(&make());
    expectations_guard_commits(&make());
    many_at_once(&make());
    erase_ends_the_store(&make());
}

fn many_at_once(s: &impl Store) {
    let mut b = Batch::new();
    b.put(T, b"a".to_vec(), b"1".to_vec());
    b.put(T, b"c".to_vec(), b"3".to_vec());
    b.put(U, b"b".to_vec(), b"other tree".to_vec());
    s.commit(b).expect("commit");
    let keys = [b"c".to_vec(), b"b".to_vec(), b"a".to_vec(), b"c".to_vec()];
    let got = s.get_many(T, &keys).expect("get_many");
    let want: Vec<Option<Vec<u8>>> = vec![
        Some(b"3".to_vec()),
        None,
        Some(b"1".to_vec()),
        Some(b"3".to_vec()),
    ];
    assert_eq!(got, want);
    assert!(s.get_many(T, &[]).expect("none").is_empty());
}

fn expectations_guard_commits(s: &impl Store) {
    let mut b = Batch::new();
    b.expect(T, b"head".to_vec(), None);
    b.put(T, b"head".to_vec(), b"1".to_vec());
    s.commit(b).expect("absent as expected");
    // A writer that read the old value loses, and writes nothing.
    let mut b = Batch::new();
    b.expect(T, b"head".to_vec(), None);
    b.put(T, b"head".to_vec(), b"9".to_vec());
    b.put(U, b"other".to_vec(), b"x".to_vec());
    assert!(matches!(s.commit(b), Err(crate::Error::Conflict { .. })));
    assert_eq!(s.get(T, b"head").expect("get").as_deref(), Some(&b"1"[..]));
    assert_eq!(s.get(U, b"other").expect("get"), None);
    let mut b = Batch::new();
    b.expect(T, b"head".to_vec(), Some(b"1".to_vec()));
    b.put(T, b"head".to_vec(), b"2".to_vec());
    s.commit(b).expect("held as expected");
    assert_eq!(s.get(T, b"head").expect("get").as_deref(), Some(&b"2"[..]));
}

fn erase_ends_the_store(s: &impl Store) {
    let mut b = Batch::new();
    b.put(T, b"a".to_vec(), b"1".to_vec());
    s.commit(b).expect("commit");
    s.erase().expect("erase");
    assert!(matches!(s.get(T, b"a"), Err(crate::Error::Erased { .. })));
    assert!(matches!(
        s.scan(T, Scan::prefix(b"")),
        Err(crate::Error::Erased { .. })
    ));
    let mut b = Batch::new();
    b.put(T, b"b".to_vec(), b"2".to_vec());
    assert!(matches!(s.commit(b), Err(crate::Error::Erased { .. })));
}

fn put_get_delete(s: &impl Store) {
    let mut b = Batch::new();
    b.put(T, b"a".to_vec(), b"1".to_vec());
    s.commit(b).expect("commit");
    assert_eq!(s.get(T, b"a").expect("get").as_deref(), Some(&b"1"[..]));
    let mut b = Batch::new();
    b.delete(T, b"a".to_vec());
    b.delete(T, b"never-there".to_vec());
    s.commit(b).expect("commit");
    assert_eq!(s.get(T, b"a").expect("get"), None);
}

fn batch_spans_trees(s: &impl Store) {
    let mut b = Batch::new();
    b.put(T, b"k".to_vec(), b"t".to_vec());
    b.put(U, b"k".to_vec(), b"u".to_vec());
    s.commit(b).expect("commit");
    assert_eq!(s.get(T, b"k").expect("get").as_deref(), Some(&b"t"[..]));
    assert_eq!(s.get(U, b"k").expect("get").as_deref(), Some(&b"u"[..]));
    assert_eq!(s.len(U).expect("len"), 1);
}

fn scans_are_ordered_and_paged(s: &impl Store) {
    let mut b = Batch::new();
    for k in ["p/3", "p/1", "q/1", "p/2", "o/9", "p0"] {
        b.put(T, k.as_bytes().to_vec(), k.as_bytes().to_vec());
    }
    s.commit(b).expect("commit");
    let keys = |v: Vec<(Vec<u8>, Vec<u8>)>| -> Vec<String> {
        v.into_iter()
            .map(|(k, _)| String::from_utf8(k).expect("utf8"))
            .collect()
    };
    assert_eq!(
        keys(s.scan(T, Scan::prefix(b"p/")).expect("scan")),
        ["p/1", "p/2", "p/3"]
    );
    let page = Scan {
        prefix: b"p/",
        after: Some(b"p/1"),
        limit: 1,
        reverse: false,
    };
    assert_eq!(keys(s.scan(T, page).expect("scan")), ["p/2"]);
    let all = keys(s.scan(T, Scan::prefix(b"")).expect("scan"));
    assert_eq!(all, ["o/9", "p/1", "p/2", "p/3", "p0", "q/1"]);
    let none = Scan {
        prefix: b"p/",
        after: Some(b"p/3"),
        limit: 10,
        reverse: false,
    };
    assert!(s.scan(T, none).expect("scan").is_empty());
}

fn reverse_scans(s: &impl Store) {
    let mut b = Batch::new();
    for k in [b"r\x00\x01".as_slice(), b"r\x00\x02", b"r\x00\xff", b"s"] {
        b.put(T, k.to_vec(), b"".to_vec());
    }
    s.commit(b).expect("commit");
    let rev = Scan {
        prefix: b"r\x00",
        after: None,
        limit: 2,
        reverse: true,
    };
    let got: Vec<Vec<u8>> = s
        .scan(T, rev)
        .expect("scan")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(got, vec![b"r\x00\xff".to_vec(), b"r\x00\x02".to_vec()]);
    let rev_after = Scan {
        prefix: b"r\x00",
        after: Some(b"r\x00\x02"),
        limit: 9,
        reverse: true,
    };
    let got: Vec<Vec<u8>> = s
        .scan(T, rev_after)
        .expect("scan")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(got, vec![b"r\x00\x01".to_vec()]);
}

fn later_ops_win(s: &impl Store) {
    let mut b = Batch::new();
    b.put(T, b"x".to_vec(), b"1".to_vec());
    b.delete(T, b"x".to_vec());
    b.put(T, b"y".to_vec(), b"1".to_vec());
    b.put(T, b"y".to_vec(), b"2".to_vec());
    s.commit(b).expect("commit");
    assert_eq!(s.get(T, b"x").expect("get"), None);
    assert_eq!(s.get(T, b"y").expect("get").as_deref(), Some(&b"2"[..]));
}

fn missing_tree_is_empty(s: &impl Store) {
    assert_eq!(s.get("never_created", b"k").expect("get"), None);
    assert!(
        s.scan("never_created", Scan::prefix(b""))
            .expect("scan")
            .is_empty()
    );
}
