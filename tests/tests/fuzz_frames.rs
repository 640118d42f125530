//! Fuzzing the wire decoder in CI form (proptest, a few seconds): random bytes and
//! structure-aware mutations of valid frames (the body mutated before or after
//! compression, the length prefix kept consistent or made to lie, frames glued together,
//! split anywhere) go into `FrameDecoder` for both directions. It must never panic, never
//! return a message once it has failed, and every message it does return must be valid
//! (ids that parse) and survive a re-encode.
//!
//! The sans-IO sessions are fuzzed in core (`core/src/sync/sim/adversarial.rs`); this file
//! stays at the byte level. A panicking input is saved under `$CARGO_TARGET_TMPDIR/crashers`
//! for `tests/fixtures/crashers/` (replayed by `fuzz_crashers.rs`). Replay a run with
//! `PROPTEST_RNG_SEED=<n>`.

#![allow(clippy::unwrap_used)]

use gridsync_core::model::{Grants, Role};
use gridsync_core::sync::frame::{
    FLAG_ZSTD, FLAG_ZSTD_STREAM, FrameDecoder, FrameEncoder, HEADER_LEN,
};
use gridsync_core::sync::wire::{
    ClientMsg, Cursor, Entry, ErrorCode, Fork, Lineage, Payload, PushedChange, Refusal, RelayMsg,
};
use gridsync_core::sync::zstream::StreamCompressor;
use gridsync_core::{DocId, DocKind, GridPath};
use gridsync_tests::netem::fuzz::Mutation;
use gridsync_tests::netem::fuzz::{
    self, decode_checked, mutate, mutation, valid_client, valid_relay,
};
use proptest::prelude::*;
use proptest::test_runner::Config;

// ---- valid messages -------------------------------------------------------------------

fn doc_id() -> impl Strategy<Value = DocId> {
    (0usize..3, any::<u128>()).prop_map(|(k, n)| {
        let p = ['h', 'v', 'c'][k];
        DocId::parse(&format!("{p}-{n:032x}")).unwrap()
    })
}

fn grid() -> impl Strategy<Value = GridPath> {
    prop::collection::vec("[a-z0-9]{1,8}|网格[0-9]", 1..6)
        .prop_map(|segs| GridPath::parse(&segs.join("/")).unwrap())
}

fn cursor() -> impl Strategy<Value = Cursor> {
    prop_oneof![
        Just(Cursor::Fresh),
        (any::<u64>(), prop::option::of(doc_id())).prop_map(|(high_water, after_doc)| {
            Cursor::Snapshot {
                high_water,
                after_doc,
            }
        }),
        any::<u64>().prop_map(|after| Cursor::Log { after }),
    ]
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    // Compressible and incompressible bodies both.
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..max),
        (any::<u8>(), 0..max * 4).prop_map(|(b, n)| vec![b; n]),
    ]
}

fn client_msg() -> impl Strategy<Value = ClientMsg> {
    prop_oneof![
        (any::<u16>(), ".{0,40}", ".{0,40}").prop_map(|(version, token, agent)| {
            ClientMsg::Hello {
                version,
                token,
                agent,
            }
        }),
        (
            any::<u64>(),
            prop::collection::vec(
                (doc_id(), grid(), any::<[u8; 32]>(), bytes(300)).prop_map(
                    |(doc, grid, hash, bytes)| PushedChange {
                        doc,
                        grid,
                        hash,
                        bytes,
                    }
                ),
                0..4
            )
        )
            .prop_map(|(id, changes)| ClientMsg::Push { id, changes }),
        (any::<u64>(), any::<u64>())
            .prop_map(|(changes, bytes)| ClientMsg::Pending { changes, bytes }),
        (cursor(), any::<u32>(), prop::collection::vec(grid(), 0..3)).prop_map(
            |(cursor, max_bytes, scopes)| ClientMsg::Pull {
                cursor,
                max_bytes,
                scopes
            }
        ),
    ]
}

