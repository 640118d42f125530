//! The relay's hub, driven directly (no transport): how pushed changes are stored. First
//! changes of new documents are kept as the change itself and come back out of a
//! snapshot byte for byte; later changes build on them; refused changes leave nothing
//! behind, even when the rest of their push is accepted; a repeated push logs nothing.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use gridsync_core::replica::{Replica, ReplicaConfig};
use gridsync_core::store::MemoryStore;
use gridsync_core::sync::CheckedChange;
use gridsync_core::sync::backend::{DeviceGrant, NotIngested, RelayBackend};
use gridsync_core::sync::wire::{Cursor, Payload, PushedChange};
use gridsync_core::{DocId, GridPath};
use gridsync_server::Hub;
use gridsync_tests::relay::all_roles;
use gridsync_tests::workload::{Workload, WorkloadConfig};

const GRID: &str = "ankang/ziyang/haoping/dongmu/g02";

struct Fixture {
    _dir: tempfile::TempDir,
    hub: Hub,
    grant: DeviceGrant,
    replica: Replica,
    household: DocId,
    workload: Workload,
}

/// The pushing handset's replica, in memory.
fn phone_replica() -> Replica {
    Replica::open_with(
        Arc::new(MemoryStore::new()),
        "phone",
        ReplicaConfig::default(),
    )
    .unwrap()
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let hub = gridsync_server::open_hub(dir.path(), 8).unwrap();
    let grid = GridPath::parse(GRID).unwrap();
    let e = hub
        .add_device("phone", &all_roles("w", &[GRID]).unwrap())
        .unwrap();
    let grant = hub.authenticate(&e.token).unwrap();
    let replica = phone_replica();
    replica.store_grants(&grant.grants).unwrap();
    let mut cfg = WorkloadConfig::bootstrap();
    cfg.households_per_grid = 2;
    cfg.visits = 10;
    cfg.cases = 0;
    let workload = Workload::generate(&cfg);
    let mut h = workload.households[0].clone();
    h.grid = grid;
    let household = replica.register_household(&h, "w").unwrap();
    Fixture {
        _dir: dir,
        hub,
        grant,
        replica,
        household,
        workload,
    }
}

impl Fixture {
    fn outbox(&self) -> Vec<PushedChange> {
        self.replica
            .outbox_after(None, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|i| i.change)
            .collect()
    }

    /// Ingests changes as a session would hand them over (parsed and scope-checked).
    fn ingest_typed(&self, changes: &[PushedChange]) -> Vec<Result<(), NotIngested>> {
        let checked: Vec<CheckedChange> = changes
            .iter()
            .map(|c| CheckedChange::check(&self.grant, c.clone()).unwrap())
            .collect();
        self.hub.ingest(&self.grant, &checked).unwrap()
    }

    /// [`Fixture::ingest_typed`], refusals and deferrals as their reasons.
    fn ingest(&self, changes: &[PushedChange]) -> Vec<Result<(), String>> {
        (self.ingest_typed(changes).into_iter())
            .map(|o| o.map_err(|e| e.reason().to_string()))
            .collect()
    }

    fn log_visits(&self, n: usize) -> Vec<DocId> {
        (0..n)
            .map(|i| {
                let v = self.workload.visits[i].to_new_visit(self.household.clone());
                self.replica.log_visit(&v).unwrap()
            })
            .collect()
    }

    fn snapshot(&self) -> Vec<(DocId, Payload)> {
        let b = self
            .hub
            .pull(self.grant.scopes(), &Cursor::Fresh, usize::MAX)
            .unwrap();
        b.entries.into_iter().map(|e| (e.doc, e.payload)).collect()
    }
}

#[test]
fn a_new_documents_first_change_comes_back_out_of_a_snapshot_unchanged() {
    let f = fixture();
    let visits = f.log_visits(3);
    let pushed = f.outbox();
    let out = f.ingest(&pushed);
    assert!(out.iter().all(|o| o.is_ok()), "{out:?}");
    let snap = f.snapshot();
    assert_eq!(snap.len(), 4, "the household and three visits");
    for v in &visits {
        let sent = pushed.iter().find(|p| &p.doc == v).unwrap();
        let (_, payload) = snap.iter().find(|(d, _)| d == v).unwrap();
        assert_eq!(payload, &Payload::Change(sent.bytes.clone()), "visit {v}");
    }
}

#[test]
fn later_changes_build_on_a_document_stored_as_its_first_change() {
    let f = fixture();
    f.log_visits(1);
    let first = f.outbox();
    f.ingest(&first);
    f.replica
        .change_tier(&f.household, gridsync_core::model::Tier::Red, "w", "独居")
        .unwrap();
    let all = f.outbox();
    let later: Vec<PushedChange> = all[first.len()..].to_vec();
    assert!(!later.is_empty());
    let out = f.ingest(&later);
    assert!(out.iter().all(|o| o.is_ok()), "{out:?}");
    // The household now has two changes: it goes out as a whole document that holds both.
    let snap = f.snapshot();
    let (_, payload) = snap.iter().find(|(d, _)| *d == f.household).unwrap();
    let Payload::Snapshot(saved) = payload else {
        panic!("a changed document travels as a snapshot");
    };
    let doc = automerge::Automerge::load(saved).unwrap();
    let want = f.replica.household(&f.household).unwrap();
    assert_eq!(want.tier, gridsync_core::model::Tier::Red);
    let changes = doc.get_changes(&[]);
    assert_eq!(changes.len(), 2);
}

