//! The scope matrix (issue 13): a real relay over QUIC, two devices (splitting the roles
//! between them) for each of a grid g1, its neighbours g10 and g1x (prefix confusion), the
//! community xinhua, its sibling xinhuaxi, the street and a sibling street laochengnan.
//! Every grid starts with a household, a visit and a case. Every device then tries to read
//! every grid (a raw pull of each scope, and a sync) and to write to every grid (a
//! household, a visit, a report in every role, every case action in every role), both
//! over the wire with a raw client (the relay's checks) and through its handset's API (the
//! handset's checks). Nothing outside the grants, or forbidden by the workflow, may
//! succeed; everything inside them must.
#![allow(clippy::unwrap_used)]

#[path = "trust_scope_matrix/api.rs"]
mod api;
#[path = "trust_scope_matrix/fleet.rs"]
mod fleet;
#[path = "trust_scope_matrix/wire.rs"]
mod wire;

/// Attempts inside and outside the grants, and what went wrong.
#[derive(Default)]
struct Tally {
    inside: u64,
    inside_ok: u64,
    outside: u64,
    outside_ok: u64,
    wrong: Vec<String>,
}

impl Tally {
    /// One attempt: `allowed` by the grants (and the workflow), `succeeded` or not.
    fn record(&mut self, allowed: bool, succeeded: bool, what: impl FnOnce() -> String) {
        if allowed {
            self.inside += 1;
            self.inside_ok += u64::from(succeeded);
        } else {
            self.outside += 1;
            self.outside_ok += u64::from(succeeded);
        }
        if allowed != succeeded {
            self.wrong.push(what());
        }
    }

    fn print(&self, name: &str) {
        println!(
            "{name}: {} inside the grants ({} succeeded), {} outside ({} succeeded)",
            self.inside, self.inside_ok, self.outside, self.outside_ok
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_device_reads_or_writes_outside_its_grants() {
    let tmp = tempfile::tempdir().unwrap();
    let f = fleet::fleet(tmp.path()).await;
    let (mut wire_reads, mut wire_writes) = (Tally::default(), Tally::default());
    let (mut sync_reads, mut api_writes) = (Tally::default(), Tally::default());
    wire::reads(&f, &mut wire_reads).await;
    let created = wire::writes(&f, &mut wire_writes).await;
    api::reads(&f, &created, &mut sync_reads).await;
    api::give_outside_records(&f);
    api::writes(&f, &mut api_writes);

    let all = [
        ("wire reads", &wire_reads),
        ("wire writes", &wire_writes),
        ("handset reads after sync", &sync_reads),
        ("handset API writes", &api_writes),
    ];
    let (mut outside, mut outside_ok, mut inside, mut inside_ok) = (0, 0, 0, 0);
    for (name, t) in all {
        t.print(name);
        outside += t.outside;
        outside_ok += t.outside_ok;
        inside += t.inside;
        inside_ok += t.inside_ok;
    }
    println!("outside-grant reads+writes that succeeded: {outside_ok}");
    println!("attempted: {outside} outside the grants, {inside} inside ({inside_ok} succeeded)");
    let wrong: Vec<&String> = all.iter().flat_map(|(_, t)| &t.wrong).collect();
    for w in wrong.iter().take(40) {
        println!("WRONG {w}");
    }
    assert_eq!(
        outside_ok, 0,
        "reads or writes outside the grants succeeded"
    );
    assert_eq!(
        inside_ok, inside,
        "reads or writes inside the grants failed"
    );
    assert!(wrong.is_empty(), "{} attempts ended wrongly", wrong.len());
    assert!(outside > 0 && inside > 0);
}
