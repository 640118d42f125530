//! A lost phone leaks nothing (issue 14): the benchmark grid-year loaded into an encrypted
//! store leaves none of its people on disk; sign-out erases; a remote wipe over a real
//! relay and real QUIC erases the handset, and the relay records it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use gridsync_core::model::Address;
use gridsync_core::net::SyncClient;
use gridsync_core::store::{SledOptions, SledStore, StoreKey};
use gridsync_core::{DAY_MS, Error, Replica, ReplicaConfig};
use gridsync_tests::load::load;
use gridsync_tests::relay::{TestRelay, all_roles};
use gridsync_tests::workload::{Workload, WorkloadConfig};

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The needles found anywhere in the files under `dir`.
fn found<'a>(dir: &Path, needles: &'a [String]) -> Vec<&'a str> {
    let bytes: Vec<Vec<u8>> = files(dir)
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .collect();
    needles
        .iter()
        .filter(|n| {
            let n = n.as_bytes();
            bytes.iter().any(|b| b.windows(n.len()).any(|w| w == n))
        })
        .map(String::as_str)
        .collect()
}

/// 20 things a thief must not read: names, phones, addresses, note phrases.
fn needles(w: &Workload) -> Vec<String> {
    let mut out = Vec::new();
    for h in w.households.iter().step_by(37).take(5) {
        out.push(h.head.clone());
        out.push(h.phone.clone());
        out.push(match &h.address {
            Address::Urban {
                building,
                unit,
                room,
            } => format!("{building}{unit}{room}"),
            Address::Rural { courtyard, .. } => courtyard.clone(),
        });
    }
    for v in w.visits.iter().step_by(101).take(5) {
        // A phrase of the note: its first clause.
        let phrase: String = v
            .notes
            .chars()
            .take_while(|c| !"，。；".contains(*c))
            .collect();
        out.push(phrase);
    }
    out.retain(|n| n.chars().count() >= 2);
    out.sort();
    out.dedup();
    out.truncate(20);
    out
}

/// The benchmark grid-year (generated once per test binary) and a time just after it.
fn grid_year() -> (&'static Workload, i64) {
    static GRID_YEAR: std::sync::OnceLock<Workload> = std::sync::OnceLock::new();
    let w = GRID_YEAR.get_or_init(|| Workload::generate(&WorkloadConfig::grid_year()));
    (w, w.period().1 + DAY_MS)
}

/// Loads `w` into a store at `dir` (no fsync per write: only what lands on disk matters
/// here), flushed at the end.
fn load_into(dir: &Path, key: Option<StoreKey>, w: &Workload, now: i64) -> Result<()> {
    let options = SledOptions {
        key,
        flush_every_commit: false,
        compression: 0,
        ..SledOptions::default()
    };
    let store = Arc::new(SledStore::open(dir, options)?);
    let replica = Replica::open_with(store.clone(), "bench-phone", ReplicaConfig::default())?;
    load(&replica, w, now, "w-bench")?;
    gridsync_core::store::Store::flush(store.as_ref())?;
    Ok(())
}

#[test]
fn a_grid_year_loaded_with_a_key_leaves_none_of_its_people_on_disk() -> Result<()> {
    let (w, now) = grid_year();
    let needles = needles(w);
    assert!(needles.len() >= 15, "{needles:?}");
    let root = tempfile::tempdir()?;
    // The control: without a key (and without page compression) the same data is
    // readable on disk, so the search below can find what it looks for.
    let plain = root.path().join("plain");
    let mut sample = w.clone();
    sample.visits.truncate(600); // holds every note the needles come from
    sample.cases.clear();
    load_into(&plain, None, &sample, now)?;
    let in_plain = found(&plain, &needles);
    assert!(
        in_plain.len() * 4 >= needles.len() * 3,
        "the control store shows only {in_plain:?} of {needles:?}"
    );
    let keyed = root.path().join("keyed");
    let key = StoreKey::generate();
    load_into(&keyed, Some(key.clone()), w, now)?;
    let leaked = found(&keyed, &needles);
    println!(
        "after loading with a key: {} of {} needles found on disk (plaintext control: {})",
        leaked.len(),
        needles.len(),
        in_plain.len()
    );
    assert!(leaked.is_empty(), "readable on disk: {leaked:?}");
    // The reopen compacts the store and trains its compression dictionary on the
    // records: the dictionary is sealed as well.
    let r = Replica::open_encrypted(&keyed, "bench-phone", key)?;
    assert_eq!(r.count_households(None)?, w.households.len());
    drop(r);
    let leaked = found(&keyed, &needles);
    println!(
        "after the compacting reopen: {} of {} found",
        leaked.len(),
        needles.len()
    );
    assert!(leaked.is_empty(), "readable after compaction: {leaked:?}");
    Ok(())
}

fn keyed_handset(
    relay: &TestRelay,
    dir: &Path,
    name: &str,
    key: &StoreKey,
) -> Result<(Arc<Replica>, SyncClient, String)> {
    let grants = all_roles(name, &["ankang/hanbin/laocheng/xinhua/g01"])?;
    let token = relay.enroll_as(name, &grants)?;
    let replica = Arc::new(Replica::open_encrypted(dir, name, key.clone())?);
    replica.store_grants(&grants)?;
    let client = SyncClient::new(replica.clone(), relay.target(&token))?;
    Ok((replica, client, token))
}