/// A relay restored from an older backup lacks what a later change builds on: the change is
/// deferred (the handset keeps it and pushes it again after its dependency), not refused
/// for good, and nothing is stored until the dependency arrives.
#[test]
fn a_change_whose_dependency_is_missing_is_deferred_not_refused() {
    let f = fixture();
    let first = f.outbox();
    f.replica
        .change_tier(&f.household, gridsync_core::model::Tier::Red, "w", "独居")
        .unwrap();
    let later: Vec<PushedChange> = f.outbox()[first.len()..].to_vec();
    let out = f.ingest_typed(&later);
    assert!(
        out.iter()
            .all(|o| matches!(o, Err(NotIngested::MissingDependency(_)))),
        "{out:?}"
    );
    assert_eq!(f.hub.head().unwrap(), 0);
    let mut both = first.clone();
    both.extend(later);
    assert!(f.ingest_typed(&both).iter().all(Result::is_ok));
    assert_eq!(f.hub.head().unwrap(), 2);
}

#[test]
fn a_refused_new_document_is_stored_nowhere_while_the_rest_of_its_push_lands() {
    let f = fixture();
    f.log_visits(2);
    let mut pushed = f.outbox();
    // The second visit claims to be another document: refused, under either id.
    let other = DocId::new(gridsync_core::ids::DocKind::Visit);
    let claimed = pushed[2].doc.clone();
    pushed[2].doc = other.clone();
    let out = f.ingest(&pushed);
    assert!(out[0].is_ok() && out[1].is_ok(), "{out:?}");
    let reason = out[2].as_ref().unwrap_err();
    assert!(reason.contains("does not call itself"), "{reason}");
    assert_eq!(f.hub.document_count().unwrap(), 2);
    let snap = f.snapshot();
    assert!(snap.iter().all(|(d, _)| *d != other && *d != claimed));
}

#[test]
fn a_visit_to_a_household_of_its_own_push_stands_only_if_the_household_is_accepted() {
    let f = fixture();
    f.log_visits(2);
    let mut pushed = f.outbox();
    // The household's change is swapped for another phone's household relabelled with
    // this one's id: the relay refuses it, so the visits name a household it lacks.
    let other = phone_replica();
    other.store_grants(&f.grant.grants).unwrap();
    let mut h = f.workload.households[1].clone();
    h.grid = GridPath::parse(GRID).unwrap();
    other.register_household(&h, "w").unwrap();
    let mut swapped = other.outbox_after(None, 1).unwrap().remove(0).change;
    swapped.doc = f.household.clone();
    pushed[0] = swapped;
    let out = f.ingest(&pushed);
    assert!(
        out[0]
            .as_ref()
            .unwrap_err()
            .contains("does not call itself"),
        "{out:?}"
    );
    for visit in &out[1..] {
        let reason = visit.as_ref().unwrap_err();
        assert!(reason.contains("not known here"), "{reason}");
    }
    assert_eq!(f.hub.document_count().unwrap(), 0);
    // With the household's own change, the same visits land in one push.
    let out = f.ingest(&f.outbox());
    assert!(out.iter().all(|o| o.is_ok()), "{out:?}");
    assert_eq!(f.hub.document_count().unwrap(), 3);
}

#[test]
fn a_repeated_push_logs_nothing_new() {
    let f = fixture();
    f.log_visits(4);
    let pushed = f.outbox();
    f.ingest(&pushed);
    let head = f.hub.head().unwrap();
    assert_eq!(head, pushed.len() as u64);
    // Twice in one push, and again in a second push.
    let twice: Vec<PushedChange> = pushed.iter().chain(pushed.iter()).cloned().collect();
    let out = f.ingest(&twice);
    assert!(out.iter().all(|o| o.is_ok()), "{out:?}");
    assert_eq!(f.hub.head().unwrap(), head);
    assert_eq!(f.hub.document_count().unwrap(), pushed.len());
}

/// A snapshot resumed one document at a time reaches every scope of a grant, even scopes
/// whose keys sort before an earlier scope's (`a/b-x/…` < `a/b/…` byte-wise, while the
/// scopes sort `a/b` < `a/b-x`). It used to stop after the first scope.
#[test]
fn a_resumed_snapshot_reaches_every_scope_whatever_their_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let hub = gridsync_server::open_hub(dir.path(), 8).unwrap();
    let grant = hub
        .authenticate(
            &hub.add_device("phone", &all_roles("w", &["a/b", "a/b-x"]).unwrap())
                .unwrap()
                .token,
        )
        .unwrap();
    let replica = phone_replica();
    replica.store_grants(&grant.grants).unwrap();
    let mut cfg = WorkloadConfig::bootstrap();
    cfg.households_per_grid = 4;
    let workload = Workload::generate(&cfg);
    let grids = ["a/b/g1", "a/b/g1", "a/b-x/g1", "a/b-x/g1"];
    let mut made = std::collections::BTreeSet::new();
    for (h, grid) in workload.households.iter().zip(grids) {
        let mut h = h.clone();
        h.grid = GridPath::parse(grid).unwrap();
        made.insert(replica.register_household(&h, "w").unwrap());
    }
    let checked: Vec<CheckedChange> = (replica.outbox_after(None, usize::MAX).unwrap())
        .into_iter()
        .map(|i| CheckedChange::check(&grant, i.change).unwrap())
        .collect();
    let outcomes = hub.ingest(&grant, &checked).unwrap();
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let (mut cursor, mut received) = (Cursor::Fresh, std::collections::BTreeSet::new());
    for _ in 0..20 {
        // One byte per batch: every batch holds one document and resumes after it.
        let batch = hub.pull(grant.scopes(), &cursor, 1).unwrap();
        received.extend(batch.entries.iter().map(|e| e.doc.clone()));
        cursor = batch.next;
        if !batch.more && matches!(cursor, Cursor::Log { .. }) {
            break;
        }
    }
    assert_eq!(received, made, "every document of both scopes arrives");
}
