//! A hostile handset speaking the wire protocol (not the CLI, not the product's client)
//! pushes what its grants do not allow: a supervisor's evaluation from a device that is no
//! supervisor, a visit by another worker, a g1 visit naming a g10 household, malformed
//! documents and a visit dated 2100. The relay refuses each, naming it with a reason, and
//! stores it nowhere: not in its documents, not in its log, not on another device after a
//! sync. A real supervisor's evaluation, from a supervisor's device, goes through.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use gridsync_core::model::{Grants, Role, TriageClass};
use gridsync_core::replica::CaseActionInput;
use gridsync_core::sync::wire::{ChangeHash, PushedChange};
use gridsync_core::workflow::{ActionKind, CaseAction, CaseStatus};
use gridsync_core::{DocId, DocKind, GridPath};
use gridsync_tests::forge::{
    action_change, action_id, change_on, doc_of, new_case, new_household, new_visit, now_ms,
    raw_visit,
};
use gridsync_tests::raw_client::RawClient;
use gridsync_tests::relay::{Handset, RELAY_DOCS_TREE, TestRelay};

const C1: &str = "ankang/hanbin/laocheng/xinhua";
const G1: &str = "ankang/hanbin/laocheng/xinhua/g1";
const G10: &str = "ankang/hanbin/laocheng/xinhua/g10";
/// 2100-01-01.
const IN_2100: i64 = 4_102_444_800_000;

fn grid(s: &str) -> GridPath {
    GridPath::parse(s).unwrap()
}

fn grants(worker: &str, roles: &[Role], scope: &str) -> Grants {
    Grants {
        worker: worker.into(),
        display_name: worker.into(),
        roles: roles.to_vec(),
        scopes: vec![grid(scope)],
    }
}

/// Enrolls `grants` on `relay` and opens that device's handset in `dir`.
fn device(relay: &TestRelay, dir: &Path, g: &Grants) -> (String, Handset) {
    let token = relay.enroll_as(&g.worker, g).unwrap();
    let h = Handset::open(&dir.join(&g.worker), &g.worker, relay.target(&token)).unwrap();
    h.replica.store_grants(g).unwrap();
    (token, h)
}

fn step(h: &Handset, case: &DocId, role: Role, kind: ActionKind) {
    let input = CaseActionInput {
        actor: String::new(),
        role,
        at: None,
        kind,
    };
    h.replica.act_on_case(case, &input).unwrap();
}

/// The forged pushes, each with what its refusal must speak of.
struct Forged {
    changes: Vec<(PushedChange, &'static str, &'static str)>,
    new_docs: Vec<DocId>,
}

fn forge(seeder: &Handset, case: &DocId, h1: &DocId, h10: &DocId) -> Forged {
    let (g1, now) = (grid(G1), now_ms() - 60_000);
    let evaluation = CaseAction {
        id: action_id(),
        actor: "w-wang".into(),
        role: Role::Supervisor,
        at: now,
        kind: ActionKind::Evaluate {
            satisfied: true,
            comment: "满意".into(),
        },
    };
    let eval = action_change(
        &doc_of(&seeder.replica, case).unwrap(),
        case,
        &g1,
        &evaluation,
    );
    let ids: Vec<DocId> = [DocKind::Visit, DocKind::Visit, DocKind::Visit]
        .into_iter()
        .chain([DocKind::Household, DocKind::Case])
        .map(DocId::new)
        .collect();
    let author = raw_visit(&ids[0], &g1, h1, "w-li", now);
    let cross = raw_visit(&ids[1], &g1, h10, "w-wang", now);
    let future = raw_visit(&ids[2], &g1, h1, "w-wang", IN_2100);
    let malformed = |id: &DocId, head_is_int: bool| {
        change_on(&automerge::Automerge::new(), id, &g1, |tx| {
            use automerge::transaction::Transactable;
            tx.put(automerge::ROOT, "kind", "household")?;
            tx.put(automerge::ROOT, "id", id.as_str())?;
            tx.put(automerge::ROOT, "grid", G1)?;
            if head_is_int {
                tx.put(automerge::ROOT, "head", 42_i64)?;
            } else {
                tx.put(automerge::ROOT, "head", "王建国")?;
            }
            Ok(())
        })
    };
    let changes = vec![
        (eval.unwrap(), "forged supervisor evaluation", "supervisor"),
        (author.unwrap(), "forged author", "author"),
        (cross.unwrap(), "cross-grid reference", "not in its grid"),
        (
            malformed(&ids[3], true).unwrap(),
            "household with an integer head",
            "well-formed household",
        ),
        (
            malformed(&ids[4], false).unwrap(),
            "case id holding a household",
            "well-formed case",
        ),
        (future.unwrap(), "visit dated 2100", "future"),
    ];
    Forged {
        changes,
        new_docs: ids,
    }
}

