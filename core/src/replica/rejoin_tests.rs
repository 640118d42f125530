//! The acknowledged journal and rejoining a restored relay, on a real sled store: what a
//! relay restored from an older backup lost comes back into the outbox, the cursor moves
//! back to the backup's head, and both survive a reopen. The end-to-end run with a real
//! relay process, backup and restore is `tests/tests/relay_backup.rs`.

use std::sync::Arc;

use super::Replica;
use crate::ids::{DocId, GridPath};
use crate::model::{Address, Grants, NewHousehold, Role, Tier};
use crate::sync::backend::Rejoin;
use crate::sync::wire::{Cursor, Fork, Lineage};

const GRID: &str = "c1/g05";
const NOW: i64 = 1_700_000_000_000;
const OLD: u64 = 0x0a;
const NEW: u64 = 0x0b;

fn open(dir: &tempfile::TempDir) -> Replica {
    let r = (Replica::open(dir.path(), "dev-1").expect("open")).with_clock(Arc::new(|| NOW));
    r.store_grants(&Grants {
        worker: "wang".into(),
        display_name: "王芳".into(),
        roles: vec![Role::GridWorker],
        scopes: vec![GridPath::parse(GRID).expect("grid")],
    })
    .expect("grants");
    r
}

fn register(r: &Replica, head: &str) -> DocId {
    let h = NewHousehold {
        grid: GridPath::parse(GRID).expect("grid"),
        address: Address::Rural {
            group: "三组".into(),
            courtyard: "东院".into(),
            number: format!("{}号", head.len()),
        },
        head: head.into(),
        members: vec![],
        phone: String::new(),
        tier: Tier::Green,
        tags: vec![],
        contacts: vec![],
    };
    r.register_household(&h, "wang").expect("register")
}

fn lineage(generation: u64, forks: &[(u64, u64)], backed_up: u64) -> Lineage {
    Lineage {
        generation,
        forks: (forks.iter())
            .map(|&(generation, head)| Fork { generation, head })
            .collect(),
        backed_up,
    }
}

/// Pushes and acknowledges everything pending, as if the relay stored it at `head`.
fn acknowledge_at(r: &Replica, head: u64) -> Vec<u64> {
    let seqs: Vec<u64> = (r.outbox_after(None, usize::MAX).expect("outbox").iter())
        .map(|i| i.seq)
        .collect();
    r.acknowledge(&seqs, head).expect("ack");
    seqs
}

fn pending_seqs(r: &Replica) -> Vec<u64> {
    (r.outbox_after(None, usize::MAX).expect("outbox").iter())
        .map(|i| i.seq)
        .collect()
}

/// Three households acknowledged at heads 3, 5 and 8 of generation OLD, cursor at 9.
fn synced(dir: &tempfile::TempDir) -> (Replica, Vec<u64>) {
    let r = open(dir);
    assert_eq!(
        r.rejoin(&lineage(OLD, &[], 0)).expect("rejoin"),
        Rejoin::Same
    );
    assert_eq!(r.relay_generation().expect("generation"), Some(OLD));
    let mut seqs = Vec::new();
    for (name, head) in [("赵", 3), ("钱", 5), ("孙", 8)] {
        register(&r, name);
        seqs.extend(acknowledge_at(&r, head));
    }
    r.apply_batch(&[], &Cursor::Log { after: 9 })
        .expect("cursor");
    assert_eq!(r.pending().expect("pending").changes, 0);
    assert_eq!(r.acknowledged_kept().expect("kept"), 3);
    (r, seqs)
}

#[test]
fn the_same_relay_forgets_only_what_its_newest_backup_holds() {
    let dir = tempfile::tempdir().expect("dir");
    let (r, _) = synced(&dir);
    assert_eq!(
        r.rejoin(&lineage(OLD, &[], 5)).expect("rejoin"),
        Rejoin::Same
    );
    assert_eq!(
        r.acknowledged_kept().expect("kept"),
        1,
        "the change at 8 stays"
    );
    assert_eq!(r.cursor().expect("cursor"), Cursor::Log { after: 9 });
    assert_eq!(r.pending().expect("pending").changes, 0);
    // A relay without a generation (an older build) changes nothing.
    assert_eq!(r.rejoin(&lineage(0, &[], 0)).expect("rejoin"), Rejoin::Same);
    assert_eq!(r.acknowledged_kept().expect("kept"), 1);
}