fn relay_msg() -> impl Strategy<Value = RelayMsg> {
    let entry =
        (doc_id(), grid(), any::<bool>(), bytes(300)).prop_map(|(doc, grid, snap, b)| Entry {
            doc,
            grid,
            payload: if snap {
                Payload::Snapshot(b)
            } else {
                Payload::Change(b)
            },
        });
    let code = prop_oneof![
        Just(ErrorCode::UnsupportedVersion),
        Just(ErrorCode::Unauthorized),
        Just(ErrorCode::Revoked),
        Just(ErrorCode::Malformed),
        Just(ErrorCode::Internal),
    ];
    prop_oneof![
        (
            ".{0,20}",
            (".{0,20}", ".{0,20}", prop::collection::vec(grid(), 0..3)),
            any::<u64>(),
            (any::<u64>(), any::<u64>())
        )
            .prop_map(
                |(device, (worker, display_name, scopes), head, (generation, backed_up))| {
                    RelayMsg::Welcome {
                        device,
                        grants: Grants {
                            worker,
                            display_name,
                            roles: vec![Role::GridWorker],
                            scopes,
                        },
                        head,
                        lineage: Lineage {
                            generation,
                            forks: vec![Fork {
                                generation: !generation,
                                head,
                            }],
                            backed_up,
                        },
                    }
                }
            ),
        (
            any::<u64>(),
            prop::collection::vec(
                (any::<[u8; 32]>(), ".{0,30}").prop_map(|(hash, reason)| Refusal { hash, reason }),
                0..2
            ),
            any::<u64>(),
            prop::collection::vec(any::<[u8; 32]>(), 0..2)
        )
            .prop_map(|(id, refused, head, deferred)| RelayMsg::PushAck {
                id,
                head,
                refused,
                deferred
            }),
        (
            cursor(),
            cursor(),
            prop::collection::vec(entry, 0..4),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(from, next, entries, more, live)| RelayMsg::Batch {
                from,
                next,
                entries,
                more,
                live
            }),
        (code, ".{0,40}").prop_map(|(code, message)| RelayMsg::Error { code, message }),
    ]
}

/// How a mutated body is put back into a frame.
#[derive(Debug, Clone, Copy)]
enum Reframe {
    /// Raw body, correct length prefix.
    Plain,
    /// The mutated body compressed with zstd, correct length prefix.
    Compressed,
    /// The mutated body as the first segment of a stream context (bulk streams).
    Streamed,
    /// The original frame with its bytes mutated (compressed data, flags, length).
    Whole,
    /// Correct frame, then the length prefix replaced by a random value.
    LyingLength(u32),
}

fn reframe() -> impl Strategy<Value = Reframe> {
    prop_oneof![
        3 => Just(Reframe::Plain),
        2 => Just(Reframe::Compressed),
        2 => Just(Reframe::Streamed),
        3 => Just(Reframe::Whole),
        1 => prop_oneof![any::<u32>(), 0u32..4096].prop_map(Reframe::LyingLength),
    ]
}

fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut f = ((body.len() + 1) as u32).to_be_bytes().to_vec();
    f.push(flags);
    f.extend_from_slice(body);
    f
}

fn mutated_frame<T: serde::Serialize>(msg: &T, how: Reframe, ms: &[Mutation]) -> Vec<u8> {
    match how {
        Reframe::Plain | Reframe::Compressed | Reframe::Streamed => {
            let mut body = postcard::to_stdvec(msg).unwrap();
            for m in ms {
                mutate(&mut body, m);
            }
            match how {
                Reframe::Compressed => frame(FLAG_ZSTD, &zstd::block::compress(&body, 1).unwrap()),
                Reframe::Streamed => frame(
                    FLAG_ZSTD_STREAM,
                    &StreamCompressor::new(1).unwrap().compress(&body).unwrap(),
                ),
                _ => frame(0, &body),
            }
        }
        Reframe::Whole => {
            let mut f = FrameEncoder::default().encode(msg).unwrap();
            // Leave the length prefix alone half the time so the body gets decoded.
            let keep = ms.len().is_multiple_of(2);
            let (head, mut body) = (f[..HEADER_LEN].to_vec(), f.split_off(HEADER_LEN));
            for m in ms {
                mutate(&mut body, m);
            }
            if keep {
                frame(head[4], &body)
            } else {
                let mut out = head;
                out.extend_from_slice(&body);
                out
            }
        }
        Reframe::LyingLength(n) => {
            let mut f = FrameEncoder::default().encode(msg).unwrap();
            f[..4].copy_from_slice(&n.to_be_bytes());
            f
        }
    }
}

// ---- the properties -------------------------------------------------------------------

