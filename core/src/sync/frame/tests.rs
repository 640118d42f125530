//! Tests of the wire codec: round trips at every cut, limits, flags and corruption.

use proptest::prelude::*;

use super::*;
use crate::sync::sim::strategies::{client_msg, relay_msg};

fn decode_all<T: DeserializeOwned>(bytes: &[u8], cuts: &[usize]) -> Result<Vec<T>> {
    let mut decoder = FrameDecoder::<T>::new();
    let mut out = Vec::new();
    let mut at = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    points.push(bytes.len());
    for p in points {
        decoder.push(&bytes[at..p])?;
        at = p;
        while let Some(msg) = decoder.pop()? {
            out.push(msg);
        }
    }
    decoder.finish()?;
    Ok(out)
}

fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut f = ((body.len() + 1) as u32).to_be_bytes().to_vec();
    f.push(flags);
    f.extend_from_slice(body);
    f
}

#[test]
fn small_bodies_stay_raw_and_big_ones_shrink() {
    let small = ClientMsg::Pull {
        cursor: crate::sync::Cursor::Fresh,
        max_bytes: 4096,
        scopes: vec![],
    };
    assert_eq!(encode_client(&small).unwrap()[4], 0);
    let big = ClientMsg::Hello {
        version: 1,
        token: "x".repeat(5000),
        agent: String::new(),
    };
    let bytes = encode_client(&big).unwrap();
    assert_eq!(bytes[4], FLAG_ZSTD);
    assert!(bytes.len() < 200, "{} bytes", bytes.len());
    assert_eq!(decode_all::<ClientMsg>(&bytes, &[]).unwrap(), vec![big]);
}

#[test]
fn bad_frames_are_corrupt_and_poison() {
    let hello = postcard::to_stdvec(&ClientMsg::Hello {
        version: 1,
        token: "t".into(),
        agent: "a".into(),
    })
    .unwrap();
    let mut trailing = hello.clone();
    trailing.push(0);
    let bomb = zstd::block::compress(&vec![0u8; MAX_BODY + 10], 1).unwrap();
    let cases = vec![
        ("unknown flags", frame(0b100, &hello)),
        (
            "both zstd flags",
            frame(FLAG_ZSTD | FLAG_ZSTD_STREAM, &hello),
        ),
        (
            "bad zstd stream",
            frame(FLAG_ZSTD_STREAM, b"not zstd at all"),
        ),
        ("stream bomb", {
            let mut c = StreamCompressor::new(1).unwrap();
            frame(
                FLAG_ZSTD_STREAM,
                &c.compress(&vec![0u8; MAX_BODY + 10]).unwrap(),
            )
        }),
        ("zero length", vec![0, 0, 0, 0]),
        ("oversize", ((MAX_FRAME + 1) as u32).to_be_bytes().to_vec()),
        ("trailing", frame(0, &trailing)),
        ("bad zstd", frame(FLAG_ZSTD, b"not zstd at all")),
        ("bomb", frame(FLAG_ZSTD, &bomb)),
        ("bad postcard", frame(0, &[9, 9, 9])),
    ];
    for (name, bytes) in cases {
        let mut decoder = ClientMsgDecoder::new();
        let first = decoder.push(&bytes).and_then(|()| decoder.pop());
        assert!(
            matches!(first, Err(Error::Corrupt { ref what, .. }) if what == "frame"),
            "{name}: {first:?}"
        );
        assert!(decoder.is_poisoned(), "{name}");
        assert!(
            decoder.push(&frame(0, &hello)).is_err(),
            "{name}: poisoned decoder accepted bytes"
        );
    }
}

