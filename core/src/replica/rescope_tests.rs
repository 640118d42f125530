//! Following a rescope on a real sled store: which grids get a bootstrap pull, and which
//! records wait before they are retired (pending work until acknowledged, a refused change
//! until the user discards it). The end-to-end move over QUIC is `tests/tests/trust_rescope.rs`.

use std::sync::Arc;

use super::{RecordSyncState, Replica};
use crate::error::Error;
use crate::ids::{DocId, GridPath};
use crate::model::{Address, Grants, HouseholdUpdate, NewHousehold, Role, Tier};
use crate::sync::RefusedChange;
use crate::sync::backend::Bootstrap;
use crate::sync::wire::Cursor;

const G05: &str = "c1/g05";
const G06: &str = "c1/g06";
const NOW: i64 = 1_700_000_000_000;

fn grants(scopes: &[&str]) -> Grants {
    Grants {
        worker: "wang".into(),
        display_name: "王芳".into(),
        roles: vec![Role::GridWorker],
        scopes: scopes
            .iter()
            .map(|s| GridPath::parse(s).expect("grid"))
            .collect(),
    }
}

fn open(dir: &tempfile::TempDir) -> Replica {
    (Replica::open(dir.path(), "dev-1").expect("open")).with_clock(Arc::new(|| NOW))
}

fn register(r: &Replica, grid: &str, head: &str) -> DocId {
    let h = NewHousehold {
        grid: GridPath::parse(grid).expect("grid"),
        address: Address::Urban {
            building: "3栋".into(),
            unit: "2单元".into(),
            room: "501".into(),
        },
        head: head.into(),
        members: vec![],
        phone: String::new(),
        tier: Tier::Green,
        tags: vec![],
        contacts: vec![],
    };
    r.register_household(&h, "").expect("register")
}

/// Acknowledges every pending change, as the relay would.
fn acknowledge_all(r: &Replica) {
    let seqs: Vec<u64> = (r.outbox_after(None, usize::MAX).expect("outbox").iter())
        .map(|i| i.seq)
        .collect();
    r.acknowledge(&seqs, 1).expect("ack");
    r.retire_lost().expect("retire");
}

/// A handset in g05 that has synced (its cursor is past the start) and holds `n` records.
fn synced_in_g05(r: &Replica, n: usize) -> Vec<DocId> {
    r.store_grants(&grants(&[G05])).expect("grants");
    let ids = (0..n)
        .map(|i| register(r, G05, &format!("户{i}")))
        .collect();
    acknowledge_all(r);
    r.apply_batch(&[], &Cursor::Log { after: 7 })
        .expect("cursor");
    ids
}

#[test]
fn a_new_grid_is_pulled_from_its_start_and_a_lost_one_retired_once_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = open(&dir);
    let old = synced_in_g05(&r, 2);
    // Offline, before learning of the move: one more edit of a g05 record.
    let edit = HouseholdUpdate {
        phone: Some("13800002222".into()),
        ..HouseholdUpdate::default()
    };
    r.update_household(&old[0], &edit).expect("edit");

    r.take_grants(&grants(&[G06])).expect("rescope");
    assert_eq!(
        r.bootstrap().expect("bootstrap"),
        Some(Bootstrap {
            scopes: vec![GridPath::parse(G06).expect("grid")],
            cursor: Cursor::Fresh,
        })
    );
    assert_eq!(r.cursor().expect("cursor"), Cursor::Log { after: 7 });
    // The record with nothing pending is gone at once; the edited one waits for its ack.
    assert!(matches!(r.household(&old[1]), Err(Error::NotFound { .. })));
    assert_eq!(r.retiring().expect("retiring"), vec![old[0].clone()]);
    assert_eq!(r.household(&old[0]).expect("kept").phone, "13800002222");

    acknowledge_all(&r);
    assert!(matches!(r.household(&old[0]), Err(Error::NotFound { .. })));
    assert!(r.retiring().expect("retiring").is_empty());
    // The bootstrap's last batch ends it; the main cursor never moved.
    let done = r.bootstrap().expect("bootstrap").expect("running");
    r.apply_bootstrap_batch(&[], &done, true).expect("apply");
    assert_eq!(r.bootstrap().expect("bootstrap"), None);
    assert_eq!(r.cursor().expect("cursor"), Cursor::Log { after: 7 });
    drop(r);
    // Reopened, nothing comes back.
    let r = open(&dir);
    assert!(r.list_households(None).expect("list").is_empty());
}

#[test]
fn a_refused_change_in_a_lost_grid_waits_for_the_user() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = open(&dir);
    let old = synced_in_g05(&r, 1);
    let edit = HouseholdUpdate {
        phone: Some("13800003333".into()),
        ..HouseholdUpdate::default()
    };
    r.update_household(&old[0], &edit).expect("edit");
    r.take_grants(&grants(&[G06])).expect("rescope");
    let item = r.outbox_after(None, usize::MAX).expect("outbox").remove(0);
    r.refuse(&[RefusedChange {
        seq: item.seq,
        doc: old[0].clone(),
        hash: item.change.hash,
        reason: "refused for the test".into(),
    }])
    .expect("refuse");
    assert_eq!(r.retire_lost().expect("retire"), 0);
    assert!(matches!(
        r.record_sync_state(&old[0]).expect("state"),
        RecordSyncState::Refused { .. }
    ));
    // Discarding the refused edit leaves what the relay has, which is then retired.
    let d = r.discard_refused(&old[0]).expect("discard");
    assert!(!d.deleted);
    assert!(matches!(r.household(&old[0]), Err(Error::NotFound { .. })));
    assert!(r.retiring().expect("retiring").is_empty());
}

#[test]
fn a_grid_granted_again_is_kept_and_a_fresh_handset_needs_no_bootstrap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = open(&dir);
    let old = synced_in_g05(&r, 1);
    r.update_household(
        &old[0],
        &HouseholdUpdate {
            phone: Some("13800004444".into()),
            ..HouseholdUpdate::default()
        },
    )
    .expect("edit");
    r.take_grants(&grants(&[G06])).expect("rescope");
    r.take_grants(&grants(&[G05, G06])).expect("granted again");
    acknowledge_all(&r);
    assert!(
        r.household(&old[0]).is_ok(),
        "a record granted again is kept"
    );
    assert!(r.retiring().expect("retiring").is_empty());
    // The main cursor skipped g05 while it was not granted: both grids are pulled whole.
    let boot = r.bootstrap().expect("bootstrap").expect("running");
    let both: Vec<GridPath> = [G06, G05]
        .iter()
        .map(|g| GridPath::parse(g).expect("grid"))
        .collect();
    assert_eq!((boot.scopes, boot.cursor), (both, Cursor::Fresh));

    let fresh_dir = tempfile::tempdir().expect("tempdir");
    let fresh = open(&fresh_dir);
    fresh.store_grants(&grants(&[G05])).expect("grants");
    fresh.take_grants(&grants(&[G06])).expect("rescope");
    assert_eq!(
        fresh.bootstrap().expect("bootstrap"),
        None,
        "its first pull covers g06"
    );
}
