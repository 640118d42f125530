//! End-to-end protocol scenarios over the simulated link.

use super::*;
use crate::ids::DocId;
use crate::sync::backend::HandsetBackend;
use crate::sync::wire::{Cursor, ErrorCode};

pub(super) const LATENCY: Timestamp = 50;

pub(super) fn config(token: &str) -> ClientConfig {
    ClientConfig {
        max_pull_bytes: 4096,
        ..ClientConfig::new(token)
    }
}

/// A relay holding `n` documents in `a/b/g1` (with a few edits each) and 5 in `a/c`.
pub(super) fn seeded(n: usize) -> (Sim, Vec<DocId>) {
    let sim = Sim::new(LATENCY);
    let mut docs = Vec::new();
    for i in 0..n {
        let doc = new_doc();
        for k in 0..3 {
            sim.relay.write(
                &doc,
                &grid("a/b/g1"),
                &format!("k{k}"),
                &format!("value {i} {k} {}", "x".repeat(100)),
            );
        }
        docs.push(doc);
    }
    for _ in 0..5 {
        sim.relay.write(&new_doc(), &grid("a/c"), "k", "elsewhere");
    }
    (sim, docs)
}

fn assert_same_docs(sim: &Sim, handset: usize, docs: &[DocId]) {
    for doc in docs {
        assert_eq!(
            sim.handsets[handset].heads(doc),
            sim.relay.heads(doc),
            "doc {doc} differs"
        );
    }
}

fn caught_up(sim: &Sim, i: usize) -> bool {
    sim.client(i).is_some_and(ClientSession::is_caught_up)
}

#[test]
fn fresh_handset_bootstraps_with_snapshots_then_the_log() {
    let (mut sim, docs) = seeded(40);
    sim.relay.enroll("t1", &["a/b"]);
    let h = sim.add_handset(config("t1"));
    sim.connect(h);
    sim.run_until(3 * LATENCY); // the first batches are in
    assert!(!caught_up(&sim, h));
    sim.relay_write(
        &docs[0],
        &grid("a/b/g1"),
        "late",
        "after the high-water mark",
    );
    sim.run();
    assert!(caught_up(&sim, h));
    assert_same_docs(&sim, h, &docs);
    let handset = &sim.handsets[h];
    assert_eq!(
        handset.docs.len(),
        40,
        "out-of-scope documents reached the handset"
    );
    assert!(handset.snapshots_received.values().all(|n| *n == 1));
    assert!(
        handset.changes_received >= 1,
        "the late change came from the log"
    );
    let batches = sim.delivered.iter().filter(|d| d.kind == "Batch").count();
    assert!(
        batches > 3,
        "only {batches} batches: the pull size limit was not applied"
    );
    assert!(
        sim.events
            .iter()
            .any(|(_, _, e)| *e == ClientEvent::CaughtUp)
    );
}

#[test]
fn offline_work_on_two_handsets_converges() {
    let (mut sim, docs) = seeded(3);
    sim.relay.enroll("a", &["a/b"]);
    sim.relay.enroll("b", &["a/b/g1"]);
    let (a, b) = (sim.add_handset(config("a")), sim.add_handset(config("b")));
    sim.connect(a);
    sim.connect(b);
    sim.run();
    sim.cut_at(sim.now);
    sim.run();
    let g1 = grid("a/b/g1");
    let fresh = new_doc();
    sim.write(a, &docs[0], &g1, "status", "from a");
    sim.write(b, &docs[0], &g1, "status", "from b");
    sim.write(b, &docs[1], &g1, "note", "b only");
    sim.write(a, &fresh, &g1, "name", "created offline on a");
    sim.connect(a);
    sim.connect(b);
    sim.run();
    assert!(caught_up(&sim, a) && caught_up(&sim, b));
    let all = [&docs[..], std::slice::from_ref(&fresh)].concat();
    assert_same_docs(&sim, a, &all);
    assert_same_docs(&sim, b, &all);
    assert_eq!(
        sim.handsets[a].outbox_len() + sim.handsets[b].outbox_len(),
        0
    );
    assert_eq!(
        sim.relay.heads(&docs[0]).len(),
        2,
        "both concurrent edits survive"
    );
}