#[test]
fn before_login_a_bomb_is_not_inflated_and_a_big_frame_not_buffered() {
    // 16 MiB of zeros in a few hundred bytes.
    let bomb = zstd::stream::encode_all(&vec![0u8; 16 << 20][..], 19).unwrap();
    assert!(bomb.len() < 2048, "{}", bomb.len());
    let mut d: FrameDecoder<ClientMsg> = FrameDecoder::new();
    d.set_limits(FrameLimits::BEFORE_LOGIN);
    d.push(&frame(FLAG_ZSTD, &bomb)).unwrap();
    let e = d.pop().unwrap_err().to_string();
    assert!(e.contains("4096-byte limit"), "{e}");
    // A header announcing 8 MiB is refused at once, before any of it is buffered.
    let mut d: FrameDecoder<ClientMsg> = FrameDecoder::new();
    d.set_limits(FrameLimits::BEFORE_LOGIN);
    let e = d.push(&(8u32 << 20).to_be_bytes()).unwrap_err().to_string();
    assert!(e.contains("4096-byte limit"), "{e}");
    // No stream context for a stranger.
    let mut d: FrameDecoder<ClientMsg> = FrameDecoder::new();
    d.set_limits(FrameLimits::BEFORE_LOGIN);
    d.push(&frame(FLAG_ZSTD_STREAM, &[0u8; 16])).unwrap();
    assert!(d.pop().unwrap_err().to_string().contains("before login"));
    // A Hello fits, and the full limits come back once it is accepted.
    let hello = ClientMsg::Hello {
        version: 1,
        token: "gst_".to_string() + &"a".repeat(48),
        agent: "gridsync-core/0.1.0 (phone)".into(),
    };
    let mut d: FrameDecoder<ClientMsg> = FrameDecoder::new();
    d.set_limits(FrameLimits::BEFORE_LOGIN);
    d.push(&encode_client(&hello).unwrap()).unwrap();
    assert_eq!(d.pop().unwrap(), Some(hello));
    d.set_limits(FrameLimits::FULL);
    d.push(&(4u32 << 20).to_be_bytes()).unwrap();
}

#[test]
fn truncated_stream_is_reported_at_finish() {
    let bytes = encode_relay(&RelayMsg::PushAck {
        id: 1,
        head: 7,
        refused: vec![],
        deferred: vec![],
    })
    .unwrap();
    let mut decoder = RelayMsgDecoder::new();
    decoder.push(&bytes[..bytes.len() - 1]).unwrap();
    assert!(decoder.pop().unwrap().is_none());
    assert!(decoder.finish().is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip_at_any_split(
        msgs in proptest::collection::vec(client_msg(), 1..4),
        replies in proptest::collection::vec(relay_msg(), 1..4),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        level in -3i32..8,
    ) {
        let encoder = FrameEncoder::new(level);
        let bytes: Vec<u8> = msgs.iter().flat_map(|m| encoder.encode(m).unwrap()).collect();
        prop_assert_eq!(decode_all::<ClientMsg>(&bytes, &cuts).unwrap(), msgs);
        let bytes: Vec<u8> = replies.iter().flat_map(|m| encoder.encode(m).unwrap()).collect();
        prop_assert_eq!(decode_all::<RelayMsg>(&bytes, &cuts).unwrap(), replies);
    }

    #[test]
    fn a_stream_round_trips_at_any_split(
        replies in proptest::collection::vec(relay_msg(), 1..6),
        plain in proptest::collection::vec(any::<bool>(), 6),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        // Stream frames (one context) interleaved with frames compressed alone.
        let mut stream = StreamFrameEncoder::with_level(3).unwrap();
        let alone = FrameEncoder::default();
        let bytes: Vec<u8> = replies
            .iter()
            .zip(&plain)
            .flat_map(|(m, p)| if *p { alone.encode(m).unwrap() } else { stream.encode(m).unwrap() })
            .collect();
        prop_assert_eq!(decode_all::<RelayMsg>(&bytes, &cuts).unwrap(), replies);
    }

    #[test]
    fn random_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        small_len in any::<bool>(),
    ) {
        let mut bytes = bytes;
        if small_len && bytes.len() >= 4 {
            // Make the announced length plausible so the body decoders get exercised.
            let len = ((bytes.len() - 4) as u32).to_be_bytes();
            bytes[..4].copy_from_slice(&len);
        }
        let _ = decode_all::<ClientMsg>(&bytes, &cuts);
        let _ = decode_all::<RelayMsg>(&bytes, &cuts);
    }
}
