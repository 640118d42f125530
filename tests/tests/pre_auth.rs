//! Before login, a stranger cannot hold the relay (issue 12, item 1, in part): connections
//! that never say Hello (with no stream at all, or a stream with half a frame on it) fill
//! the relay's connection cap, and are closed at the Hello deadline, whatever their QUIC
//! keep-alives; a real handset is refused while the cap is full and syncs once the
//! strangers are gone, and a connection that said Hello stays past the deadline.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use gridsync_core::net::Trust;
use gridsync_core::net::tls::client_config;
use gridsync_core::sync::wire::RelayMsg;
use gridsync_server::Limits;
use gridsync_tests::raw_client::RawClient;
use gridsync_tests::relay::{RelayOptions, TestRelay};

const G1: &str = "ankang/hanbin/laocheng/xinhua/g1";
const CAP: usize = 6;
const DEADLINE: Duration = Duration::from_secs(1);

/// A QUIC connection to the relay that keeps itself alive and never says Hello; with
/// `half_frame`, it opens the control stream and leaves half a frame on it.
async fn stranger(addr: SocketAddr, fingerprint: &str, half_frame: bool) -> quinn::Connection {
    let mut endpoint = quinn::Endpoint::client(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let mut config = client_config(&Trust::Pinned(fingerprint.into())).unwrap();
    let mut transport = quinn::TransportConfig::default();
    transport.keep_alive_interval(Some(Duration::from_millis(200)));
    config.transport_config(std::sync::Arc::new(transport));
    endpoint.set_default_client_config(config);
    let conn = endpoint
        .connect(addr, "gridsync-relay")
        .unwrap()
        .await
        .unwrap();
    if half_frame {
        let (mut send, _recv) = conn.open_bi().await.unwrap();
        // A frame announcing 8 MiB, of which nothing follows.
        send.write_all(&(8u32 << 20).to_be_bytes()[..3])
            .await
            .unwrap();
        std::mem::forget(send);
    }
    std::mem::forget(endpoint);
    conn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_that_never_say_hello_are_closed_at_the_deadline_and_a_handset_gets_in() {
    let dir = tempfile::tempdir().unwrap();
    let options = RelayOptions {
        limits: Limits {
            max_connections: CAP,
            hello_deadline: DEADLINE,
            ..Limits::default()
        },
        ..RelayOptions::default()
    };
    let relay = TestRelay::start_with(&dir.path().join("relay"), options)
        .await
        .unwrap();
    let token = relay.enroll("li", &[G1]).unwrap();

    let opened = Instant::now();
    let mut strangers = Vec::new();
    for i in 0..CAP {
        strangers.push(stranger(relay.addr, &relay.fingerprint, i % 2 == 1).await);
    }
    // The cap is full: a handset is refused for now.
    let refused = RawClient::connect(relay.addr, &relay.fingerprint, &token).await;
    assert!(refused.is_err(), "a handset got in past a full cap");

    for (i, conn) in strangers.iter().enumerate() {
        let closed = tokio::time::timeout(Duration::from_secs(10), conn.closed()).await;
        assert!(closed.is_ok(), "stranger {i} still connected after 10 s");
    }
    let waited = opened.elapsed();
    assert!(waited >= DEADLINE, "closed before the deadline: {waited:?}");
    println!("{CAP} strangers (none said Hello) closed {waited:?} after they connected");

    // Now a real handset says Hello, is welcomed, and outlives the deadline.
    let mut handset = RawClient::connect(relay.addr, &relay.fingerprint, &token)
        .await
        .unwrap();
    assert!(matches!(
        handset.next().await,
        Some(RelayMsg::Welcome { .. })
    ));
    tokio::time::sleep(DEADLINE * 2).await;
    let refusals = handset.push(Vec::new()).await.unwrap();
    assert!(
        refusals.is_empty(),
        "the welcomed handset was cut off: {refusals:?}"
    );
}
