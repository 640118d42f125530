//! Change bytes a hostile handset pushes ([`crate::raw_client`]): records written by a
//! store with no identity ([`Forger`], which writes whatever author and role it is told),
//! case actions and arbitrary edits written straight into a copy of a document
//! ([`action_change`], [`change_on`]). Plus the records the trust tests write.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use automerge::transaction::{Transactable, Transaction};
use automerge::{Automerge, Change, ObjType, ROOT, ReadDoc};
use gridsync_core::model::{Address, NewCase, NewHousehold, NewVisit, Role, Tier, VisitMode};
use gridsync_core::sync::wire::PushedChange;
use gridsync_core::workflow::{ActionKind, CaseAction};
use gridsync_core::{DocId, GridPath, Replica, Timestamp};

/// The system clock in ms since the epoch (what the relay checks times against).
pub fn now_ms() -> Timestamp {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Timestamp)
        .unwrap_or_default()
}

/// A household to register in `grid`.
pub fn new_household(grid: &GridPath, head: &str) -> NewHousehold {
    NewHousehold {
        grid: grid.clone(),
        address: Address::Urban {
            building: "7栋".into(),
            unit: "2单元".into(),
            room: "301".into(),
        },
        head: head.into(),
        members: vec![],
        phone: "13912345678".into(),
        tier: Tier::Yellow,
        tags: vec!["独居".into()],
        contacts: vec![],
    }
}

/// A door-to-door visit to `household` by `worker` at `at`.
pub fn new_visit(household: &DocId, worker: &str, at: Timestamp) -> NewVisit {
    NewVisit {
        household: household.clone(),
        worker: worker.into(),
        at,
        mode: VisitMode::DoorToDoor,
        notes: "入户走访，老人身体尚好，药品充足，叮嘱注意防滑。".into(),
        findings: vec![],
        follow_ups: vec![],
        geo: None,
    }
}

/// A case in `grid` about `household`, reported by `reporter` in `role` at `at`.
pub fn new_case(
    grid: &GridPath,
    reporter: &str,
    role: Role,
    household: Option<DocId>,
    at: Timestamp,
) -> NewCase {
    NewCase {
        grid: grid.clone(),
        reporter: reporter.into(),
        role,
        household,
        title: "楼道堆放杂物".into(),
        description: "单元楼道堆放纸箱和旧家具，存在消防隐患。".into(),
        category: "环境卫生".into(),
        at,
    }
}

/// Every case action kind but the report (which [`Replica::report_case`] makes), with
/// `dup_of` as the case a duplicate names.
pub fn action_kinds(dup_of: &DocId) -> Vec<ActionKind> {
    vec![
        ActionKind::Accept,
        ActionKind::Triage {
            class: gridsync_core::model::TriageClass::Private,
            level: None,
            deadline: None,
            assignee: None,
        },
        ActionKind::Assign {
            assignee: "w-zhao".into(),
        },
        ActionKind::Start,
        ActionKind::Escalate {
            reason: "涉及多个单元，需社区协调".into(),
            beyond_level: true,
        },
        ActionKind::Resolve {
            summary: "已联系物业清理完毕".into(),
        },
        ActionKind::Evaluate {
            satisfied: true,
            comment: "处理及时，居民满意".into(),
        },
        ActionKind::Reject {
            reason: "不属于本网格事项".into(),
        },
        ActionKind::Duplicate { of: dup_of.clone() },
        ActionKind::Comment {
            text: "已电话联系物业".into(),
        },
    ]
}

/// A store with no identity: the product writes what it is told there (author, role),
/// unchecked, as an app with no grants would; the relay still checks every change.
pub struct Forger {
    replica: Replica,
    seen: Option<u64>,
    _dir: tempfile::TempDir,
}

impl Forger {
    /// A fresh store in a temporary directory.
    pub fn new() -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let replica = Replica::open(dir.path(), "forger")?;
        Ok(Forger {
            replica,
            seen: None,
            _dir: dir,
        })
    }

    /// Copies document `id` of `grid` from `from` (so visits and cases can name it).
    pub fn adopt(&self, from: &Replica, id: &DocId, grid: &GridPath) -> Result<()> {
        let changes = from.changes_since(id, &[])?;
        self.replica.apply_changes(id, grid, &changes)?;
        Ok(())
    }

    /// The change the last write made.
    fn last(&mut self) -> Result<PushedChange> {
        let items = self.replica.outbox_after(self.seen, usize::MAX)?;
        let item = items
            .into_iter()
            .last()
            .context("the write made no change")?;
        self.seen = Some(item.seq);
        Ok(item.change)
    }

    /// A household registered in `grid` by `by`.
    pub fn household(&mut self, grid: &GridPath, by: &str) -> Result<(DocId, PushedChange)> {
        let id = self
            .replica
            .register_household(&new_household(grid, "刘桂兰"), by)?;
        Ok((id, self.last()?))
    }

    /// A visit `v` (to a household this store holds, in that household's grid).
    pub fn visit(&mut self, v: &NewVisit) -> Result<(DocId, PushedChange)> {
        let id = self.replica.log_visit(v)?;
        Ok((id, self.last()?))
    }

    /// A case `c`, reported by whoever and in whichever role it says.
    pub fn case(&mut self, c: &NewCase) -> Result<(DocId, PushedChange)> {
        let id = self.replica.report_case(c)?;
        Ok((id, self.last()?))
    }
}