/// Runs `f`, saving `input` as a crasher if it panics.
fn guarded(target: &str, input: &[u8], f: impl FnOnce()) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("crashers");
    fuzz::guarded(&dir, target, input, f);
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn mutated_client_frames_never_panic(
        msgs in prop::collection::vec(client_msg(), 1..3),
        how in reframe(),
        ms in prop::collection::vec(mutation(), 1..6),
        which in any::<usize>(),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        // One frame of a stream of valid ones is mutated.
        let which = which % msgs.len();
        let mut bytes = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            if i == which {
                bytes.extend(mutated_frame(m, how, &ms));
            } else {
                bytes.extend(FrameEncoder::default().encode(m).unwrap());
            }
        }
        guarded("frame-client", &bytes, || {
            let got = decode_checked::<ClientMsg>(&bytes, &cuts, valid_client);
            assert!(got <= msgs.len() + 1);
        });
    }

    #[test]
    fn mutated_relay_frames_never_panic(
        msgs in prop::collection::vec(relay_msg(), 1..3),
        how in reframe(),
        ms in prop::collection::vec(mutation(), 1..6),
        which in any::<usize>(),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let which = which % msgs.len();
        let mut bytes = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            if i == which {
                bytes.extend(mutated_frame(m, how, &ms));
            } else {
                bytes.extend(FrameEncoder::default().encode(m).unwrap());
            }
        }
        guarded("frame-relay", &bytes, || {
            decode_checked::<RelayMsg>(&bytes, &cuts, valid_relay);
        });
    }

    #[test]
    fn random_bytes_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..1024),
        flags in prop_oneof![Just(0u8), Just(FLAG_ZSTD), Just(FLAG_ZSTD_STREAM), any::<u8>()],
        framed in any::<bool>(),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let bytes = if framed { frame(flags, &body) } else { body };
        guarded("frame", &bytes, || {
            decode_checked::<ClientMsg>(&bytes, &cuts, valid_client);
            decode_checked::<RelayMsg>(&bytes, &cuts, valid_relay);
        });
    }

    #[test]
    fn valid_streams_decode_whole_at_any_split(
        msgs in prop::collection::vec(relay_msg(), 1..4),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let bytes: Vec<u8> = msgs.iter().flat_map(|m| FrameEncoder::default().encode(m).unwrap()).collect();
        let got = decode_checked::<RelayMsg>(&bytes, &cuts, valid_relay);
        prop_assert_eq!(got, msgs.len());
    }
}

/// Hand-picked nasty frames: bodies that announce huge collections, nested compression,
/// a zstd frame that claims a huge content size, every flag bit.
#[test]
fn hand_picked_frames_are_errors() {
    let mut nasty: Vec<Vec<u8>> = Vec::new();
    // ClientMsg::Push (variant 1) with a u64 id then a changes vec announcing 2^63 items.
    nasty.push(frame(
        0,
        &[1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
    ));
    // A Hello whose token announces 4 GiB of text.
    nasty.push(frame(0, &[0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    // Compressed twice.
    let inner = FrameEncoder::default()
        .encode(&ClientMsg::Hello {
            version: 1,
            token: "t".repeat(1000),
            agent: String::new(),
        })
        .unwrap();
    nasty.push(frame(FLAG_ZSTD, &zstd::block::compress(&inner, 1).unwrap()));
    // A zstd frame header claiming 2^40 bytes of content.
    nasty.push(frame(
        FLAG_ZSTD,
        &[0x28, 0xb5, 0x2f, 0xfd, 0xe4, 0, 0, 0, 0, 0, 1, 0, 0, 0],
    ));
    for flags in 0..=255u8 {
        nasty.push(frame(flags, &[0, 1, 1, b't', 0]));
    }
    // A doc id that is not one.
    let mut bad_id = postcard::to_stdvec(&ClientMsg::Pull {
        cursor: Cursor::Snapshot {
            high_water: 1,
            after_doc: Some(DocId::new(DocKind::Visit)),
        },
        max_bytes: 1,
        scopes: vec![],
    })
    .unwrap();
    if let Some(p) = bad_id.iter().position(|b| *b == b'v') {
        bad_id[p] = b'x';
    }
    nasty.push(frame(0, &bad_id));
    for (i, bytes) in nasty.iter().enumerate() {
        guarded("frame", bytes, || {
            decode_checked::<ClientMsg>(bytes, &[], valid_client);
            decode_checked::<RelayMsg>(bytes, &[], valid_relay);
        });
        let mut d: FrameDecoder<ClientMsg> = FrameDecoder::new();
        let r = d.push(bytes).and_then(|()| d.pop());
        if i < 4 || i == nasty.len() - 1 {
            assert!(r.is_err(), "nasty frame {i} decoded: {r:?}");
        }
    }
}