fn refusal_of<'a>(
    refused: &'a [gridsync_core::sync::wire::Refusal],
    hash: &ChangeHash,
) -> Option<&'a str> {
    refused
        .iter()
        .find(|r| r.hash == *hash)
        .map(|r| r.reason.as_str())
}

/// The relay, the devices, and the seeded g1 household and case (handled to resolved) and
/// g10 household.
struct World {
    relay: TestRelay,
    li: Handset,
    sup: Handset,
    observer: Handset,
    hostile: String,
    h1: DocId,
    h10: DocId,
    case: DocId,
    _tmp: tempfile::TempDir,
}

async fn world() -> World {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(&tmp.path().join("relay")).await.unwrap();
    let dir = tmp.path();
    let (_, li) = device(&relay, dir, &grants("w-li", &[Role::GridWorker], G1));
    let (_, zhao) = device(&relay, dir, &grants("w-zhao", &[Role::GridWorker], G10));
    let (_, staff) = device(&relay, dir, &grants("s-chen", &[Role::CommunityStaff], C1));
    let (_, sup) = device(&relay, dir, &grants("m-liu", &[Role::Supervisor], C1));
    let (_, observer) = device(&relay, dir, &grants("o-he", &Role::ALL, C1));
    let (hostile, _) = device(&relay, dir, &grants("w-wang", &[Role::GridWorker], G1));

    let r = &li.replica;
    let h1 = r
        .register_household(&new_household(&grid(G1), "王秀英"), "")
        .unwrap();
    let at = now_ms() - 3_600_000;
    let c = new_case(&grid(G1), "", Role::GridWorker, Some(h1.clone()), at);
    let case = r.report_case(&c).unwrap();
    r.log_visit(&new_visit(&h1, "", at)).unwrap();
    let h10 = zhao
        .replica
        .register_household(&new_household(&grid(G10), "赵德明"), "")
        .unwrap();
    for h in [&li, &zhao] {
        assert_eq!(h.client.sync_once().await.unwrap().refused, vec![]);
    }
    staff.client.sync_once().await.unwrap();
    let triage = ActionKind::Triage {
        class: TriageClass::Small,
        level: None,
        deadline: None,
        assignee: None,
    };
    let summary = "物业已清理楼道".into();
    let resolve = ActionKind::Resolve { summary };
    for kind in [ActionKind::Accept, triage, ActionKind::Start, resolve] {
        step(&staff, &case, Role::CommunityStaff, kind);
    }
    let r = staff.client.sync_once().await.unwrap();
    assert_eq!((r.acknowledged, r.refused.len()), (4, 0), "{r:?}");
    li.client.sync_once().await.unwrap();
    World {
        relay,
        li,
        sup,
        observer,
        hostile,
        h1,
        h10,
        case,
        _tmp: tmp,
    }
}