/// The whole of document `id` as `replica` holds it.
pub fn doc_of(replica: &Replica, id: &DocId) -> Result<Automerge> {
    let mut doc = Automerge::new();
    for bytes in replica.changes_since(id, &[])? {
        doc.apply_changes([Change::from_bytes(bytes)?])?;
    }
    Ok(doc)
}

/// One change made by `f` on a copy of `base` (document `id` of `grid`), as pushed.
pub fn change_on(
    base: &Automerge,
    id: &DocId,
    grid: &GridPath,
    f: impl FnOnce(&mut Transaction<'_>) -> Result<()>,
) -> Result<PushedChange> {
    let mut doc = base.fork();
    let mut tx = doc.transaction();
    f(&mut tx)?;
    tx.commit();
    let change = doc
        .get_last_local_change()
        .context("the edit made no change")?;
    Ok(PushedChange {
        doc: id.clone(),
        grid: grid.clone(),
        hash: change.hash().0,
        bytes: change.raw_bytes().to_vec(),
    })
}

/// A change appending `a` to the timeline of case `base` (`id` in `grid`), written as the
/// product writes timeline entries, with no check at all.
pub fn action_change(
    base: &Automerge,
    id: &DocId,
    grid: &GridPath,
    a: &CaseAction,
) -> Result<PushedChange> {
    change_on(base, id, grid, |tx| {
        let (_, list) = tx.get(ROOT, "timeline")?.context("no timeline")?;
        let n = tx.length(&list);
        let o = tx.insert_object(&list, n, ObjType::Map)?;
        tx.put(&o, "id", a.id.as_str())?;
        tx.put(&o, "actor", a.actor.as_str())?;
        tx.put(&o, "role", a.role.as_str())?;
        tx.put(&o, "at", a.at)?;
        tx.put(&o, "action", a.kind.name())?;
        match &a.kind {
            ActionKind::Triage {
                class,
                level,
                deadline,
                assignee,
            } => {
                tx.put(&o, "class", class.as_str())?;
                if let Some(l) = level {
                    tx.put(&o, "level", l.as_str())?;
                }
                if let Some(d) = deadline {
                    tx.put(&o, "deadline", *d)?;
                }
                if let Some(s) = assignee {
                    tx.put(&o, "assignee", s.as_str())?;
                }
            }
            ActionKind::Assign { assignee } => tx.put(&o, "assignee", assignee.as_str())?,
            ActionKind::Escalate {
                reason,
                beyond_level,
            } => {
                tx.put(&o, "reason", reason.as_str())?;
                tx.put(&o, "beyond_level", *beyond_level)?;
            }
            ActionKind::Resolve { summary } => tx.put(&o, "summary", summary.as_str())?,
            ActionKind::Evaluate { satisfied, comment } => {
                tx.put(&o, "satisfied", *satisfied)?;
                tx.put(&o, "comment", comment.as_str())?;
            }
            ActionKind::Reject { reason } => tx.put(&o, "reason", reason.as_str())?,
            ActionKind::Duplicate { of } => tx.put(&o, "of", of.as_str())?,
            ActionKind::Comment { text } => tx.put(&o, "text", text.as_str())?,
            ActionKind::Report | ActionKind::Accept | ActionKind::Start => {}
        }
        Ok(())
    })
}

/// A fresh action id.
pub fn action_id() -> String {
    DocId::new(gridsync_core::DocKind::Case).as_str()[2..18].to_string()
}

/// A change creating visit `id` in `grid` to `household` by `worker` at `at`, in the
/// product's layout but with no check at all (any grid, any household, any date).
pub fn raw_visit(
    id: &DocId,
    grid: &GridPath,
    household: &DocId,
    worker: &str,
    at: Timestamp,
) -> Result<PushedChange> {
    change_on(&Automerge::new(), id, grid, |tx| {
        tx.put(ROOT, "kind", "visit")?;
        tx.put(ROOT, "id", id.as_str())?;
        tx.put(ROOT, "grid", grid.as_str())?;
        tx.put(ROOT, "household", household.as_str())?;
        tx.put(ROOT, "worker", worker)?;
        tx.put(ROOT, "at", at)?;
        tx.put(ROOT, "mode", VisitMode::Phone.as_str())?;
        tx.put(ROOT, "notes", "电话回访，情况稳定。")?;
        tx.put_object(ROOT, "findings", ObjType::List)?;
        tx.put_object(ROOT, "follow_ups", ObjType::List)?;
        Ok(())
    })
}
