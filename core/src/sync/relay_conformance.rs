//! The conformance suite every [`RelayBackend`] must pass: the relay's hub on sled, the
//! hub on PostgreSQL and the simulated relay run it, so the three cannot drift (issue 17).
//! Each check gets a fresh backend from `make` and enrolls its device with `enroll`; the
//! changes are real records made by a replica, as a handset pushes them.

use std::sync::Arc;

use crate::error::{Denial, Error};
use crate::ids::{DocId, GridPath};
use crate::model::{Address, Grants, NewHousehold, Role, Tier};
use crate::replica::{Replica, ReplicaConfig};
use crate::store::MemoryStore;
use crate::sync::backend::{NotIngested, OutboxItem, RelayBackend};
use crate::sync::checked::CheckedChange;
use crate::sync::wire::{Cursor, Entry};

/// The grid the suite's records are in.
pub const GRID: &str = "suite/town/community/g1";
/// A grid inside the device's scope that holds nothing.
pub const OTHER_GRID: &str = "suite/town/community/g2";

/// What the suite's device is enrolled with: every role, the suite's town.
pub fn grants() -> Grants {
    Grants {
        worker: "w-suite".into(),
        display_name: "suite worker".into(),
        roles: Role::ALL.to_vec(),
        scopes: vec![grid("suite/town")],
    }
}

fn grid(s: &str) -> GridPath {
    GridPath::parse(s).expect("grid path")
}

/// Runs every check, each on a fresh backend. `enroll` enrolls a device with
/// [`grants`] and returns its token.
pub fn run_all<B: RelayBackend>(make: impl Fn() -> B, enroll: impl Fn(&B, &Grants) -> String) {
    let fresh = || {
        let b = make();
        let token = enroll(&b, &grants());
        (b, token)
    };
    tokens_are_checked(fresh());
    ingest_is_idempotent_and_dense(fresh());
    snapshots_page_and_end_in_the_log(fresh());
    log_pulls_follow_the_cursor(fresh());
    a_cursor_past_the_head_starts_over(fresh());
    a_document_stays_in_its_grid(fresh());
}

/// A handset's replica holding `n` households in [`GRID`], and its outbox.
fn households(n: usize) -> (Replica, Vec<OutboxItem>) {
    let replica = Replica::open_with(
        Arc::new(MemoryStore::new()),
        "suite-phone",
        ReplicaConfig::default(),
    )
    .expect("replica");
    replica.store_grants(&grants()).expect("grants");
    for i in 0..n {
        let h = NewHousehold {
            grid: grid(GRID),
            address: Address::Urban {
                building: format!("{i}栋"),
                unit: "1单元".into(),
                room: "101".into(),
            },
            head: format!("户主{i}"),
            members: vec![],
            phone: String::new(),
            tier: Tier::Green,
            tags: vec![],
            contacts: vec!["w-suite".into()],
        };
        replica
            .register_household(&h, "w-suite")
            .expect("household");
    }
    let outbox = replica.outbox_after(None, usize::MAX).expect("outbox");
    (replica, outbox)
}

fn checked<B: RelayBackend>(b: &B, token: &str, items: &[OutboxItem]) -> Vec<CheckedChange> {
    let grant = b.authenticate(token).expect("authenticate");
    items
        .iter()
        .map(|i| CheckedChange::check(&grant, i.change.clone()).expect("in scope"))
        .collect()
}

fn push<B: RelayBackend>(b: &B, token: &str, items: &[OutboxItem]) {
    let grant = b.authenticate(token).expect("authenticate");
    let outcomes = b.ingest(&grant, &checked(b, token, items)).expect("ingest");
    assert_eq!(outcomes.len(), items.len(), "one outcome per change");
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
}

fn docs(entries: &[Entry]) -> Vec<DocId> {
    entries.iter().map(|e| e.doc.clone()).collect()
}

fn tokens_are_checked<B: RelayBackend>((b, token): (B, String)) {
    let grant = b.authenticate(&token).expect("known token");
    assert_eq!(grant.scopes(), grants().scopes.as_slice());
    assert!(b.still_active(&grant.device_id).expect("active"));
    match b.authenticate("gst_nobody") {
        Err(Error::Denied {
            denial: Denial::UnknownToken,
            ..
        }) => {}
        other => panic!("an unknown token got {other:?}"),
    }
}

