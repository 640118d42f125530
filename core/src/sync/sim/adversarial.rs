//! Hostile and broken peers: messages out of order, arbitrary message sequences, a
//! backend that leaks entries outside the scopes. Nothing may panic.

use proptest::prelude::*;

use super::scenarios::{config, seeded};
use super::strategies::{client_msg, relay_msg};
use super::*;
use crate::error::Result;
use crate::sync::backend::{DeviceGrant, NotIngested, PullBatch, RelayBackend};
use crate::sync::checked::CheckedChange;
use crate::sync::wire::{ClientMsg, Cursor, ErrorCode, PROTOCOL_VERSION};

/// A backend whose pulls ignore the scopes they are given.
struct Leaky(SimRelay);

impl RelayBackend for Leaky {
    fn authenticate(&self, token: &str) -> Result<DeviceGrant> {
        self.0.authenticate(token)
    }
    fn still_active(&self, device_id: &str) -> Result<bool> {
        self.0.still_active(device_id)
    }
    fn ingest(
        &self,
        g: &DeviceGrant,
        c: &[CheckedChange],
    ) -> Result<Vec<std::result::Result<(), NotIngested>>> {
        self.0.ingest(g, c)
    }
    fn pull(&self, _scopes: &[GridPath], cursor: &Cursor, max_bytes: usize) -> Result<PullBatch> {
        // Leaks: answers as if the device could read everything under "a".
        self.0.pull(&[grid("a")], cursor, max_bytes)
    }
    fn head(&self) -> Result<u64> {
        self.0.head()
    }
}

#[test]
fn entries_outside_the_scopes_never_leave_the_relay() {
    let (sim, docs) = seeded(4);
    let leaky = Leaky(sim.relay);
    leaky.0.enroll("t", &["a/b"]);
    let mut s = RelaySession::new(0);
    s.handle(
        ClientMsg::Hello {
            version: PROTOCOL_VERSION,
            token: "t".into(),
            agent: String::new(),
        },
        0,
        &leaky,
    );
    s.handle(
        ClientMsg::Pull {
            cursor: Cursor::Fresh,
            max_bytes: u32::MAX,
            scopes: vec![],
        },
        0,
        &leaky,
    );
    let batch = std::iter::from_fn(|| s.poll_transmit()).last().unwrap().msg;
    let RelayMsg::Batch { entries, .. } = batch else {
        panic!("{batch:?}")
    };
    assert_eq!(
        entries.len(),
        docs.len(),
        "the 5 documents in a/c were dropped"
    );
    assert!(entries.iter().all(|e| e.grid.is_within(&grid("a/b"))));
}

#[test]
fn messages_out_of_order_close_with_malformed() {
    let relay = SimRelay::default();
    relay.enroll("good", &["a"]);
    let hello = ClientMsg::Hello {
        version: PROTOCOL_VERSION,
        token: "good".into(),
        agent: String::new(),
    };
    let pull = ClientMsg::Pull {
        cursor: Cursor::Fresh,
        max_bytes: 0,
        scopes: vec![],
    };
    for script in [
        vec![pull.clone()],
        vec![hello.clone(), hello.clone()],
        vec![hello.clone(), pull.clone()],
    ] {
        let mut s = RelaySession::new(0);
        for msg in script.clone() {
            s.handle(msg, 0, &relay);
        }
        let last = std::iter::from_fn(|| s.poll_transmit()).last().unwrap().msg;
        if script.len() == 2 && script[1] == pull {
            assert!(matches!(last, RelayMsg::Batch { .. }) && !s.is_closed());
        } else {
            assert!(
                matches!(
                    last,
                    RelayMsg::Error {
                        code: ErrorCode::Malformed,
                        ..
                    }
                ),
                "{last:?}"
            );
            assert!(s.is_closed());
        }
    }
    let mut s = RelaySession::new(0);
    s.handle(
        ClientMsg::Hello {
            version: 9,
            token: "good".into(),
            agent: String::new(),
        },
        0,
        &relay,
    );
    assert_eq!(s.close_reason().unwrap().0, ErrorCode::UnsupportedVersion);

    let mut handset = SimHandset::new();
    let welcome = RelayMsg::Welcome {
        device: "d".into(),
        grants: DeviceGrant::for_tests("d", vec![]).grants,
        head: 0,
        lineage: Default::default(),
    };
    let mut c = ClientSession::new(config("good"));
    assert!(
        c.handle(welcome.clone(), 0, &mut handset).is_err(),
        "message before start"
    );
    let mut c = ClientSession::new(config("good"));
    c.start(&handset, 0).unwrap();
    c.handle(welcome.clone(), 0, &mut handset).unwrap();
    assert!(c.handle(welcome, 0, &mut handset).is_err());
    assert!(c.is_closed());
    let mut c = ClientSession::new(config("good"));
    c.start(&handset, 0).unwrap();
    let ack = RelayMsg::PushAck {
        id: 7,
        head: 0,
        refused: vec![],
        deferred: vec![],
    };
    assert!(c.handle(ack, 0, &mut handset).is_err());
    assert!(matches!(
        std::iter::from_fn(|| c.poll_event()).last(),
        Some(ClientEvent::Failed(_))
    ));
}

