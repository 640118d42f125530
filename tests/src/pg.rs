//! The PostgreSQL server the tests run against: its URL in `GRIDSYNC_TEST_PG` (CI starts a
//! throwaway one: `tests/pg/server.sh`). Without it the PostgreSQL tests skip, saying so,
//! unless `GRIDSYNC_REQUIRE_PG=1` (as in CI), when they fail instead.

use std::path::Path;

use anyhow::{Result, ensure};

use gridsync_core::store::Store;
use gridsync_server::pg::{PgStore, PgTarget};

use crate::netem::harness::{Phone, PhoneOptions};
use crate::relay::{RELAY_HASHES_TREE, RELAY_LOG_TREE};
use crate::relay_process::{ProcessOptions, RelayProcess, leak, relay_binary};

/// The variable that holds the test server's URL.
pub const URL_VAR: &str = "GRIDSYNC_TEST_PG";

/// The test server's URL; `None` (after a note on stderr) when there is none and none is
/// required. Panics when `GRIDSYNC_REQUIRE_PG=1` and the URL is missing.
pub fn url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("GRIDSYNC_REQUIRE_PG").as_deref() == Ok("1") => {
            panic!("{URL_VAR} is not set and GRIDSYNC_REQUIRE_PG=1: start tests/pg/server.sh")
        }
        _ => {
            eprintln!("skipped: {URL_VAR} is not set (tests/pg/server.sh starts a server)");
            None
        }
    }
}

/// For a test that needs more than the URL (`what`): skips, saying so, or panics when
/// `GRIDSYNC_REQUIRE_PG=1`.
pub fn require_or_skip(what: &str) {
    if std::env::var("GRIDSYNC_REQUIRE_PG").as_deref() == Ok("1") {
        panic!("{what} is not set and GRIDSYNC_REQUIRE_PG=1");
    }
    eprintln!("skipped: {what} is not set");
}

/// A target in a new, empty schema of the test server, so tests never see each other's
/// rows. `None` when there is no server (see [`url`]).
pub fn fresh_target() -> Option<PgTarget> {
    Some(in_new_schema(&url()?, "t"))
}

/// A target on the server at `url`, in a new schema named `<prefix>_<random>` (created
/// when a store first opens it).
pub fn in_new_schema(url: &str, prefix: &str) -> PgTarget {
    PgTarget {
        url: url.to_string(),
        schema: Some(format!("{prefix}_{}", uuid_hex())),
    }
}

/// The relay's `--store` URL for a target: the schema rides in `options`.
pub fn store_url(target: &PgTarget) -> String {
    let Some(schema) = &target.schema else {
        return target.url.clone();
    };
    let sep = if target.url.contains('?') { '&' } else { '?' };
    format!("{}{sep}options=-csearch_path%3D{schema}", target.url)
}

fn uuid_hex() -> String {
    use rand::Rng;
    let n: u128 = rand::rng().random();
    format!("{n:032x}")
}

/// `n` relay processes started with `options` in `dir/node<i>`, every one serving with
/// the first one's identity (certificate and key, and so the QUIC keys derived from it).
pub fn spawn_nodes(
    exe: &Path,
    dir: &Path,
    n: usize,
    options: ProcessOptions,
) -> Result<Vec<RelayProcess>> {
    let mut nodes: Vec<RelayProcess> = Vec::new();
    for i in 0..n {
        let data = dir.join(format!("node{i}"));
        if let Some(first) = nodes.first() {
            std::fs::create_dir_all(&data)?;
            for f in ["relay-cert.der", "relay-key.der"] {
                std::fs::copy(first.data_dir.join(f), data.join(f))?;
            }
        }
        nodes.push(RelayProcess::spawn(exe, &data, options)?);
    }
    Ok(nodes)
}

/// The grid the multi-node tests write in.
pub const GRID: &str = "ankang/ziyang/haoping/dongmu/g02";

/// Relay processes (`gridsync-relay serve --store`) on one database and one identity.
pub struct Nodes {
    /// The database, a fresh schema.
    pub target: PgTarget,
    /// The nodes, the first one's identity copied to the others.
    pub nodes: Vec<RelayProcess>,
    /// The relay binary.
    pub exe: std::path::PathBuf,
}

impl Nodes {
    /// `n` nodes in `dir`, or `None` without a test server.
    pub fn start(dir: &Path, n: usize) -> Result<Option<Nodes>> {
        let Some(target) = fresh_target() else {
            return Ok(None);
        };
        // Makes the schema (and migrates it) before the nodes start.
        drop(PgStore::open(&target)?);
        let exe = relay_binary()?;
        let options = ProcessOptions {
            store: Some(leak(store_url(&target))),
            log_to_file: true,
            log_filter: "info",
            idle_secs: Some(5),
            ..ProcessOptions::default()
        };
        let nodes = spawn_nodes(&exe, dir, n, options)?;
        for (i, node) in nodes.iter().enumerate() {
            eprintln!("node {i}: pid {:?} on {}", node.pid(), node.addr);
        }
        ensure!(
            nodes.iter().all(|n| n.fingerprint == nodes[0].fingerprint),
            "the nodes serve different certificates"
        );
        Ok(Some(Nodes { target, nodes, exe }))
    }

    /// Enrolls a device through node 0 (its admin socket): every node knows it.
    pub fn enroll(&self, name: &str) -> Result<String> {
        self.enroll_on(0, name)
    }

    /// Enrolls `phone-0` .. `phone-<n-1>` through node 0; their tokens.
    pub fn enroll_phones(&self, n: usize) -> Result<Vec<String>> {
        (0..n).map(|i| self.enroll(&format!("phone-{i}"))).collect()
    }

    /// Enrolls a device through node `i` (its admin socket: the node must be running).
    pub fn enroll_on(&self, i: usize, name: &str) -> Result<String> {
        RelayProcess::enroll_with(&self.exe, &self.nodes[i].data_dir, name, &[GRID])
    }

    /// The relay's state as a store of this process.
    pub fn store(&self) -> Result<PgStore> {
        Ok(PgStore::open(&self.target)?)
    }
}

/// A handset on `node`.
pub fn phone(dir: &Path, name: &str, node: &RelayProcess, token: &str) -> Result<Phone> {
    Phone::on_disk(
        &dir.join(name),
        name,
        node.target(token),
        PhoneOptions::default(),
    )
}

/// The same replica, talking to another node.
pub fn moved(p: &Phone, node: &RelayProcess, token: &str) -> Result<Phone> {
    Phone::with_replica(
        &p.name,
        p.replica.clone(),
        node.target(token),
        PhoneOptions::default(),
    )
}

/// Checks the log is dense (as many entries as the head says) and holds no change twice.
pub fn assert_log_dense(store: &PgStore) -> Result<()> {
    let head = match store.get("rmeta", b"head")? {
        Some(v) => u64::from_be_bytes(v.as_slice().try_into()?),
        None => 0,
    };
    let logged = store.len(RELAY_LOG_TREE)? as u64;
    ensure!(
        logged == head,
        "the log has gaps or extra entries: {logged} for head {head}"
    );
    let hashes = store.len(RELAY_HASHES_TREE)? as u64;
    ensure!(
        hashes == logged,
        "a change was logged twice: {logged} entries, {hashes} hashes"
    );
    Ok(())
}
