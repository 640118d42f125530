//! The store conformance suite on PostgreSQL (each store in a schema of its own), and what
//! only a shared database has: two stores on one schema ordering their commits by
//! expectation, and a schema migrated once however many relays start.

use gridsync_core::store::{Batch, Store, conformance};
use gridsync_server::pg::{PgStore, PgTarget, SCHEMA_VERSION};
use gridsync_tests::pg;

#[test]
fn postgres_store_passes_the_conformance_suite() {
    let Some(_) = pg::url() else { return };
    conformance::run_all(|| {
        let target = pg::fresh_target().expect("target");
        PgStore::open(&target).expect("open")
    });
}

#[test]
fn writers_on_two_nodes_take_turns_on_an_expected_key() {
    let Some(target) = pg::fresh_target() else {
        return;
    };
    let nodes: Vec<std::sync::Arc<PgStore>> = (0..3)
        .map(|_| std::sync::Arc::new(PgStore::open(&target).expect("open")))
        .collect();
    // Each writer bumps a counter 40 times, reading it and expecting what it read: a
    // conflict means another node got there first, so it reads again.
    let threads: Vec<_> = nodes
        .iter()
        .cloned()
        .map(|store| {
            std::thread::spawn(move || {
                let mut conflicts = 0;
                for _ in 0..40 {
                    loop {
                        let held = store.get("meta", b"n").expect("get");
                        let n = held
                            .as_deref()
                            .map_or(0, |v| u64::from_be_bytes(v.try_into().expect("8 bytes")));
                        let mut b = Batch::new();
                        b.expect("meta", b"n".to_vec(), held);
                        b.put("meta", b"n".to_vec(), (n + 1).to_be_bytes().to_vec());
                        b.put("log", (n + 1).to_be_bytes().to_vec(), b"x".to_vec());
                        match store.commit(b) {
                            Ok(()) => break,
                            Err(gridsync_core::Error::Conflict { .. }) => conflicts += 1,
                            Err(e) => panic!("commit: {e}"),
                        }
                    }
                }
                conflicts
            })
        })
        .collect();
    let conflicts: usize = threads.into_iter().map(|t| t.join().expect("join")).sum();
    let n = nodes[0].get("meta", b"n").expect("get").expect("counter");
    assert_eq!(u64::from_be_bytes(n.try_into().expect("8 bytes")), 120);
    // Dense: every number from 1 to 120 written once, none skipped.
    assert_eq!(nodes[1].len("log").expect("len"), 120);
    eprintln!("{conflicts} conflicts retried");
}

#[test]
fn migrations_run_once_and_a_newer_schema_is_refused() {
    let Some(target) = pg::fresh_target() else {
        return;
    };
    let opened: Vec<_> = (0..3)
        .map(|_| {
            let t = target.clone();
            std::thread::spawn(move || PgStore::open(&t).map(|_| ()))
        })
        .collect();
    for o in opened {
        o.join().expect("join").expect("open");
    }
    let url = pg::url().expect("url");
    let schema = target.schema.clone().expect("schema");
    let psql = |sql: &str| {
        let out = std::process::Command::new("psql")
            .env("PGOPTIONS", format!("-csearch_path={schema}"))
            .args([url.as_str(), "-tAc", sql])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(
        psql("SELECT count(*) FROM gridsync_schema"),
        SCHEMA_VERSION.to_string()
    );
    psql("INSERT INTO gridsync_schema (version, description) VALUES (999, 'from the future')");
    match PgStore::open(&target) {
        Err(gridsync_core::Error::SchemaTooNew { found: 999, .. }) => {}
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    let bad = PgTarget::new("postgres://nobody@127.0.0.1:1/none?connect_timeout=2");
    assert!(matches!(
        PgStore::open(&bad),
        Err(gridsync_core::Error::Storage(_))
    ));
}