#[test]
fn a_relay_restored_from_an_older_backup_gets_back_what_it_lost_durably() {
    let dir = tempfile::tempdir().expect("dir");
    let (r, seqs) = synced(&dir);
    let restored = lineage(NEW, &[(OLD, 5)], 5);
    assert_eq!(
        r.rejoin(&restored).expect("rejoin"),
        Rejoin::Rewound { requeued: 1 }
    );
    assert_eq!(
        pending_seqs(&r),
        vec![seqs[2]],
        "only the change acknowledged at 8"
    );
    assert_eq!(r.cursor().expect("cursor"), Cursor::Log { after: 5 });
    assert_eq!(r.pending().expect("pending").changes, 1);
    assert_eq!(r.relay_generation().expect("generation"), Some(NEW));
    drop(r);

    let r = open(&dir);
    assert_eq!(pending_seqs(&r), vec![seqs[2]], "after a reopen too");
    assert_eq!(r.cursor().expect("cursor"), Cursor::Log { after: 5 });
    // The change is pushed with its bytes, read from its document.
    let item = &r.outbox_after(None, usize::MAX).expect("outbox")[0];
    assert!(!item.change.bytes.is_empty());
    // Seeing the restored relay again changes nothing more.
    assert_eq!(r.rejoin(&restored).expect("rejoin"), Rejoin::Same);
    assert_eq!(pending_seqs(&r), vec![seqs[2]]);
    // A new change gets a seq of its own, never one the journal holds.
    register(&r, "李");
    let pending = pending_seqs(&r);
    assert_eq!(pending.len(), 2);
    assert!(
        pending[1] > *seqs.iter().max().expect("seqs"),
        "{pending:?}"
    );
}

#[test]
fn a_relay_of_unknown_lineage_gets_everything_kept_and_the_handset_bootstraps_again() {
    let dir = tempfile::tempdir().expect("dir");
    let (r, seqs) = synced(&dir);
    assert_eq!(
        r.rejoin(&lineage(NEW, &[(0x99, 100)], 0)).expect("rejoin"),
        Rejoin::Rewound { requeued: 3 }
    );
    assert_eq!(pending_seqs(&r), seqs);
    assert_eq!(r.cursor().expect("cursor"), Cursor::Fresh);
    assert_eq!(r.acknowledged_kept().expect("kept"), 0);
}

#[test]
fn a_bootstrap_snapshot_taken_past_the_fork_starts_over() {
    let dir = tempfile::tempdir().expect("dir");
    let r = open(&dir);
    r.rejoin(&lineage(OLD, &[], 0)).expect("rejoin");
    let mid = Cursor::Snapshot {
        high_water: 40,
        after_doc: None,
    };
    r.apply_batch(&[], &mid).expect("cursor");
    r.rejoin(&lineage(NEW, &[(OLD, 30)], 30)).expect("rejoin");
    assert_eq!(r.cursor().expect("cursor"), Cursor::Fresh);
    // One taken before the fork goes on where it was.
    let before = Cursor::Snapshot {
        high_water: 20,
        after_doc: None,
    };
    r.apply_batch(&[], &before).expect("cursor");
    r.rejoin(&lineage(0x0c, &[(OLD, 30), (NEW, 35)], 0))
        .expect("rejoin");
    assert_eq!(r.cursor().expect("cursor"), before);
}

fn deferral(item: &crate::sync::OutboxItem) -> crate::sync::RefusedChange {
    crate::sync::RefusedChange {
        seq: item.seq,
        doc: item.change.doc.clone(),
        hash: item.change.hash,
        reason: "the relay lacks a change this one builds on".into(),
    }
}

/// A deferral for a missing dependency is a refusal after all when what is missing is a
/// change the relay refused (it will never have it), directly or through another deferred
/// change; otherwise the change stays pending.
#[test]
fn changes_deferred_for_a_refused_dependency_are_refused_the_rest_stay_pending() {
    let dir = tempfile::tempdir().expect("dir");
    let r = open(&dir);
    let refused_household = register(&r, "周");
    let kept_household = register(&r, "吴");
    let first = r.outbox_after(None, usize::MAX).expect("outbox");
    r.refuse(&[crate::sync::RefusedChange {
        reason: "not yours".into(),
        ..deferral(&first[0])
    }])
    .expect("refuse");
    r.acknowledge(&[first[1].seq], 4).expect("ack");
    for id in [&refused_household, &kept_household] {
        r.change_tier(id, Tier::Red, "wang", "独居").expect("tier");
        r.change_tier(id, Tier::Yellow, "wang", "好转")
            .expect("tier");
    }
    let later = r.outbox_after(None, usize::MAX).expect("outbox");
    assert_eq!(later.len(), 4);
    let deferred: Vec<_> = later.iter().map(deferral).collect();
    let refused = r.built_on_refused(&deferred).expect("check");
    let refused_docs: Vec<_> = refused.iter().map(|c| (c.doc.clone(), c.seq)).collect();
    let want: Vec<_> = (later.iter())
        .filter(|i| i.change.doc == refused_household)
        .map(|i| (i.change.doc.clone(), i.seq))
        .collect();
    assert_eq!(
        refused_docs, want,
        "both later changes of the refused record, none else"
    );
    assert!(refused.iter().all(|c| c.reason.contains("refused")));
}
