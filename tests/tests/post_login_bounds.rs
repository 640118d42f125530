//! What one logged-in connection can make the relay hold (issue 16, item 3): at most
//! `BULK_STREAMS` bulk streams at once, each read into at most one frame of `MAX_BODY`,
//! so a connection's buffers are bounded whatever the device sends. A handset needs one
//! bulk stream at a time (a push run; the next opens when it ends).

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use gridsync_core::sync::wire::RelayMsg;
use gridsync_server::tls::BULK_STREAMS;
use gridsync_tests::raw_client::RawClient;
use gridsync_tests::relay::TestRelay;

const G1: &str = "ankang/hanbin/laocheng/xinhua/g1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logged_in_connection_gets_no_more_bulk_streams_than_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path()).await.unwrap();
    let token = relay.enroll("li", &[G1]).unwrap();
    let mut client = RawClient::connect(relay.addr, &relay.fingerprint, &token)
        .await
        .unwrap();
    assert!(matches!(
        client.next().await,
        Some(RelayMsg::Welcome { .. })
    ));
    let conn = client.connection().clone();
    let mut open = Vec::new();
    // Each stream is kept open (never finished) with a byte on it, as a device that
    // holds them on purpose would.
    for _ in 0..BULK_STREAMS + 4 {
        match tokio::time::timeout(Duration::from_millis(500), conn.open_uni()).await {
            Ok(Ok(mut s)) => {
                s.write_all(&[0]).await.unwrap();
                open.push(s);
            }
            Ok(Err(e)) => panic!("the connection failed: {e}"),
            Err(_) => break,
        }
    }
    assert_eq!(open.len(), BULK_STREAMS as usize);
}
