//! The matrix over the wire: a raw client with each device's token pulls every scope and
//! pushes, for every grid, a household, a visit, a report in every role and every case
//! action in every role, so the relay's own checks answer (not the handset's).

use std::collections::HashSet;

use gridsync_core::model::Role;
use gridsync_core::sync::wire::PushedChange;
use gridsync_core::workflow::{CaseAction, role_may};
use gridsync_core::{DocId, GridPath};
use gridsync_tests::forge::{
    Forger, action_change, action_id, action_kinds, doc_of, new_case, new_visit, now_ms,
};
use gridsync_tests::raw_client::RawClient;

use super::Tally;
use super::fleet::{Dev, Fleet, GRIDS, SCOPES, grid, within};

/// Every device pulls, from a fresh cursor, every granted scope (no scope named), then
/// each of the scopes and grids by name. Reads a seeded record outside its grants: a
/// breach. Misses one inside what it asked for and was granted: a failure.
pub async fn reads(f: &Fleet, t: &mut Tally) {
    let mut asks: Vec<Option<GridPath>> = vec![None];
    asks.extend(SCOPES.iter().map(|(_, s)| Some(grid(s))));
    asks.extend(GRIDS.iter().map(|(g, _)| Some(grid(g))));
    for dev in &f.devs {
        let mut raw = RawClient::connect(f.relay.addr, &f.relay.fingerprint, &dev.token)
            .await
            .unwrap();
        for ask in &asks {
            let scopes: Vec<GridPath> = ask.iter().cloned().collect();
            let entries = raw.pull_all(&scopes).await.unwrap();
            for e in entries.iter().filter(|e| !dev.covers(&e.grid)) {
                t.record(false, true, || {
                    format!("{} pulled {} of {}", dev.name(), e.doc, e.grid)
                });
            }
            let got: HashSet<&DocId> = entries.iter().map(|e| &e.doc).collect();
            let granted = ask.as_ref().is_none_or(|a| dev.covers(a));
            for seed in &f.seeds {
                if ask.as_ref().is_some_and(|a| !within(&seed.grid, a)) {
                    continue;
                }
                let inside = dev.covers(&seed.grid);
                if !inside || granted {
                    for doc in seed.docs() {
                        let held = got.contains(doc);
                        t.record(inside, held, || {
                            format!(
                                "{} asking for {ask:?}: {doc} of {} held={held}",
                                dev.name(),
                                seed.grid
                            )
                        });
                    }
                }
            }
        }
        raw.close();
    }
}

/// A change to push, whether the grants allow it, what it is, and the record it creates.
struct Attempt {
    change: PushedChange,
    allowed: bool,
    what: String,
    creates: Option<(DocId, GridPath)>,
}

/// Every device pushes, in one push, its writes to every grid; returns the records the
/// relay accepted (the writes allowed).
pub async fn writes(f: &Fleet, t: &mut Tally) -> Vec<(DocId, GridPath)> {
    let mut forger = Forger::new().unwrap();
    let mut cases = Vec::new();
    for seed in &f.seeds {
        let owner = &f.devs[seed.owner].handset.replica;
        forger.adopt(owner, &seed.household, &seed.grid).unwrap();
        cases.push(doc_of(owner, &seed.case).unwrap());
    }
    let mut created = Vec::new();
    for dev in &f.devs {
        let mut attempts = Vec::new();
        for (seed, base) in f.seeds.iter().zip(&cases) {
            attempts.extend(records(&mut forger, dev, seed));
            for role in Role::ALL {
                for kind in action_kinds(&seed.case) {
                    let action = CaseAction {
                        id: action_id(),
                        actor: dev.name().into(),
                        role,
                        at: now_ms() - 60_000,
                        kind,
                    };
                    let allowed = dev.covers(&seed.grid)
                        && dev.grants.holds(role)
                        && role_may(role, &action.kind);
                    let what = format!(
                        "{} {:?} {} in {}",
                        dev.name(),
                        role,
                        action.kind.name(),
                        seed.grid
                    );
                    let change = action_change(base, &seed.case, &seed.grid, &action).unwrap();
                    attempts.push(Attempt {
                        change,
                        allowed,
                        what,
                        creates: None,
                    });
                }
            }
        }
        let mut raw = RawClient::connect(f.relay.addr, &f.relay.fingerprint, &dev.token)
            .await
            .unwrap();
        let changes = attempts.iter().map(|a| a.change.clone()).collect();
        let refused = raw.push(changes).await.unwrap();
        raw.close();
        let refused: HashSet<_> = refused.iter().map(|r| r.hash).collect();
        for a in attempts {
            let accepted = !refused.contains(&a.change.hash);
            t.record(a.allowed, accepted, || {
                format!("wire: {} accepted={accepted}", a.what)
            });
            if accepted {
                created.extend(a.creates);
            }
        }
    }
    created
}

/// A household, a visit to the grid's household and a report in every role, as `dev`'s
/// worker, in `seed`'s grid.
fn records(forger: &mut Forger, dev: &Dev, seed: &super::fleet::Seed) -> Vec<Attempt> {
    let inside = dev.covers(&seed.grid);
    let me = dev.name();
    let at = now_ms() - 60_000;
    let mut out = Vec::new();
    let (id, change) = forger.household(&seed.grid, me).unwrap();
    let what = format!("{me} household in {}", seed.grid);
    out.push(Attempt {
        change,
        allowed: inside,
        what,
        creates: Some((id, seed.grid.clone())),
    });
    let (id, change) = forger.visit(&new_visit(&seed.household, me, at)).unwrap();
    let what = format!("{me} visit in {}", seed.grid);
    out.push(Attempt {
        change,
        allowed: inside,
        what,
        creates: Some((id, seed.grid.clone())),
    });
    for role in Role::ALL {
        let c = new_case(&seed.grid, me, role, Some(seed.household.clone()), at);
        let (id, change) = forger.case(&c).unwrap();
        let what = format!("{me} report as {role:?} in {}", seed.grid);
        let allowed = inside && dev.grants.holds(role);
        out.push(Attempt {
            change,
            allowed,
            what,
            creates: Some((id, seed.grid.clone())),
        });
    }
    out
}
