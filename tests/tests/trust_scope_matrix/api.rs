//! The matrix through the product: every handset syncs and is checked for what it holds,
//! then tries every write to every grid through the replica's API, which must refuse at
//! the call what its grants do not allow ([`Error::NotPermitted`]).

use gridsync_core::model::Role;
use gridsync_core::replica::CaseActionInput;
use gridsync_core::workflow::{ActionKind, role_may};
use gridsync_core::{DocId, Error, GridPath, Result};
use gridsync_tests::forge::{action_kinds, new_case, new_household, new_visit, now_ms};

use super::Tally;
use super::fleet::{Dev, Fleet, Seed};

/// Every handset syncs; it must then hold every record of its grants (seeded, or accepted
/// by the relay from the wire) and none other.
pub async fn reads(f: &Fleet, created: &[(DocId, GridPath)], t: &mut Tally) {
    let mut records: Vec<(&DocId, &GridPath)> = created.iter().map(|(d, g)| (d, g)).collect();
    for s in &f.seeds {
        records.extend(s.docs().into_iter().map(|d| (d, &s.grid)));
    }
    for dev in &f.devs {
        let report = dev.handset.client.sync_once().await.unwrap();
        assert!(report.refused.is_empty(), "{report:?}");
        for (doc, g) in &records {
            let held = dev.handset.replica.changes_since(doc, &[]).is_ok();
            t.record(dev.covers(g), held, || {
                format!("{} after sync: {doc} of {g} held={held}", dev.name())
            });
        }
    }
}

/// Gives every handset a copy of the seeded records outside its grants (as a record
/// shared by other means would arrive), so the writes below reach the grants check
/// rather than failing for a record the handset does not hold.
pub fn give_outside_records(f: &Fleet) {
    for dev in &f.devs {
        for s in f.seeds.iter().filter(|s| !dev.covers(&s.grid)) {
            let owner = &f.devs[s.owner].handset.replica;
            for doc in s.docs() {
                let changes = owner.changes_since(doc, &[]).unwrap();
                dev.handset
                    .replica
                    .apply_changes(doc, &s.grid, &changes)
                    .unwrap();
            }
        }
    }
}

/// Records one API write: allowed ones must succeed; refused ones must be refused as not
/// permitted (or, for an action the workflow forbids the role, as a workflow refusal).
fn check<T>(t: &mut Tally, allowed: bool, got: Result<T>, workflow_ok: bool, what: &str) {
    let ok = got.is_ok();
    let wrong_error = match &got {
        Err(Error::NotPermitted(_)) => false,
        Err(Error::Workflow(_)) => !workflow_ok,
        Err(_) => true,
        Ok(_) => false,
    };
    let detail = got.err().map(|e| e.to_string()).unwrap_or_default();
    t.record(allowed, ok, || format!("api: {what} ok={ok} {detail}"));
    if !allowed && wrong_error {
        t.wrong.push(format!(
            "api: {what} refused with the wrong error: {detail}"
        ));
    }
}

/// Every handset writes to every grid: a household, a visit, a report in every role, and
/// every case action in every role.
pub fn writes(f: &Fleet, t: &mut Tally) {
    for dev in &f.devs {
        for seed in &f.seeds {
            records(dev, seed, t);
            actions(dev, seed, t);
        }
    }
}

fn records(dev: &Dev, seed: &Seed, t: &mut Tally) {
    let (r, inside, me) = (&dev.handset.replica, dev.covers(&seed.grid), dev.name());
    let at = now_ms() - 60_000;
    let got = r.register_household(&new_household(&seed.grid, "周建华"), "");
    check(
        t,
        inside,
        got,
        false,
        &format!("{me} household in {}", seed.grid),
    );
    let got = r.log_visit(&new_visit(&seed.household, "", at));
    check(
        t,
        inside,
        got,
        false,
        &format!("{me} visit in {}", seed.grid),
    );
    for role in Role::ALL {
        let got = r.report_case(&new_case(
            &seed.grid,
            "",
            role,
            Some(seed.household.clone()),
            at,
        ));
        let allowed = inside && dev.grants.holds(role);
        check(
            t,
            allowed,
            got,
            false,
            &format!("{me} report as {role:?} in {}", seed.grid),
        );
    }
}

/// Every action in every role on the grid's case. Those the grants and the workflow allow
/// depend on the case's status, except a comment (allowed in every status): those must
/// succeed, the others must not be refused as not permitted.
fn actions(dev: &Dev, seed: &Seed, t: &mut Tally) {
    let (r, inside, me) = (&dev.handset.replica, dev.covers(&seed.grid), dev.name());
    for role in Role::ALL {
        for kind in action_kinds(&seed.case) {
            let what = format!("{me} {role:?} {} in {}", kind.name(), seed.grid);
            let granted = inside && dev.grants.holds(role);
            let comment = matches!(kind, ActionKind::Comment { .. });
            let may = role_may(role, &kind);
            let input = CaseActionInput {
                actor: String::new(),
                role,
                at: None,
                kind,
            };
            let got = r.act_on_case(&seed.case, &input);
            if granted && may && !comment {
                if let Err(e @ Error::NotPermitted(_)) = &got {
                    t.wrong.push(format!("api: {what} not permitted: {e}"));
                }
                continue;
            }
            check(t, granted && may, got, granted, &what);
        }
    }
}