fn ingest_is_idempotent_and_dense<B: RelayBackend>((b, token): (B, String)) {
    let (_, items) = households(3);
    assert_eq!(b.head().expect("head"), 0);
    push(&b, &token, &items);
    assert_eq!(b.head().expect("head"), 3, "one sequence per change");
    // Pushed again (an acknowledgement lost): accepted, nothing logged twice.
    push(&b, &token, &items);
    assert_eq!(b.head().expect("head"), 3);
}

fn snapshots_page_and_end_in_the_log<B: RelayBackend>((b, token): (B, String)) {
    let (_, items) = households(5);
    push(&b, &token, &items);
    let scopes = [grid(GRID)];
    let (mut cursor, mut seen, mut batches) = (Cursor::Fresh, Vec::new(), 0);
    loop {
        // A tiny budget: every batch still carries at least one entry.
        let batch = b.pull(&scopes, &cursor, 1).expect("pull");
        assert!(
            !batch.entries.is_empty() || !batch.more,
            "an empty batch with more"
        );
        seen.extend(docs(&batch.entries));
        cursor = batch.next;
        batches += 1;
        if !batch.more {
            break;
        }
        assert!(batches < 20, "the snapshot does not end");
    }
    seen.sort();
    let mut want: Vec<DocId> = items.iter().map(|i| i.change.doc.clone()).collect();
    want.sort();
    assert_eq!(seen, want, "every document once");
    assert_eq!(
        cursor,
        Cursor::Log { after: 5 },
        "a snapshot ends at the head"
    );
    let empty = b
        .pull(&[grid(OTHER_GRID)], &Cursor::Fresh, usize::MAX)
        .expect("pull");
    assert!(empty.entries.is_empty(), "another grid's pull got entries");
}

fn log_pulls_follow_the_cursor<B: RelayBackend>((b, token): (B, String)) {
    let (_, items) = households(4);
    push(&b, &token, &items[..2]);
    push(&b, &token, &items[2..]);
    let scopes = [grid("suite/town")];
    let batch = b
        .pull(&scopes, &Cursor::Log { after: 2 }, usize::MAX)
        .expect("pull");
    let want: Vec<DocId> = items[2..].iter().map(|i| i.change.doc.clone()).collect();
    assert_eq!(
        docs(&batch.entries),
        want,
        "what follows the cursor, in log order"
    );
    assert_eq!((batch.next, batch.more), (Cursor::Log { after: 4 }, false));
    let none = b
        .pull(&scopes, &Cursor::Log { after: 4 }, usize::MAX)
        .expect("pull");
    assert!(none.entries.is_empty());
    assert_eq!((none.next, none.more), (Cursor::Log { after: 4 }, false));
}

fn a_cursor_past_the_head_starts_over<B: RelayBackend>((b, token): (B, String)) {
    let (_, items) = households(1);
    push(&b, &token, &items);
    // A relay restored from an older backup: not an error, an empty batch to start over.
    for cursor in [
        Cursor::Log { after: 9 },
        Cursor::Snapshot {
            high_water: 9,
            after_doc: None,
        },
    ] {
        let batch = b.pull(&[grid(GRID)], &cursor, usize::MAX).expect("pull");
        assert!(batch.entries.is_empty(), "{cursor:?}");
        assert_eq!(
            (batch.next, batch.more),
            (Cursor::Fresh, true),
            "{cursor:?}"
        );
    }
}

fn a_document_stays_in_its_grid<B: RelayBackend>((b, token): (B, String)) {
    let (replica, items) = households(1);
    push(&b, &token, &items);
    let id = items[0].change.doc.clone();
    replica
        .change_tier(&id, Tier::Red, "w-suite", "独居老人")
        .expect("edit");
    let mut next = replica
        .outbox_after(Some(items[0].seq), usize::MAX)
        .expect("outbox");
    assert_eq!(next.len(), 1);
    // The edit, claiming another grid of the device's scope.
    next[0].change.grid = grid(OTHER_GRID);
    let grant = b.authenticate(&token).expect("authenticate");
    let outcomes = b
        .ingest(&grant, &checked(&b, &token, &next))
        .expect("ingest");
    assert!(
        matches!(outcomes.as_slice(), [Err(NotIngested::Refused(_))]),
        "{outcomes:?}"
    );
    assert_eq!(
        b.head().expect("head"),
        1,
        "a refused change is stored nowhere"
    );
}