#[test]
fn a_repeated_push_is_a_no_op() {
    let mut sim = Sim::new(LATENCY);
    sim.relay.enroll("t", &["a"]);
    let h = sim.add_handset(config("t"));
    let doc = new_doc();
    sim.write(h, &doc, &grid("a/x"), "k", "v");
    sim.connect(h);
    sim.cut_at(sim.now + LATENCY + LATENCY / 2); // the push is durable, the ack is lost
    sim.run();
    assert_eq!(sim.relay.log_len(), 1);
    assert_eq!(sim.handsets[h].outbox_len(), 1);
    sim.connect(h);
    sim.run();
    assert_eq!(sim.relay.ingested().len(), 2, "pushed twice");
    assert_eq!(sim.relay.log_len(), 1, "nothing duplicated");
    assert_eq!(sim.handsets[h].outbox_len(), 0);
    assert_eq!(sim.handsets[h].heads(&doc), sim.relay.heads(&doc));
}

#[test]
fn a_cut_mid_bootstrap_resumes_from_the_persisted_cursor() {
    let (mut sim, docs) = seeded(60);
    sim.relay.enroll("t", &["a/b"]);
    let h = sim.add_handset(config("t"));
    sim.connect(h);
    sim.cut_at(5 * LATENCY + 1);
    sim.run();
    let after_cut = sim.handsets[h].cursor().unwrap();
    assert!(
        matches!(after_cut, Cursor::Snapshot { .. }),
        "{after_cut:?}"
    );
    let partial = sim.handsets[h].docs.len();
    assert!(partial > 0 && partial < 60, "{partial} docs before the cut");
    sim.connect(h);
    sim.run();
    assert!(caught_up(&sim, h));
    assert_same_docs(&sim, h, &docs);
    let received = &sim.handsets[h].snapshots_received;
    assert_eq!(received.len(), 60);
    assert!(
        received.values().all(|n| *n == 1),
        "a document was sent twice"
    );
}

#[test]
fn out_of_scope_pushes_are_refused_and_stored_nowhere() {
    let mut sim = Sim::new(LATENCY);
    sim.relay.enroll("t", &["a/b"]);
    let h = sim.add_handset(config("t"));
    let (inside, outside) = (new_doc(), new_doc());
    sim.write(h, &inside, &grid("a/b/g"), "k", "ok");
    let bad = sim.handsets[h].write(&outside, &grid("a/bc"), "k", "not mine");
    sim.connect(h);
    sim.run();
    let refusal = sim.events.iter().find_map(|(_, _, e)| match e {
        ClientEvent::Refused(r) => Some(r.clone()),
        _ => None,
    });
    let refusal = refusal.expect("no refusal");
    assert_eq!(refusal.hash, bad);
    assert!(
        refusal.reason.contains("outside this device's scopes"),
        "{}",
        refusal.reason
    );
    assert!(
        !sim.relay.ingested().contains(&bad),
        "the change reached the backend"
    );
    assert!(sim.relay.doc_ids().iter().all(|(d, _)| *d != outside));
    assert_eq!(sim.relay.heads(&inside), sim.handsets[h].heads(&inside));
    assert_eq!(
        sim.handsets[h].outbox_len(),
        0,
        "the refused change left the pending outbox"
    );
    let kept: Vec<_> = sim.handsets[h]
        .refused
        .values()
        .map(|(c, _)| c.hash)
        .collect();
    assert_eq!(kept, vec![bad], "the refused change is kept as refused");
    assert_eq!(refusal.doc, outside);
    assert!(
        caught_up(&sim, h),
        "a refused change does not block catching up"
    );
}

fn failure(sim: &Sim, i: usize) -> Option<String> {
    sim.events.iter().find_map(|(_, h, e)| match e {
        ClientEvent::Failed(e) if *h == i => Some(e.to_string()),
        _ => None,
    })
}

#[test]
fn unknown_tokens_and_revoked_devices_are_shut_out() {
    let mut sim = Sim::new(LATENCY);
    let dev = sim.relay.enroll("good", &["a"]);
    let stranger = sim.add_handset(config("bad"));
    sim.connect(stranger);
    sim.run();
    let reason = sim.relay_session(stranger).unwrap().close_reason().unwrap();
    assert_eq!(reason.0, ErrorCode::Unauthorized);
    assert!(
        failure(&sim, stranger)
            .unwrap()
            .contains("unknown enrollment token")
    );
    assert!(sim.client(stranger).unwrap().is_closed());

    let h = sim.add_handset(config("good"));
    sim.connect(h);
    sim.run();
    assert!(caught_up(&sim, h));
    sim.relay.revoke(&dev);
    sim.write(h, &new_doc(), &grid("a"), "k", "after revocation");
    sim.run();
    assert_eq!(
        sim.relay_session(h).unwrap().close_reason().unwrap().0,
        ErrorCode::Revoked
    );
    assert!(failure(&sim, h).unwrap().contains("revoked"));
    assert_eq!(sim.relay.log_len(), 0, "a revoked device's push was stored");
    sim.connect(h);
    sim.run();
    assert_eq!(
        sim.relay_session(h).unwrap().close_reason().unwrap().0,
        ErrorCode::Revoked
    );
}

