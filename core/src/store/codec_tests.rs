//! Tests of the value codec: round trips, damage, training, sealing.
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
    let plain = Codec::fresh(vec!["docs"], None, 0, None);
    let with = Codec::fresh(vec!["docs"], Some((3, dict)), 0, None);
    let (mut plain_bytes, mut dict_bytes) = (0, 0);
    for v in &values {
        let p = plain.encode("docs", b"k", v).unwrap();
        let d = with.encode("docs", b"k", v).unwrap();
        assert_eq!(plain.decode("docs", b"k", &p).unwrap(), *v);
        assert_eq!(with.decode("docs", b"k", &d).unwrap(), *v);
        // A codec that knows the dictionary also reads plain values.
        assert_eq!(with.decode("docs", b"k", &p).unwrap(), *v);
        plain_bytes += p.len();
        dict_bytes += d.len();
    }
    assert!(
        dict_bytes * 2 < plain_bytes,
        "{dict_bytes} vs {plain_bytes}"
    );
    // Trees that are not coded pass through untouched.
    assert_eq!(with.encode("index", b"k", b"k").unwrap(), b"k");
}

#[test]
fn damaged_values_are_errors_not_panics() {
    let values = records(300);
    let with = Codec::fresh(vec!["docs"], Some((1, train(&values).unwrap())), 0, None);
    let good = with.encode("docs", b"k", &values[0]).unwrap();
    let without = Codec::fresh(vec!["docs"], None, 0, None);
    let cases: Vec<Vec<u8>> = vec![
        vec![],
        vec![9, 1, 2],
        vec![TAG_DICT, 0, 0],
        good[..good.len() / 2].to_vec(),
    ];
    for bad in &cases {
        assert!(matches!(
            with.decode("docs", b"k", bad),
            Err(Error::Corrupt { .. })
        ));
    }
    // A value naming a dictionary the store does not have.
    assert!(matches!(
        without.decode("docs", b"k", &good),
        Err(Error::Corrupt { .. })
    ));
    let mut flipped = good.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0xff;
    let _ = with.decode("docs", b"k", &flipped);
}

#[test]
fn too_few_values_train_nothing() {
    assert!(train(&records(MIN_SAMPLES - 1)).is_none());
}

#[test]
fn a_sealed_codec_compresses_and_seals_every_tree_and_its_dictionaries() {
    use super::super::cipher::{Cipher, StoreKey};
    let values = records(400);
    let dict = train(&values).unwrap();
    let cipher = Cipher::new(StoreKey::generate());
    let sealed = Codec::fresh(vec!["docs"], Some((1, dict)), 0, Some(cipher.clone()));
    let needle = "老人独居".as_bytes();
    for tree in ["docs", "index", "outbox", "meta"] {
        assert!(sealed.is_coded(tree));
        let v = &values[7];
        let stored = sealed.encode(tree, b"key-7", v).unwrap();
        assert!(!stored.windows(needle.len()).any(|w| w == needle), "{tree}");
        assert_eq!(sealed.decode(tree, b"key-7", &stored).unwrap(), *v);
        // Under another key the value does not open.
        assert!(matches!(
            sealed.decode(tree, b"key-8", &stored),
            Err(Error::Corrupt { .. })
        ));
    }
    // Short values are sealed uncompressed.
    let short = sealed.encode("index", b"k", b"tiny").unwrap();
    assert_eq!(sealed.decode("index", b"k", &short).unwrap(), b"tiny");
    // The dictionary, trained on the records, is stored sealed and read back.
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new().path(dir.path()).open().unwrap();
    sealed.save(&db).unwrap();
    assert!(is_sealed(&db).unwrap());
    for kv in db.open_tree(CODEC_TREE).unwrap().iter() {
        let (_, v) = kv.unwrap();
        assert!(!v.windows(needle.len()).any(|w| w == needle));
    }
    let loaded = Codec::load(&db, vec!["docs"], Some(cipher)).unwrap();
    let stored = sealed.encode("docs", b"k", &values[3]).unwrap();
    assert_eq!(loaded.decode("docs", b"k", &stored).unwrap(), values[3]);
    let wrong = Codec::load(&db, vec!["docs"], Some(Cipher::new(StoreKey::generate())));
    assert!(wrong.is_err());
}