/// What the relay holds of `id`.
fn relay_doc(w: &World, id: &DocId) -> Option<Vec<u8>> {
    let store = w.relay.hub.store();
    store.get(RELAY_DOCS_TREE, id.as_str().as_bytes()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_changes_are_refused_and_stored_nowhere() {
    let w = world().await;
    let case_before = relay_doc(&w, &w.case);
    let docs_before = w.relay.hub.document_count().unwrap();
    let log_before = w.relay.log_counts().unwrap();
    let forged = forge(&w.li, &w.case, &w.h1, &w.h10);
    let mut pushed: Vec<PushedChange> = forged.changes.iter().map(|(c, ..)| c.clone()).collect();
    // The control: the same client's honest visit goes in with them.
    let honest = DocId::new(DocKind::Visit);
    let control = raw_visit(&honest, &grid(G1), &w.h1, "w-wang", now_ms() - 60_000).unwrap();
    pushed.push(control.clone());
    let (addr, fingerprint) = (w.relay.addr, &w.relay.fingerprint);
    let mut raw = RawClient::connect(addr, fingerprint, &w.hostile)
        .await
        .unwrap();
    let refused = raw.push(pushed).await.unwrap();
    raw.close();
    let honest_refusal = refusal_of(&refused, &control.hash);
    assert_eq!(honest_refusal, None, "the honest visit was refused");
    assert_eq!(refused.len(), forged.changes.len(), "{refused:?}");
    for (change, what, reason) in &forged.changes {
        let got = refusal_of(&refused, &change.hash);
        println!("{what}: refused with {got:?}");
        let got = got.unwrap_or_else(|| panic!("the relay accepted a {what}"));
        let clear = got.contains(reason);
        assert!(clear, "the refusal of a {what} does not say why: {got}");
    }

    // Stored nowhere: not on the relay ...
    assert_eq!(
        relay_doc(&w, &w.case),
        case_before,
        "the relay's case changed"
    );
    for id in &forged.new_docs {
        assert_eq!(relay_doc(&w, id), None, "the relay stored the forged {id}");
    }
    assert_eq!(w.relay.hub.document_count().unwrap(), docs_before + 1);
    let log_after = w.relay.log_counts().unwrap();
    assert_eq!(log_after, (log_before.0 + 1, log_before.1 + 1));
    // ... nor on another device after it syncs.
    let observer = &w.observer;
    observer.client.sync_once().await.unwrap();
    for id in &forged.new_docs {
        let held = observer.replica.changes_since(id, &[]);
        let absent = matches!(held, Err(gridsync_core::Error::NotFound { .. }));
        assert!(absent, "{id}: {held:?}");
    }
    let visit = observer.replica.visit(&honest).unwrap();
    assert_eq!(visit.record.worker, "w-wang");
    let seen = observer.replica.case(&w.case).unwrap();
    assert_eq!(seen.state.status, CaseStatus::Resolved);
    assert!(seen.timeline.iter().all(|e| e.action.actor != "w-wang"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisors_evaluation_is_accepted_and_reaches_others() {
    let w = world().await;
    w.sup.client.sync_once().await.unwrap();
    let comment = "处理及时，居民满意".into();
    let evaluate = ActionKind::Evaluate {
        satisfied: true,
        comment,
    };
    step(&w.sup, &w.case, Role::Supervisor, evaluate);
    let r = w.sup.client.sync_once().await.unwrap();
    assert_eq!((r.acknowledged, r.refused.len()), (1, 0), "{r:?}");
    w.observer.client.sync_once().await.unwrap();
    let seen = w.observer.replica.case(&w.case).unwrap();
    let last = &seen.timeline.last().unwrap().action;
    assert_eq!(
        (last.actor.as_str(), last.role),
        ("m-liu", Role::Supervisor)
    );
    assert!(matches!(last.kind, ActionKind::Evaluate { .. }));
    assert_eq!(seen.state.status, CaseStatus::Closed, "{:?}", seen.state);
}