fn household(head: &str) -> gridsync_core::model::NewHousehold {
    let (w, _) = grid_year();
    let mut h = w.households[0].clone();
    h.grid = gridsync_core::GridPath::parse("ankang/hanbin/laocheng/xinhua/g01")
        .expect("a valid grid path");
    h.head = head.to_string();
    h.phone = "13700001234".into();
    h
}

fn visit(h: &gridsync_core::DocId, notes: &str) -> gridsync_core::model::NewVisit {
    let (w, _) = grid_year();
    let mut v = w.visits[0].to_new_visit(h.clone());
    v.notes = notes.into();
    v.at = gridsync_core::ids::now() - 3_600_000;
    v.worker = String::new();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_wipe_erases_the_handset_and_the_relay_records_it() -> Result<()> {
    let root = tempfile::tempdir()?;
    let relay = TestRelay::start(&root.path().join("relay")).await?;
    let key = StoreKey::generate();
    let phone = root.path().join("phone");
    let (replica, client, token) = keyed_handset(&relay, &phone, "lost", &key)?;
    let h = replica.register_household(&household("柳如烟"), "")?;
    client.sync_once().await?;
    // The phone is lost; the operator wipes it. Work it does after that (the thief's,
    // or the last honest visit) is not accepted (ADR 0008).
    let device = relay.hub.wipe_device("lost")?;
    assert!(device.wipe_requested_at.is_some() && device.wiped_at.is_none());
    let v = replica.log_visit(&visit(&h, "失主之后写下的记录"))?;
    let e = client
        .sync_once()
        .await
        .expect_err("a wiped handset syncs no more");
    assert_eq!(e, Error::Wiped, "{e}");
    assert!(e.is_final());
    // Nothing readable is left, and the replica refuses every call.
    let needles = [
        "柳如烟".to_string(),
        "13700001234".into(),
        "失主之后".into(),
    ];
    assert!(found(&phone, &needles).is_empty());
    assert!(!phone.join(gridsync_core::store::KEY_FILE).exists());
    assert!(matches!(replica.household(&h), Err(Error::Erased { .. })));
    let reopened = Replica::open_encrypted(&phone, "lost", key.clone());
    assert!(
        reopened
            .as_ref()
            .is_ok_and(|r| r.count_households(None).ok() == Some(0)),
        "the wiped directory opens as a new, empty store at most"
    );
    drop(reopened);
    // The relay recorded the wipe, kept nothing pushed after it, and refuses the token.
    let d = relay.hub.device(&device.id)?.expect("device");
    assert!(d.wiped_at.is_some(), "{d:?}");
    assert_eq!(d.state(), "wiped");
    let other = root.path().join("other");
    let (watcher, watcher_client, _) = keyed_handset(&relay, &other, "neighbour", &key)?;
    watcher_client.sync_once().await?;
    assert_eq!(watcher.household(&h)?.head, "柳如烟");
    assert!(
        watcher.visit(&v).is_err(),
        "the visit made after the wipe reached the relay"
    );
    let again = Replica::open_encrypted(&phone, "lost", key)?;
    let retry = SyncClient::new(Arc::new(again), relay.target(&token))?;
    let denied = retry
        .sync_once()
        .await
        .expect_err("the wiped token is refused");
    assert!(matches!(denied, Error::Denied { .. }), "{denied}");
    relay.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_handset_is_wiped_while_connected() -> Result<()> {
    let root = tempfile::tempdir()?;
    let relay = TestRelay::start(&root.path().join("relay")).await?;
    let key = StoreKey::generate();
    let phone = root.path().join("phone");
    let (replica, client, _) = keyed_handset(&relay, &phone, "live", &key)?;
    replica.register_household(&household("秦海棠"), "")?;
    let client = Arc::new(client);
    let stop = Arc::new(tokio::sync::Notify::new());
    let live = {
        let (client, stop) = (client.clone(), stop.clone());
        tokio::spawn(async move { client.run(stop).await })
    };
    // Wait until it is live (its household reached the relay).
    for _ in 0..100 {
        if client.status().state == gridsync_core::net::LinkState::Live {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let started = std::time::Instant::now();
    let device = relay.hub.wipe_device("live")?;
    let outcome = tokio::time::timeout(Duration::from_secs(10), live).await??;
    println!(
        "live handset wiped {:?} after the request",
        started.elapsed()
    );
    assert_eq!(outcome, Err(Error::Wiped));
    assert!(found(&phone, &["秦海棠".to_string()]).is_empty());
    assert!(
        relay
            .hub
            .device(&device.id)?
            .and_then(|d| d.wiped_at)
            .is_some()
    );
    relay.stop().await;
    Ok(())
}

#[test]
fn sign_out_erases_at_once_and_removes_the_files() -> Result<()> {
    let root = tempfile::tempdir()?;
    let dir = root.path().join("phone");
    let key = StoreKey::generate();
    let r = Replica::open_encrypted(&dir, "phone", key)?;
    r.set_setup_identity(
        "w1",
        "王网格",
        &[gridsync_core::model::Role::GridWorker],
        &gridsync_core::GridPath::parse("ankang/hanbin/laocheng/xinhua/g01")?,
    )?;
    let h = r.register_household(&household("沈清秋"), "")?;
    r.log_visit(&visit(&h, "低保复核材料已收齐"))?;
    r.erase()?;
    assert!(matches!(r.visits_of(&h, 10), Err(Error::Erased { .. })));
    drop(r);
    assert!(!dir.exists(), "files left: {:?}", files(&dir));
    Ok(())
}