#[test]
fn a_live_change_reaches_a_caught_up_handset_without_a_pull() {
    let (mut sim, docs) = seeded(2);
    sim.relay.enroll("a", &["a/b"]);
    sim.relay.enroll("b", &["a/b"]);
    let (a, b) = (sim.add_handset(config("a")), sim.add_handset(config("b")));
    sim.connect(a);
    sim.connect(b);
    sim.run();
    assert!(caught_up(&sim, b));
    let pulls_before = sim.client(b).unwrap().stats().messages_sent;
    let since = sim.now;
    sim.write(a, &docs[1], &grid("a/b/g1"), "status", "closed");
    sim.run();
    assert_eq!(
        sim.client(b).unwrap().stats().messages_sent,
        pulls_before,
        "b pulled"
    );
    assert_eq!(
        sim.handsets[a].changes_received, 0,
        "a's own change was echoed back"
    );
    assert!(
        sim.delivered
            .iter()
            .any(|d| d.conn == b && d.at > since && d.live)
    );
    assert_same_docs(&sim, b, &docs);
    assert!(caught_up(&sim, b));
}

#[test]
fn a_reconnect_with_an_outbox_costs_one_round_trip() {
    let (mut sim, docs) = seeded(3);
    sim.relay.enroll("t", &["a/b"]);
    let h = sim.add_handset(config("t"));
    sim.connect(h);
    sim.run();
    sim.cut_at(sim.now);
    sim.run();
    for (i, doc) in docs.iter().enumerate() {
        sim.write(h, doc, &grid("a/b/g1"), "offline", &format!("edit {i}"));
    }
    sim.now += 1000;
    let start = sim.now;
    sim.connect(h);
    sim.run();
    let done = sim
        .event_time(h, start, |e| *e == ClientEvent::CaughtUp)
        .unwrap();
    assert_eq!(done - start, 2 * LATENCY, "more than one round trip");
    let stats = sim.client(h).unwrap().stats();
    assert_eq!(
        (stats.messages_sent, stats.changes_accepted),
        (4, 3),
        "Hello, Pending, Push, Pull"
    );
    assert_eq!(sim.handsets[h].outbox_len(), 0);
    assert_same_docs(&sim, h, &docs);
}

#[test]
fn a_reconnect_after_live_pushes_pulls_none_of_them_back() {
    let (mut sim, docs) = seeded(3);
    sim.relay.enroll("t", &["a/b"]);
    let h = sim.add_handset(config("t"));
    sim.connect(h);
    sim.run();
    let received = sim.handsets[h].changes_received;
    for (i, doc) in docs.iter().enumerate() {
        sim.write(h, doc, &grid("a/b/g1"), "online", &format!("edit {i}"));
        sim.run();
    }
    assert_eq!(sim.handsets[h].outbox_len(), 0);
    sim.cut_at(sim.now);
    sim.run();
    sim.now += 1000;
    sim.connect(h);
    sim.run();
    assert!(caught_up(&sim, h));
    assert_eq!(
        sim.handsets[h].changes_received, received,
        "the handset's own changes came back on reconnect"
    );
    assert_same_docs(&sim, h, &docs);
}

#[test]
fn overtaken_live_batches_are_re_pulled() {
    let (mut sim, docs) = seeded(1);
    sim.relay.enroll("t", &["a/b"]);
    let h = sim.add_handset(config("t"));
    sim.connect(h);
    sim.run();
    let since = sim.now;
    let big: String = (0..8000u32)
        .map(|i| format!("{:05}", i.wrapping_mul(2_654_435_761) % 99_991))
        .collect();
    sim.relay_write(&docs[0], &grid("a/b/g1"), "big", &big);
    sim.relay_write(
        &docs[0],
        &grid("a/b/g1"),
        "small",
        "written after the big one",
    );
    sim.run();
    assert_same_docs(&sim, h, &docs);
    assert!(caught_up(&sim, h));
    let later: Vec<_> = sim
        .delivered
        .iter()
        .filter(|d| d.conn == h && d.at > since)
        .collect();
    assert!(
        later.iter().any(|d| d.live && d.lane == Lane::Bulk),
        "{later:?}"
    );
    assert!(
        later.iter().any(|d| d.kind == "Pull"),
        "the overtaken batch was not re-pulled: {later:?}"
    );
}
