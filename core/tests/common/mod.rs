//! Fixtures shared by the core's integration tests.
#![allow(dead_code, missing_docs)]
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use gridsync_core::model::{
    Address, Member, NewCase, NewHousehold, NewVisit, Role, Tier, VisitMode,
};
use gridsync_core::replica::Clock;
use gridsync_core::store::MemoryStore;
use gridsync_core::{DAY_MS, DocId, GridPath, Replica, ReplicaConfig, Timestamp};

/// 2026-03-01 00:00 UTC.
pub const T0: Timestamp = 1_772_323_200_000;

pub fn grid() -> GridPath {
    GridPath::parse("ankang/hanbin/laocheng/xinhua/g03").unwrap()
}

/// A virtual clock the test moves by hand.
pub struct TestClock(pub Arc<AtomicI64>);

impl TestClock {
    pub fn new(t: Timestamp) -> Self {
        TestClock(Arc::new(AtomicI64::new(t)))
    }
    pub fn clock(&self) -> Clock {
        let c = self.0.clone();
        Arc::new(move || c.load(Ordering::SeqCst))
    }
    pub fn advance_days(&self, d: i64) {
        self.0.fetch_add(d * DAY_MS, Ordering::SeqCst);
    }
    pub fn now(&self) -> Timestamp {
        self.0.load(Ordering::SeqCst)
    }
}

pub fn memory_replica(device: &str, clock: &TestClock) -> Replica {
    Replica::open_with(
        Arc::new(MemoryStore::new()),
        device,
        ReplicaConfig::default(),
    )
    .unwrap()
    .with_clock(clock.clock())
}

pub fn household(head: &str, tier: Tier, contact: &str) -> NewHousehold {
    NewHousehold {
        grid: grid(),
        address: Address::Urban {
            building: "3栋".into(),
            unit: "2单元".into(),
            room: "501".into(),
        },
        head: head.into(),
        members: vec![Member {
            name: head.into(),
            birth_year: 1950,
            relation: "户主".into(),
        }],
        phone: "13912345678".into(),
        tier,
        tags: if tier == Tier::Red {
            vec!["留守老人".into(), "独居".into()]
        } else {
            vec![]
        },
        contacts: vec![contact.into()],
    }
}

pub fn visit(household: &DocId, worker: &str, at: Timestamp) -> NewVisit {
    NewVisit {
        household: household.clone(),
        worker: worker.into(),
        at,
        mode: VisitMode::DoorToDoor,
        notes: "入户走访，老人身体状况良好，家中水电气安全，已讲解医保报销政策。".repeat(4),
        findings: vec![],
        follow_ups: vec![],
        geo: None,
    }
}

pub fn case(reporter: &str, at: Timestamp) -> NewCase {
    NewCase {
        grid: grid(),
        reporter: reporter.into(),
        role: Role::GridWorker,
        household: None,
        title: "楼道堆放杂物".into(),
        description: "3栋2单元楼道堆放大量纸箱，存在消防隐患。".into(),
        category: "安全隐患".into(),
        at,
    }
}
