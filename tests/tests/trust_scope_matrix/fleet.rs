//! The devices of the matrix and the records each grid starts with.

use std::path::Path;

use gridsync_core::model::{Grants, Role};
use gridsync_core::{DocId, GridPath};
use gridsync_tests::forge::{new_case, new_household, new_visit, now_ms};
use gridsync_tests::relay::{Handset, TestRelay};

/// A street, with the community xinhua and the sibling community xinhuaxi (whose name
/// starts with xinhua's).
pub const STREET: &str = "ankang/hanbin/laocheng";
/// Community c1.
pub const C1: &str = "ankang/hanbin/laocheng/xinhua";
/// Community c2: a sibling of c1, and its name has c1's as a prefix.
pub const C2: &str = "ankang/hanbin/laocheng/xinhuaxi";
/// Another street, whose name has the first street's as a prefix.
pub const STREET2: &str = "ankang/hanbin/laochengnan";
/// Grids g1, g10 and g1x of c1 (prefix confusion), g1 of c2, and g1 of xinhua in the
/// other street (the same names under another parent).
pub const G1: &str = "ankang/hanbin/laocheng/xinhua/g1";
const G10: &str = "ankang/hanbin/laocheng/xinhua/g10";
const G1X: &str = "ankang/hanbin/laocheng/xinhua/g1x";
const C2_G1: &str = "ankang/hanbin/laocheng/xinhuaxi/g1";
const STREET2_G1: &str = "ankang/hanbin/laochengnan/xinhua/g1";

/// Where records live, and the scope whose devices seed them.
pub const GRIDS: [(&str, &str); 5] = [
    (G1, "g1"),
    (G10, "g10"),
    (G1X, "g1x"),
    (C2_G1, "c2"),
    (STREET2_G1, "street2"),
];

/// The scopes devices are enrolled for.
pub const SCOPES: [(&str, &str); 7] = [
    ("g1", G1),
    ("g10", G10),
    ("g1x", G1X),
    ("c1", C1),
    ("c2", C2),
    ("street", STREET),
    ("street2", STREET2),
];

/// Two devices per scope, between them holding every role once: each role is held by one
/// and lacked by the other.
const ROLE_SETS: [(&str, &[Role]); 2] = [
    ("a", &[Role::GridWorker, Role::GridLeader]),
    (
        "b",
        &[Role::CommunityStaff, Role::StreetStaff, Role::Supervisor],
    ),
];

/// A path.
pub fn grid(s: &str) -> GridPath {
    GridPath::parse(s).unwrap()
}

/// Whether `g` is `scope` or lies below it, worked out here segment by segment (not with
/// the product's [`GridPath::is_within`], which is under test).
pub fn within(g: &GridPath, scope: &GridPath) -> bool {
    let g: Vec<&str> = g.as_str().split('/').collect();
    let scope: Vec<&str> = scope.as_str().split('/').collect();
    g.len() >= scope.len() && g[..scope.len()] == scope[..]
}

/// One enrolled device.
pub struct Dev {
    pub token: String,
    pub grants: Grants,
    pub handset: Handset,
}

impl Dev {
    pub fn name(&self) -> &str {
        &self.grants.worker
    }

    /// Whether the grants cover `g` (by [`within`]).
    pub fn covers(&self, g: &GridPath) -> bool {
        self.grants.scopes.iter().any(|scope| within(g, scope))
    }
}

/// The records a grid starts with.
pub struct Seed {
    pub grid: GridPath,
    pub household: DocId,
    pub visit: DocId,
    pub case: DocId,
    /// Index of the device that wrote them.
    pub owner: usize,
}

impl Seed {
    pub fn docs(&self) -> [&DocId; 3] {
        [&self.household, &self.visit, &self.case]
    }
}

/// The relay, its devices and the seeded records.
pub struct Fleet {
    pub relay: TestRelay,
    pub devs: Vec<Dev>,
    pub seeds: Vec<Seed>,
}

/// Enrolls every device (worker `<scope>-<set>`), then seeds each grid through its
/// owner's handset and syncs it.
pub async fn fleet(dir: &Path) -> Fleet {
    let relay = TestRelay::start(&dir.join("relay")).await.unwrap();
    let mut devs = Vec::new();
    for (scope_name, scope) in SCOPES {
        for (set, roles) in ROLE_SETS {
            let grants = Grants {
                worker: format!("{scope_name}-{set}"),
                display_name: format!("{scope_name}-{set}"),
                roles: roles.to_vec(),
                scopes: vec![grid(scope)],
            };
            let token = relay.enroll_as(&grants.worker, &grants).unwrap();
            let target = relay.target(&token);
            let handset = Handset::open(&dir.join(&grants.worker), &grants.worker, target).unwrap();
            handset.replica.store_grants(&grants).unwrap();
            devs.push(Dev {
                token,
                grants,
                handset,
            });
        }
    }
    let mut seeds = Vec::new();
    for (g, owner_scope) in GRIDS {
        let owner = devs
            .iter()
            .position(|d| d.name() == format!("{owner_scope}-a"))
            .unwrap();
        seeds.push(seed(&devs[owner], grid(g), owner).await);
    }
    Fleet { relay, devs, seeds }
}

async fn seed(dev: &Dev, g: GridPath, owner: usize) -> Seed {
    let r = &dev.handset.replica;
    let at = now_ms() - 3_600_000;
    let household = r
        .register_household(&new_household(&g, "陈玉兰"), "")
        .unwrap();
    let visit = r.log_visit(&new_visit(&household, "", at)).unwrap();
    let c = new_case(&g, "", Role::GridWorker, Some(household.clone()), at);
    let case = r.report_case(&c).unwrap();
    let report = dev.handset.client.sync_once().await.unwrap();
    assert_eq!(
        (report.acknowledged, report.refused.len()),
        (3, 0),
        "{report:?}"
    );
    Seed {
        grid: g,
        household,
        visit,
        case,
        owner,
    }
}
