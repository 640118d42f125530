//! Before login, a stranger cannot hold the relay (issue 12, item 1, in part): connections
//! that never say Hello (with no stream at all, or a stream with half a frame on it) fill
//! the relay's connection cap, and are closed at the Hello deadline, whatever their QUIC
//! keep-alives; a real handset is refused while the cap is full and syncs once the
//! strangers are gone, and a connection that said Hello stays past the deadline. A
//! stranger's first frame is read under small limits (4 KiB, no stream context): a
//! compression bomb, an 8 MiB frame and a stream-context frame are refused at once
//! without being inflated or buffered, and a handset gets in after 200 of them. A source
//! that keeps failing to log in is refused at the door for a while; a handset is not.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use gridsync_core::net::Trust;
use gridsync_core::net::tls::client_config;
use gridsync_core::sync::FrameDecoder;
use gridsync_core::sync::encode_client;
use gridsync_core::sync::frame::{FLAG_ZSTD, FLAG_ZSTD_STREAM};
use gridsync_core::sync::wire::{ClientMsg, ErrorCode, PROTOCOL_VERSION, RelayMsg};
use gridsync_server::Limits;
use gridsync_server::login_limit::LoginLimit;
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

/// Connects from `from` (a loopback address), opens a control stream and writes `first`
/// on it as the first thing: the relay's answers until it closes the stream (or 5 s
/// pass), `None` when it refused the connection at the door.
async fn send_first(
    addr: SocketAddr,
    fingerprint: &str,
    from: &str,
    first: &[u8],
) -> Option<Vec<RelayMsg>> {
    let bind: SocketAddr = format!("{from}:0").parse().unwrap();
    let mut endpoint = quinn::Endpoint::client(bind).unwrap();
    endpoint.set_default_client_config(client_config(&Trust::Pinned(fingerprint.into())).unwrap());
    let conn = endpoint
        .connect(addr, "gridsync-relay")
        .unwrap()
        .await
        .ok()?;
    let (mut send, mut recv) = conn.open_bi().await.ok()?;
    send.write_all(first).await.ok()?;
    let read = tokio::time::timeout(Duration::from_secs(5), recv.read_to_end(1 << 20)).await;
    let bytes = read
        .expect("the relay kept the stream open")
        .unwrap_or_default();
    let mut decoder: FrameDecoder<RelayMsg> = FrameDecoder::new();
    decoder.push(&bytes).unwrap();
    let mut got = Vec::new();
    while let Ok(Some(m)) = decoder.pop() {
        got.push(m);
    }
    Some(got)
}

/// [`send_first`] from the handsets' address, which is never refused at the door here.
async fn first_frame(addr: SocketAddr, fingerprint: &str, frame: &[u8]) -> Vec<RelayMsg> {
    send_first(addr, fingerprint, "127.0.0.1", frame)
        .await
        .expect("refused at the door")
}

fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut f = ((body.len() + 1) as u32).to_be_bytes().to_vec();
    f.push(flags);
    f.extend_from_slice(body);
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_first_frame_is_small_never_inflated_far_and_a_handset_gets_in() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(&dir.path().join("relay")).await.unwrap();
    let token = relay.enroll("li", &[G1]).unwrap();
    // 16 MiB of zeros compressed into a few hundred bytes, as a Hello would be sent.
    let bomb = zstd::stream::encode_all(&vec![0u8; 16 << 20][..], 19).unwrap();
    let big = [&(8u32 << 20).to_be_bytes()[..], &[0u8; 1024]].concat();
    let attacks: [(&str, Vec<u8>); 3] = [
        ("compression bomb", frame(FLAG_ZSTD, &bomb)),
        ("8 MiB first frame", big),
        ("stream-context frame", frame(FLAG_ZSTD_STREAM, &[0u8; 64])),
    ];
    for (what, bytes) in &attacks {
        let t = Instant::now();
        let got = first_frame(relay.addr, &relay.fingerprint, bytes).await;
        let closed = got.iter().find_map(|m| match m {
            RelayMsg::Error { code, message } => Some((*code, message.clone())),
            _ => None,
        });
        let (code, message) = closed.unwrap_or_else(|| panic!("{what}: no Error, got {got:?}"));
        assert_eq!(code, ErrorCode::Malformed, "{what}: {message}");
        assert!(
            message.contains("4096-byte limit") || message.contains("before login"),
            "{what}: {message}"
        );
        println!(
            "{what} ({} bytes): closed in {:?}: {message}",
            bytes.len(),
            t.elapsed()
        );
    }
    // 200 bombs in a row, then a real handset is welcomed and pushes.
    for _ in 0..200 {
        first_frame(relay.addr, &relay.fingerprint, &frame(FLAG_ZSTD, &bomb)).await;
    }
    let mut handset = RawClient::connect(relay.addr, &relay.fingerprint, &token)
        .await
        .unwrap();
    assert!(matches!(
        handset.next().await,
        Some(RelayMsg::Welcome { .. })
    ));
    assert!(handset.push(Vec::new()).await.unwrap().is_empty());
}

/// A Hello with a wrong token from `from` (another loopback address than the handset's):
/// `None` when the relay refused the connection at the door, else its answer.
async fn wrong_token(relay: &TestRelay, from: &str) -> Option<Vec<RelayMsg>> {
    let hello = ClientMsg::Hello {
        version: PROTOCOL_VERSION,
        token: "gst_not_a_token".into(),
        agent: "stranger".into(),
    };
    send_first(
        relay.addr,
        &relay.fingerprint,
        from,
        &encode_client(&hello).unwrap(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_keeps_failing_to_log_in_is_refused_and_a_handset_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let block_for = Duration::from_secs(2);
    let options = RelayOptions {
        limits: Limits {
            failed_logins: LoginLimit {
                burst: 3,
                per_minute: 1,
                block_for,
            },
            ..Limits::default()
        },
        ..RelayOptions::default()
    };
    let relay = TestRelay::start_with(&dir.path().join("relay"), options)
        .await
        .unwrap();
    let token = relay.enroll("li", &[G1]).unwrap();
    let mut answered = 0;
    for _ in 0..4 {
        let got = wrong_token(&relay, "127.0.0.2")
            .await
            .expect("refused before the limit");
        assert!(
            got.iter().any(|m| matches!(
                m,
                RelayMsg::Error {
                    code: ErrorCode::Unauthorized,
                    ..
                }
            )),
            "{got:?}"
        );
        answered += 1;
    }
    let t = Instant::now();
    let mut refused = 0;
    for _ in 0..20 {
        if wrong_token(&relay, "127.0.0.2").await.is_none() {
            refused += 1;
        }
    }
    println!(
        "{answered} wrong tokens answered, then {refused} of 20 refused at the door in {:?}",
        t.elapsed()
    );
    assert_eq!(refused, 20, "a source over its limit was let in");
    // The handset, from another address, logs in meanwhile.
    let mut handset = RawClient::connect(relay.addr, &relay.fingerprint, &token)
        .await
        .unwrap();
    assert!(matches!(
        handset.next().await,
        Some(RelayMsg::Welcome { .. })
    ));
    let m = relay.hub.metrics();
    assert_eq!(m.login_failures.get(), 4);
    assert_eq!(m.refused_blocked.get(), 20);
    // After the block time the source is answered again.
    tokio::time::sleep(block_for + Duration::from_millis(200)).await;
    assert!(
        wrong_token(&relay, "127.0.0.2").await.is_some(),
        "still refused after the block time"
    );
}
