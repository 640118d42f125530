//! Loading a generated [`Workload`] into a replica through the public API, the way an app
//! would: register households, log visits, report cases and drive each case along the
//! workflow according to its age. Used by benchmarks and end-to-end tests.

use std::time::{Duration, Instant};

use gridsync_core::model::Role;
use gridsync_core::replica::CaseActionInput;
use gridsync_core::workflow::ActionKind;
use gridsync_core::{DAY_MS, DocId, Replica, Timestamp};

use crate::workload::{PlannedCase, Workload};

/// What was loaded, with the latency of every `log_visit` call.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Household ids, in workload order.
    pub households: Vec<DocId>,
    /// Visit ids, in workload order.
    pub visits: Vec<DocId>,
    /// Case ids, in workload order.
    pub cases: Vec<DocId>,
    /// Wall time of each `log_visit` call (durable on return).
    pub visit_latencies: Vec<Duration>,
    /// Case actions taken.
    pub case_actions: usize,
}

/// Loads `w` into `replica`; `now` decides how far along each case is (cases reported
/// more than 14 days before `now` are closed, 3-14 days in progress, newer just reported).
pub fn load(
    replica: &Replica,
    w: &Workload,
    now: Timestamp,
    by: &str,
) -> gridsync_core::Result<Loaded> {
    let mut out = Loaded::default();
    for h in &w.households {
        out.households.push(replica.register_household(h, by)?);
    }
    for v in &w.visits {
        let nv = v.to_new_visit(out.households[v.household].clone());
        let t = Instant::now();
        out.visits.push(replica.log_visit(&nv)?);
        out.visit_latencies.push(t.elapsed());
    }
    for c in &w.cases {
        let hh = c.household.map(|i| out.households[i].clone());
        let id = replica.report_case(&c.to_new_case(hh))?;
        out.case_actions += advance_case(replica, &id, c, now)?;
        out.cases.push(id);
    }
    Ok(out)
}

/// Drives case `id` (reported from `c`) along the workflow according to its age at `now`:
/// reported more than 3 days before, accepted, triaged and started; more than 14 days
/// before, resolved and evaluated too. Returns the actions taken.
pub fn advance_case(
    replica: &Replica,
    id: &DocId,
    c: &PlannedCase,
    now: Timestamp,
) -> gridsync_core::Result<usize> {
    let mut taken = 0;
    let age = now - c.case.at;
    let mut steps: Vec<(Role, ActionKind)> = Vec::new();
    if age > 3 * DAY_MS {
        steps.push((Role::CommunityStaff, ActionKind::Accept));
        let triage = ActionKind::Triage {
            class: c.intended_class,
            level: None,
            deadline: None,
            assignee: Some(c.case.reporter.clone()),
        };
        steps.push((Role::CommunityStaff, triage));
        steps.push((Role::GridWorker, ActionKind::Start));
    }
    if age > 14 * DAY_MS {
        steps.push((
            Role::GridWorker,
            ActionKind::Resolve {
                summary: "已协调处理完毕，当事人认可。".into(),
            },
        ));
        steps.push((
            Role::Supervisor,
            ActionKind::Evaluate {
                satisfied: true,
                comment: "满意".into(),
            },
        ));
    }
    for (i, (role, kind)) in steps.into_iter().enumerate() {
        let at = c.case.at + (i as i64 + 1) * 3_600_000;
        replica.act_on_case(
            id,
            &CaseActionInput {
                actor: c.case.reporter.clone(),
                role,
                at: Some(at),
                kind,
            },
        )?;
        taken += 1;
    }
    Ok(taken)
}

/// The median and the 99th percentile of durations, in milliseconds.
pub fn p50_p99(samples: &[Duration]) -> (f64, f64) {
    let mut v: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

/// Loads `w` into a fresh in-memory handset as worker `w-seed` (every role in `grid`),
/// enrolls a device for it on `hub` and ingests all its changes there in pushes of 500:
/// a relay store holding the workload, without QUIC. Returns the seeding replica.
pub fn seed_hub(
    hub: &gridsync_server::Hub,
    w: &Workload,
    grid: &gridsync_core::GridPath,
) -> anyhow::Result<Replica> {
    use gridsync_core::sync::CheckedChange;
    use gridsync_core::sync::backend::RelayBackend;
    let seeder = Replica::open_with(
        std::sync::Arc::new(gridsync_core::store::MemoryStore::new()),
        "seeder",
        gridsync_core::ReplicaConfig::default(),
    )?;
    let grants = crate::relay::all_roles("w-seed", &[grid.as_str()])?;
    seeder.store_grants(&grants)?;
    let (_, end) = w.period();
    load(&seeder, w, end, "w-seed")?;
    let grant = hub.authenticate(&hub.add_device("seeder", &grants)?.token)?;
    let changes: Vec<_> = seeder
        .outbox_after(None, usize::MAX)?
        .into_iter()
        .map(|i| i.change)
        .collect();
    for part in changes.chunks(500) {
        let checked = part
            .iter()
            .map(|c| CheckedChange::check(&grant, c.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|r| anyhow::anyhow!("refused: {}", r.reason))?;
        anyhow::ensure!(hub.ingest(&grant, &checked)?.iter().all(|o| o.is_ok()));
    }
    Ok(seeder)
}
