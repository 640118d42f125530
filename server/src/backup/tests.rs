//! The backup file and the snapshot, in-process: records come back as written; one byte
//! changed anywhere or the file cut anywhere fails the read; a document changed and one
//! created after the snapshot's head are restored as they were at that head (changed back,
//! left out).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use gridsync_core::model::{Address, Grants, NewHousehold, Role, Tier};
use gridsync_core::replica::{Replica, ReplicaConfig};
use gridsync_core::store::MemoryStore;
use gridsync_core::sync::backend::{DeviceGrant, RelayBackend};
use gridsync_core::sync::{CheckedChange, Cursor};
use gridsync_core::{DocId, GridPath};

use super::format::{Header, Reader, Record, Writer};
use super::{BackupError, restore};
use crate::hub::Hub;

const GRID: &str = "ankang/hanbin/g01";

fn header() -> Header {
    Header {
        generation: 7,
        forks: vec![],
        head: 3,
        created_at: 1,
        relay_version: "test".into(),
    }
}

fn records() -> Vec<Record> {
    (0..50u8)
        .map(|i| Record::Put {
            tree: "log".into(),
            key: vec![i],
            value: vec![i; 100 + i as usize],
        })
        .collect()
}

fn written() -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), &header()).unwrap();
    for r in records() {
        w.record(&r).unwrap();
    }
    w.finish().unwrap().0
}

fn read_all(bytes: &[u8]) -> Result<(Header, Vec<Record>), BackupError> {
    let (mut r, h) = Reader::open(bytes)?;
    let mut out = Vec::new();
    while let Some(rec) = r.next_record()? {
        out.push(rec);
    }
    Ok((h, out))
}

#[test]
fn records_come_back_as_written_and_any_damage_fails_the_read() {
    let bytes = written();
    assert_eq!(read_all(&bytes).unwrap(), (header(), records()));
    for cut in [0, 5, 8, 20, bytes.len() / 2, bytes.len() - 1] {
        assert!(read_all(&bytes[..cut]).is_err(), "cut at {cut} read");
    }
    for at in (0..bytes.len()).step_by(7) {
        let mut bad = bytes.clone();
        bad[at] ^= 0x40;
        assert!(read_all(&bad).is_err(), "a flipped byte at {at} read");
    }
}

fn replica() -> Replica {
    let r = Replica::open_with(Arc::new(MemoryStore::new()), "p", ReplicaConfig::default());
    let r = r.unwrap();
    r.store_grants(&Grants {
        worker: "w".into(),
        display_name: "王".into(),
        roles: vec![Role::GridWorker],
        scopes: vec![GridPath::parse(GRID).unwrap()],
    })
    .unwrap();
    r
}

fn household(head: &str) -> NewHousehold {
    NewHousehold {
        grid: GridPath::parse(GRID).unwrap(),
        address: Address::Urban {
            building: "1栋".into(),
            unit: "1单元".into(),
            room: head.len().to_string(),
        },
        head: head.into(),
        members: vec![],
        phone: String::new(),
        tier: Tier::Green,
        tags: vec![],
        contacts: vec![],
    }
}

/// Pushes everything pending on `r` into the hub and acknowledges it.
fn push(hub: &Hub, grant: &DeviceGrant, r: &Replica) {
    let items = r.outbox_after(None, usize::MAX).unwrap();
    let checked: Vec<CheckedChange> = (items.iter())
        .map(|i| CheckedChange::check(grant, i.change.clone()).unwrap())
        .collect();
    assert!(
        hub.ingest(grant, &checked)
            .unwrap()
            .iter()
            .all(Result::is_ok)
    );
    let seqs: Vec<u64> = items.iter().map(|i| i.seq).collect();
    r.acknowledge(&seqs, hub.head().unwrap()).unwrap();
}

#[test]
fn documents_changed_after_the_head_are_backed_up_as_they_were_at_it() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = crate::open_hub(&tmp.path().join("relay"), 8).unwrap();
    let grants = Grants {
        worker: "w".into(),
        display_name: "王".into(),
        roles: vec![Role::GridWorker],
        scopes: vec![GridPath::parse(GRID).unwrap()],
    };
    let token = hub.add_device("p", &grants).unwrap().token;
    let grant = hub.authenticate(&token).unwrap();
    let r = replica();
    let kept = r.register_household(&household("甲"), "w").unwrap();
    push(&hub, &grant, &r);
    // The snapshot's head is fixed here; then a change and a new document land.
    let snapshot = super::snapshot::Snapshot::begin(&hub).unwrap();
    r.change_tier(&kept, Tier::Red, "w", "独居").unwrap();
    let later: DocId = r.register_household(&household("乙乙"), "w").unwrap();
    push(&hub, &grant, &r);
    let mut w = Writer::new(Vec::new(), &header()).unwrap();
    let counts = snapshot.write(&hub, &mut w, &|_| {}).unwrap();
    let file = tmp.path().join("b.bak");
    std::fs::write(&file, w.finish().unwrap().0).unwrap();
    assert_eq!((counts.changes, counts.documents), (1, 1));

    let restored = tmp.path().join("restored");
    let summary = restore(&file, &restored, 8, &|_| {}).unwrap();
    assert_ne!(summary.generation, summary.from_generation);
    let back = crate::open_hub(&restored, 8).unwrap();
    assert_eq!(back.head().unwrap(), 1);
    assert_eq!(back.document_count().unwrap(), 1);
    let lineage = back.lineage();
    assert_eq!(lineage.forks.len(), 1);
    assert_eq!((lineage.forks[0].generation, lineage.forks[0].head), (7, 3));
    let batch = back.pull(&[GridPath::parse(GRID).unwrap()], &Cursor::Fresh, 1 << 20);
    let entries = batch.unwrap().entries;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].doc, kept);
    assert!(entries.iter().all(|e| e.doc != later));
    // The household is as it was at the head: its first change only, still green.
    let doc = match &entries[0].payload {
        gridsync_core::sync::Payload::Change(b) | gridsync_core::sync::Payload::Snapshot(b) => {
            automerge::Automerge::load(b).unwrap()
        }
    };
    assert_eq!(doc.get_changes(&[]).len(), 1);
    // The device came back with its token.
    assert_eq!(
        back.authenticate(&token).unwrap().device_id,
        grant.device_id
    );
}
