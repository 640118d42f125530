//! One device must not stop its scope from syncing by pushing something no batch can carry
//! (issue 12, item 2). A hostile grid device, speaking the wire protocol, pushes a change
//! over the relay's per-change limit and then grows one document change by change past
//! the per-document limit. The relay refuses each with a reason naming the limit and
//! stores it nowhere, and the community supervisor and a fresh community handset still
//! sync: every batch they get fits in a frame.
#![allow(clippy::unwrap_used)]

use automerge::transaction::Transactable;
use gridsync_core::GridPath;
use gridsync_core::model::{Grants, Role};
use gridsync_core::sync::MAX_CHANGE_BYTES;
use gridsync_core::sync::wire::{PushedChange, RelayMsg};
use gridsync_server::hub::MAX_DOCUMENT_BYTES;
use gridsync_tests::forge::{Forger, change_on};
use gridsync_tests::raw_client::raw_push;
use gridsync_tests::relay::{Handset, TestRelay};

const C1: &str = "ankang/hanbin/laocheng/xinhua";
const G1: &str = "ankang/hanbin/laocheng/xinhua/g1";

fn grants(worker: &str, roles: &[Role], scope: &str) -> Grants {
    Grants {
        worker: worker.into(),
        display_name: worker.into(),
        roles: roles.to_vec(),
        scopes: vec![GridPath::parse(scope).unwrap()],
    }
}

/// Pushes `change` as `token`; the refusal's reason, or `None` when accepted.
async fn push(relay: &TestRelay, token: &str, change: PushedChange) -> Option<String> {
    let got = raw_push(relay.addr, &relay.fingerprint, token, vec![change])
        .await
        .unwrap();
    match got.iter().find(|m| matches!(m, RelayMsg::PushAck { .. })) {
        Some(RelayMsg::PushAck { refused, .. }) => refused.first().map(|r| r.reason.clone()),
        _ => panic!("no PushAck: {got:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_changes_and_documents_are_refused_and_the_scope_still_syncs() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(&tmp.path().join("relay")).await.unwrap();
    let worker = grants("w-wang", &[Role::GridWorker], G1);
    let token = relay.enroll_as("w-wang", &worker).unwrap();
    let sup = grants("w-sup", &[Role::CommunityStaff], C1);
    let sup_token = relay.enroll_as("w-sup", &sup).unwrap();
    let g1 = GridPath::parse(G1).unwrap();

    let mut forger = Forger::new().unwrap();
    let (id, household) = forger.household(&g1, "w-wang").unwrap();
    assert_eq!(push(&relay, &token, household.clone()).await, None);
    let mut doc = automerge::Automerge::new();
    doc.apply_changes([automerge::Change::from_bytes(household.bytes.clone()).unwrap()])
        .unwrap();

    // One change over the per-change limit: refused, naming the limit.
    let big = "x".repeat(MAX_CHANGE_BYTES + 1024);
    let huge = change_on(&doc, &id, &g1, |tx| {
        Ok(tx.put(automerge::ROOT, "junk", big.as_str())?)
    })
    .unwrap();
    let reason = push(&relay, &token, huge)
        .await
        .expect("an oversized change was accepted");
    assert!(
        reason.contains("limit") && reason.contains("for one change"),
        "{reason}"
    );

    // Changes under that limit, one after another on one document, until the relay stops
    // taking them: that must happen at the per-document limit, with a reason naming it.
    let chunk = "y".repeat(MAX_CHANGE_BYTES * 3 / 4);
    let mut accepted = 0;
    let refusal = loop {
        let next = change_on(&doc, &id, &g1, |tx| {
            Ok(tx.put(automerge::ROOT, format!("junk{accepted}"), chunk.as_str())?)
        })
        .unwrap();
        match push(&relay, &token, next.clone()).await {
            None => {
                doc.apply_changes([automerge::Change::from_bytes(next.bytes).unwrap()])
                    .unwrap();
                accepted += 1;
                assert!(
                    accepted * chunk.len() <= MAX_DOCUMENT_BYTES,
                    "grew past the document limit"
                );
            }
            Some(reason) => break reason,
        }
    };
    eprintln!("{accepted} chunks accepted, then: {refusal}");
    assert!(
        refusal.contains("limit") && refusal.contains("for one document"),
        "{refusal}"
    );

    // The supervisor of the community, and a fresh community handset, sync.
    let h = Handset::open(&tmp.path().join("sup"), "w-sup", relay.target(&sup_token)).unwrap();
    h.replica.store_grants(&sup).unwrap();
    let r = h.client.sync_once().await.unwrap();
    assert!(r.caught_up);
    assert!(
        h.replica.household(&id).is_ok(),
        "the household did not arrive"
    );
}
