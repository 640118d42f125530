//! proptest strategies for wire messages. Ids and grid paths are validated when a frame is
//! decoded (serde `try_from`), so invalid ones never reach a session: frame decoding of
//! random bytes covers them.

use proptest::prelude::*;

use super::grid;
use crate::ids::{DocId, GridPath};
use crate::sync::wire::{
    ClientMsg, Cursor, Entry, ErrorCode, Fork, Lineage, Payload, PushedChange, Refusal, RelayMsg,
};

pub fn doc_id() -> impl Strategy<Value = DocId> {
    (prop_oneof![Just('h'), Just('v'), Just('c')], any::<u128>())
        .prop_map(|(k, n)| DocId::parse(&format!("{k}-{n:032x}")).unwrap())
}

pub fn grid_path() -> impl Strategy<Value = GridPath> {
    "[ab]{1,2}(/[ab]{1,2}){0,3}".prop_map(|s| grid(&s))
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        (0usize..3000, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
    ]
}

pub fn cursor() -> impl Strategy<Value = Cursor> {
    prop_oneof![
        Just(Cursor::Fresh),
        (0u64..20, proptest::option::of(doc_id())).prop_map(|(high_water, after_doc)| {
            Cursor::Snapshot {
                high_water,
                after_doc,
            }
        }),
        (0u64..20).prop_map(|after| Cursor::Log { after }),
    ]
}

fn entry() -> impl Strategy<Value = Entry> {
    let payload = prop_oneof![
        bytes().prop_map(Payload::Change),
        bytes().prop_map(Payload::Snapshot)
    ];
    (doc_id(), grid_path(), payload).prop_map(|(doc, grid, payload)| Entry { doc, grid, payload })
}

fn pushed() -> impl Strategy<Value = PushedChange> {
    (doc_id(), grid_path(), bytes()).prop_map(|(doc, grid, bytes)| {
        // The hash is not on the wire (the relay computes it), so it is zero here.
        let hash = [0u8; 32];
        PushedChange {
            doc,
            grid,
            hash,
            bytes,
        }
    })
}

pub fn client_msg() -> impl Strategy<Value = ClientMsg> {
    prop_oneof![
        (
            0u16..3,
            prop_oneof![Just("good".to_string()), ".{0,8}"],
            ".{0,8}"
        )
            .prop_map(|(version, token, agent)| ClientMsg::Hello {
                version,
                token,
                agent
            }),
        (any::<u64>(), proptest::collection::vec(pushed(), 0..4))
            .prop_map(|(id, changes)| ClientMsg::Push { id, changes }),
        (any::<u64>(), any::<u64>())
            .prop_map(|(changes, bytes)| ClientMsg::Pending { changes, bytes }),
        (
            cursor(),
            any::<u32>(),
            proptest::collection::vec(grid_path(), 0..3)
        )
            .prop_map(|(cursor, max_bytes, scopes)| ClientMsg::Pull {
                cursor,
                max_bytes,
                scopes
            }),
    ]
}

fn lineage() -> impl Strategy<Value = Lineage> {
    let fork =
        (any::<u64>(), any::<u64>()).prop_map(|(generation, head)| Fork { generation, head });
    (
        any::<u64>(),
        proptest::collection::vec(fork, 0..3),
        any::<u64>(),
    )
        .prop_map(|(generation, forks, backed_up)| Lineage {
            generation,
            forks,
            backed_up,
        })
}

pub fn relay_msg() -> impl Strategy<Value = RelayMsg> {
    let code = prop_oneof![
        Just(ErrorCode::UnsupportedVersion),
        Just(ErrorCode::Unauthorized),
        Just(ErrorCode::Revoked),
        Just(ErrorCode::Malformed),
        Just(ErrorCode::Internal),
    ];
    let refusal = (any::<[u8; 32]>(), ".{0,8}").prop_map(|(hash, reason)| Refusal { hash, reason });
    prop_oneof![
        (".{0,8}", grants(), any::<u64>(), lineage()).prop_map(
            |(device, grants, head, lineage)| RelayMsg::Welcome {
                device,
                grants,
                head,
                lineage,
            }
        ),
        (
            0u64..4,
            any::<u64>(),
            proptest::collection::vec(refusal, 0..2),
            proptest::collection::vec(any::<[u8; 32]>(), 0..2),
        )
            .prop_map(|(id, head, refused, deferred)| RelayMsg::PushAck {
                id,
                head,
                refused,
                deferred,
            }),
        (
            cursor(),
            cursor(),
            proptest::collection::vec(entry(), 0..3),
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
        (code, ".{0,8}").prop_map(|(code, message)| RelayMsg::Error { code, message }),
    ]
}

/// Any grants (not necessarily valid ones: a relay could send anything).
pub fn grants() -> impl Strategy<Value = crate::model::Grants> {
    let role = prop_oneof![
        Just(crate::model::Role::GridWorker),
        Just(crate::model::Role::GridLeader),
        Just(crate::model::Role::CommunityStaff),
        Just(crate::model::Role::StreetStaff),
        Just(crate::model::Role::Supervisor),
    ];
    (
        ".{0,8}",
        ".{0,8}",
        proptest::collection::vec(role, 0..3),
        proptest::collection::vec(grid_path(), 0..3),
    )
        .prop_map(
            |(worker, display_name, roles, scopes)| crate::model::Grants {
                worker,
                display_name,
                roles,
                scopes,
            },
        )
}
