//! Each rule of [`admit`], with one change it accepts and one it refuses, matched on the
//! refusal's variant.
#![allow(clippy::unwrap_used)]

use automerge::transaction::{Transactable, Transaction};
use automerge::{ObjType, ROOT, ReadDoc};

use super::*;
use crate::model::doc::req_obj;
use crate::model::{
    Address, FollowUp, NewCase, NewHousehold, NewVisit, Retirement, Tier, TierChange, VisitMode,
};
use crate::workflow::ActionKind;

const NOW: Timestamp = 1_772_323_200_000;
const G1: &str = "ankang/hanbin/laocheng/xinhua/g1";
const G10: &str = "ankang/hanbin/laocheng/xinhua/g10";
const WORKER: &str = "w-wang";

fn grid(s: &str) -> GridPath {
    GridPath::parse(s).unwrap()
}

fn grants(roles: &[Role]) -> Grants {
    Grants {
        worker: WORKER.into(),
        display_name: "王芳".into(),
        roles: roles.to_vec(),
        scopes: vec![grid(G1), grid(G10)],
    }
}

/// What the checker knows: households `g1` (in G1) and `g10` (in G10), and case `case`
/// (in G1).
struct World {
    g1: DocId,
    g10: DocId,
    case: DocId,
}

impl World {
    fn new() -> Self {
        World {
            g1: DocId::new(DocKind::Household),
            g10: DocId::new(DocKind::Household),
            case: DocId::new(DocKind::Case),
        }
    }

    fn grid_of(&self, id: &DocId) -> Option<GridPath> {
        if *id == self.g1 || *id == self.case {
            Some(grid(G1))
        } else if *id == self.g10 {
            Some(grid(G10))
        } else {
            None
        }
    }

    /// Runs [`admit`] for a writer holding `roles`.
    fn admit(&self, id: &DocId, before: &Automerge, after: &Automerge, roles: &[Role]) -> Admitted {
        let g = grants(roles);
        let grid_of = |d: &DocId| self.grid_of(d);
        let a = Admission {
            grants: &g,
            now: NOW,
            grid_of: &grid_of,
        };
        admit(id, before, after, &a)
    }
}

fn edit(doc: &Automerge, f: impl FnOnce(&mut Transaction<'_>)) -> Automerge {
    let mut next = doc.fork();
    let mut tx = next.transaction();
    f(&mut tx);
    tx.commit();
    next
}

fn new_household(head: &str) -> NewHousehold {
    NewHousehold {
        grid: grid(G1),
        address: Address::Urban {
            building: "3栋".into(),
            unit: "2单元".into(),
            room: "501".into(),
        },
        head: head.into(),
        members: vec![],
        phone: String::new(),
        tier: Tier::Yellow,
        tags: vec![],
        contacts: vec![WORKER.into()],
    }
}

fn household_doc(id: &DocId, head: &str, by: &str) -> Automerge {
    edit(&Automerge::new(), |tx| {
        household::create(tx, id, &new_household(head), by, NOW - 1000).unwrap()
    })
}

fn new_visit(household: &DocId, worker: &str, at: Timestamp) -> NewVisit {
    NewVisit {
        household: household.clone(),
        worker: worker.into(),
        at,
        mode: VisitMode::DoorToDoor,
        notes: "入户走访，老人身体尚好，药品充足。".into(),
        findings: vec![],
        follow_ups: vec![],
        geo: None,
    }
}

fn visit_doc(id: &DocId, v: &NewVisit, in_grid: &str) -> Automerge {
    edit(&Automerge::new(), |tx| {
        visit::create(tx, id, &grid(in_grid), v).unwrap()
    })
}

fn new_case(reporter: &str, household: Option<DocId>, at: Timestamp) -> NewCase {
    NewCase {
        grid: grid(G1),
        reporter: reporter.into(),
        role: Role::GridWorker,
        household,
        title: "楼道堆放杂物".into(),
        description: "3栋2单元楼道堆放纸箱，存在消防隐患。".into(),
        category: "环境卫生".into(),
        at,
    }
}

fn case_doc(id: &DocId, c: &NewCase) -> Automerge {
    edit(&Automerge::new(), |tx| {
        case::create(tx, id, c, "a-report").unwrap()
    })
}

fn action(actor: &str, role: Role, at: Timestamp, kind: ActionKind) -> CaseAction {
    CaseAction {
        id: DocId::new(DocKind::Case).as_str()[2..18].to_string(),
        actor: actor.into(),
        role,
        at,
        kind,
    }
}

fn with_action(doc: &Automerge, a: &CaseAction) -> Automerge {
    edit(doc, |tx| case::append(tx, a).unwrap())
}

fn empty() -> Automerge {
    Automerge::new()
}

mod cases;
mod records;
