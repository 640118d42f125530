//! The convergence checks of the fault tests: what documents and heads a replica holds,
//! how two such maps differ, whether handsets hold what they should with nothing pending,
//! and whether the relay kept every acknowledged change.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, ensure};
use gridsync_core::net::RelayTarget;
use gridsync_core::store::{for_each_page, trees};
use gridsync_core::{DocId, Replica};
use gridsync_server::Hub;

use super::{Phone, PhoneOptions};
use crate::relay::{RELAY_DOCS_TREE, RELAY_HASHES_TREE};

/// Every document a replica holds, with its heads (sorted).
pub type DocHeads = BTreeMap<String, Vec<[u8; 32]>>;

/// The ids of every document in a replica's store.
pub fn doc_ids(replica: &Replica) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for_each_page(replica.store().as_ref(), trees::DOCS, 256, |page| {
        out.extend(
            page.iter()
                .map(|(k, _)| String::from_utf8_lossy(k).into_owned()),
        );
        Ok(())
    })?;
    Ok(out)
}

/// Every document of a replica with its heads.
pub fn doc_heads(replica: &Replica) -> Result<DocHeads> {
    let mut out = DocHeads::new();
    for id in doc_ids(replica)? {
        let mut heads = replica.heads(&DocId::parse(&id)?)?;
        heads.sort_unstable();
        out.insert(id, heads);
    }
    Ok(out)
}

/// What a fresh handset bootstrapping straight from the relay (no emulator) holds: the
/// relay's documents and heads in the token's scopes.
pub async fn relay_view(target: RelayTarget) -> Result<DocHeads> {
    let auditor = Phone::in_memory("auditor", target, PhoneOptions::default())?;
    auditor
        .sync_until_ok(Instant::now() + Duration::from_secs(30))
        .await?;
    doc_heads(&auditor.replica)
}

/// Describes how two document maps differ (for assertion messages).
pub fn diff(a_name: &str, a: &DocHeads, b_name: &str, b: &DocHeads) -> String {
    let only_a: Vec<_> = a.keys().filter(|k| !b.contains_key(*k)).take(5).collect();
    let only_b: Vec<_> = b.keys().filter(|k| !a.contains_key(*k)).take(5).collect();
    let heads: Vec<_> = a
        .iter()
        .filter(|(k, h)| b.get(*k).is_some_and(|hb| hb != *h))
        .map(|(k, _)| k)
        .take(5)
        .collect();
    format!(
        "{a_name} has {} docs, {b_name} {}; only in {a_name}: {only_a:?}; only in {b_name}: \
         {only_b:?}; different heads: {heads:?}",
        a.len(),
        b.len()
    )
}

/// Checks that every phone holds exactly `expected` (documents and heads) with nothing
/// pending. `Err` says what differs.
pub fn converged(phones: &[&Phone], expected: &DocHeads) -> Result<()> {
    for p in phones {
        let pending = p.pending();
        ensure!(
            pending == 0,
            "{} still has {pending} changes pending",
            p.name
        );
        let mine = doc_heads(&p.replica)?;
        ensure!(
            &mine == expected,
            "{}",
            diff(&p.name, &mine, "expected", expected)
        );
    }
    Ok(())
}

/// The hashes of every change of a document a replica holds.
pub fn change_hashes(replica: &Replica, doc: &DocId) -> Result<Vec<[u8; 32]>> {
    replica
        .changes_since(doc, &[])?
        .into_iter()
        .map(|bytes| {
            automerge::Change::from_bytes(bytes)
                .map(|c| c.hash().0)
                .map_err(|e| anyhow!("a stored change does not parse: {e}"))
        })
        .collect()
}

/// Of `docs`, those whose every local change the relay has acknowledged (none pending in
/// the outbox).
pub fn acknowledged(replica: &Replica, docs: &[DocId]) -> Result<Vec<DocId>> {
    let mut out = Vec::new();
    for d in docs {
        if replica.record_sync_state(d)? == gridsync_core::replica::RecordSyncState::Acknowledged {
            out.push(d.clone());
        }
    }
    Ok(out)
}

/// Checks that a relay's store holds `doc` and every one of its changes that `replica`
/// holds. `Err` names what is missing.
pub fn relay_has_doc(hub: &Hub, replica: &Replica, doc: &DocId) -> Result<()> {
    let store = hub.store();
    ensure!(
        store
            .get(RELAY_DOCS_TREE, doc.as_str().as_bytes())?
            .is_some(),
        "the relay lost acknowledged document {doc}"
    );
    for h in change_hashes(replica, doc)? {
        ensure!(
            store.get(RELAY_HASHES_TREE, &h)?.is_some(),
            "the relay lost acknowledged change {} of {doc}",
            hex(&h)
        );
    }
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