/// The relay's closing code, not its text, decides the handset's error: each kind an app
/// acts on differently arrives typed, in the `Result` and in `ClientEvent::Failed` alike.
#[test]
fn closing_codes_become_typed_errors() {
    use crate::error::{Denial, Error};
    type Expect = fn(&Error) -> bool;
    let cases: [(ErrorCode, Expect); 5] = [
        (
            ErrorCode::UnsupportedVersion,
            |e| matches!(e, Error::VersionMismatch { ours, .. } if *ours == PROTOCOL_VERSION),
        ),
        (ErrorCode::Unauthorized, |e| {
            matches!(
                e,
                Error::Denied {
                    denial: Denial::UnknownToken,
                    ..
                }
            )
        }),
        (ErrorCode::Revoked, |e| {
            matches!(
                e,
                Error::Denied {
                    denial: Denial::Revoked,
                    ..
                }
            )
        }),
        (ErrorCode::Malformed, |e| matches!(e, Error::Protocol(_))),
        (ErrorCode::Internal, |e| matches!(e, Error::Protocol(_))),
    ];
    for (code, is_expected) in cases {
        let mut handset = SimHandset::new();
        let mut c = ClientSession::new(config("good"));
        c.start(&handset, 0).unwrap();
        let closing = RelayMsg::Error {
            code,
            message: "because".into(),
        };
        let e = c.handle(closing, 0, &mut handset).unwrap_err();
        assert!(is_expected(&e), "{code:?} became {e:?}");
        assert_eq!(
            e.is_final(),
            matches!(
                code,
                ErrorCode::UnsupportedVersion | ErrorCode::Unauthorized | ErrorCode::Revoked
            ),
            "{code:?}"
        );
        let failed = std::iter::from_fn(|| c.poll_event()).find_map(|ev| match ev {
            ClientEvent::Failed(f) => Some(f),
            _ => None,
        });
        assert_eq!(failed.as_ref(), Some(&e), "{code:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn relay_sessions_survive_any_message_sequence(msgs in proptest::collection::vec(client_msg(), 0..8)) {
        let relay = SimRelay::default();
        relay.enroll("good", &["a", "b/a"]);
        relay.write(&new_doc(), &grid("a/b"), "k", "v");
        let mut s = RelaySession::new(0);
        for (t, msg) in msgs.into_iter().enumerate() {
            let closed = s.is_closed();
            s.handle(msg, t as Timestamp, &relay);
            s.log_advanced(&relay);
            prop_assert!(!closed || s.is_closed());
            while let Some(t) = s.poll_transmit() {
                if let RelayMsg::Batch { entries, .. } = &t.msg {
                    prop_assert!(entries.iter().all(|e| e.grid.is_within(&grid("a")) || e.grid.is_within(&grid("b/a"))));
                }
                encode_relay(&t.msg).unwrap();
            }
        }
    }

    #[test]
    fn client_sessions_survive_any_message_sequence(
        msgs in proptest::collection::vec(relay_msg(), 0..8),
        local in any::<bool>(),
    ) {
        let mut handset = SimHandset::new();
        if local {
            handset.write(&new_doc(), &grid("a"), "k", "v");
        }
        let mut c = ClientSession::new(config("good"));
        c.start(&handset, 0).unwrap();
        for (t, msg) in msgs.into_iter().enumerate() {
            let _ = c.handle(msg, t as Timestamp, &mut handset);
            c.local_changes(&handset).unwrap();
            while let Some(t) = c.poll_transmit() {
                encode_client(&t.msg).unwrap();
            }
            while c.poll_event().is_some() {}
        }
    }
}
