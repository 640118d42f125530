//! The relay conformance suite (`gridsync_core::sync::relay_conformance`) on the relay's
//! hub over sled and over PostgreSQL; the simulated relay runs it in the core's own tests.

use std::cell::RefCell;

use gridsync_core::sync::relay_conformance::run_all;
use gridsync_server::Hub;
use gridsync_tests::pg;

fn enroll(hub: &Hub, grants: &gridsync_core::model::Grants) -> String {
    hub.add_device("suite phone", grants).expect("enroll").token
}

#[test]
fn the_sled_hub_passes_the_relay_conformance_suite() {
    let dirs = RefCell::new(Vec::new());
    run_all(
        || {
            let dir = tempfile::tempdir().expect("tempdir");
            let hub = gridsync_server::open_hub(dir.path(), 8).expect("open");
            dirs.borrow_mut().push(dir);
            hub
        },
        enroll,
    );
}

#[test]
fn the_postgres_hub_passes_the_relay_conformance_suite() {
    let Some(_) = pg::url() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    run_all(
        || {
            let target = pg::fresh_target().expect("target");
            gridsync_server::open_pg_hub(&target, dir.path()).expect("open")
        },
        enroll,
    );
}
