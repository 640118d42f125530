//! A handset reconnecting into a dead link must give up within the client's connect
//! timeout (20 s, "no answer from the relay"), as a first connection does.
//!
//! Regression guarded: once the handset holds a session ticket,
//! `connecting.into_0rtt()` in `SyncClient::connect` succeeds at once, so the 20 s
//! handshake timeout was never applied; the session then waited for the connection's
//! idle timeout (quinn takes it from the relay's remembered transport parameters: 60 s
//! here, the relay's default) and failed with a misleading "0-RTT rejected". On a mountain
//! link (up 20 s, down 120 s) a reconnect made during an outage could hang through the
//! whole next up period. Now a 0-RTT watchdog closes a connection whose handshake is not
//! answered in time and tells a dead link from a rejection. The test makes one
//! connection, checks the second resumes with 0-RTT, cuts the link, and requires the
//! next `sync_once` to fail in under 25 s.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use gridsync_tests::netem::harness::{self, Phone, PhoneOptions};
use gridsync_tests::netem::{LinkEmulator, LinkProfile};
use gridsync_tests::relay::{RelayOptions, TestRelay};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_into_a_dead_link_gives_up_within_the_connect_timeout() {
    harness::init_logging();
    let tmp = tempfile::tempdir().unwrap();
    // The relay's default idle timeout.
    let relay = TestRelay::start_with(&tmp.path().join("relay"), RelayOptions::for_faults(60))
        .await
        .unwrap();
    let emu = LinkEmulator::start(relay.addr, LinkProfile::loopback(), 1)
        .await
        .unwrap();
    let token = relay.enroll("p", &["ankang/hanbin"]).unwrap();
    let p = Phone::in_memory("p", emu.via(relay.target(&token)), PhoneOptions::default()).unwrap();
    p.client.sync_once().await.unwrap();
    let r = p.client.sync_once().await.unwrap();
    assert!(r.zero_rtt, "the second connection resumes with 0-RTT");
    emu.cut();
    let t = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(90), p.client.sync_once())
        .await
        .expect("sync_once never returned");
    let took = t.elapsed();
    eprintln!("reconnect into a dead link: {outcome:?} after {took:?}");
    assert!(outcome.is_err());
    assert!(
        took < Duration::from_secs(25),
        "a reconnect into a dead link took {took:?} to fail (first connections give up after 20 s)"
    );
}
