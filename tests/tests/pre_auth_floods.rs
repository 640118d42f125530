//! Floods before login, and garbage after it (issue 12, item 1), written as an attacker.
//! The relay runs as its own process so that its resident memory is its own.
//!
//! - Never-Hello connections each try to open 64 bulk streams and three more
//!   bidirectional ones, each with a frame announcing 8 MiB and 1 MiB of it, while more
//!   strangers hold control streams with a frame one byte short of the pre-login limit and
//!   others send compression-bomb Hellos: the relay grants no stream beyond the control
//!   stream before Welcome (0 opened), stays under 200 MB resident, and a real handset
//!   syncs (a visit pushed and acknowledged) three times during the attack.
//! - After login, random bytes on the control stream or on a bulk stream, and a frame cut
//!   short, close only that connection: another logged-in connection keeps pushing, and
//!   a bulk stream opened after Welcome is read as before.
//! - A handset whose pushes need bulk streams right after Welcome (with 0-RTT too) gets
//!   them acknowledged.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use gridsync_core::GridPath;
use gridsync_core::model::{Address, NewHousehold, NewVisit, Tier, VisitMode};
use gridsync_core::sync::encode_client;
use gridsync_core::sync::frame::FLAG_ZSTD;
use gridsync_core::sync::wire::{ClientMsg, ErrorCode, RelayMsg};
use gridsync_tests::attack::{Attack, Attacker};
use gridsync_tests::raw_client::RawClient;
use gridsync_tests::relay::{Handset, TestRelay, all_roles};
use gridsync_tests::relay_process::{ProcessOptions, RelayProcess, relay_binary};
use rand::{Rng, SeedableRng};

const G1: &str = "ankang/hanbin/laocheng/xinhua/g1";
/// The bound on the relay's resident memory during the attack.
const RSS_BOUND_KIB: u64 = 200 * 1024;

fn household() -> NewHousehold {
    NewHousehold {
        grid: GridPath::parse(G1).unwrap(),
        address: Address::Urban {
            building: "1栋".into(),
            unit: "1单元".into(),
            room: "101".into(),
        },
        head: "照常".into(),
        members: vec![],
        phone: String::new(),
        tier: Tier::Red,
        tags: vec![],
        contacts: vec!["li".into()],
    }
}

fn visit(household: &gridsync_core::DocId, n: i64) -> NewVisit {
    NewVisit {
        household: household.clone(),
        worker: "li".into(),
        at: 1_772_323_200_000 + n,
        mode: VisitMode::Phone,
        notes: format!("攻击期间回访第{n}次。"),
        findings: vec![],
        follow_ups: vec![],
        geo: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_before_login_get_no_streams_keep_the_relay_small_and_a_handset_syncs() {
    let tmp = tempfile::tempdir().unwrap();
    let exe = relay_binary().unwrap();
    let data = tmp.path().join("relay");
    let token = RelayProcess::enroll_with(&exe, &data, "li", &[G1]).unwrap();
    let options = ProcessOptions {
        // Each bomb is two WARN lines.
        log_filter: "error",
        ..ProcessOptions::default()
    };
    let relay = RelayProcess::spawn(&exe, &data, options).unwrap();
    let pid = relay.pid().unwrap();
    let before = relay.peak_rss_kib();
    let handset = Handset::open(&tmp.path().join("li"), "li", relay.target(&token)).unwrap();
    handset
        .replica
        .store_grants(&all_roles("li", &[G1]).unwrap())
        .unwrap();
    let hid = handset
        .replica
        .register_household(&household(), "li")
        .unwrap();
    assert_eq!(handset.client.sync_once().await.unwrap().acknowledged, 1);

    let (addr, fp) = (relay.addr, relay.fingerprint.as_str());
    let flood = Attack::StreamFlood {
        conns: 8,
        streams: 64,
        bytes: 1 << 20,
    };
    let attackers = [
        Attacker::start(flood, addr, fp).unwrap(),
        Attacker::start(Attack::NeverHello { conns: 64 }, addr, fp).unwrap(),
        Attacker::start(Attack::Bombs { at_once: 2 }, addr, fp).unwrap(),
    ];
    // Let every flood connection try all its streams (64 × 200 ms at most).
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut peak_during = 0;
    for n in 0..3 {
        handset.replica.log_visit(&visit(&hid, n)).unwrap();
        let t = Instant::now();
        let report = handset.client.sync_once().await.unwrap();
        assert_eq!(report.acknowledged, 1, "sync {n} during the attack");
        println!("sync {n} during the attack: {:?}", t.elapsed());
        peak_during = peak_during.max(gridsync_tests::attack::rss_kib(pid));
    }
    let mut stats = Vec::new();
    for a in attackers {
        stats.push(a.stop().await);
    }
    let peak = relay.peak_rss_kib();
    println!(
        "relay resident: {before} KiB before, {peak_during} KiB sampled during, peak {peak} KiB; \
         flood {:?}; never-Hello {:?}; bombs {:?}",
        stats[0], stats[1], stats[2]
    );
    assert!(stats[0].connections >= 8, "the flood never connected");
    assert_eq!(
        stats[0].streams_opened, 0,
        "the relay granted streams before login"
    );
    assert_eq!(stats[1].streams_opened, 0);
    assert!(stats[2].connections > 0, "no bomb reached the relay");
    assert!(
        peak < RSS_BOUND_KIB,
        "the relay's peak resident memory was {peak} KiB (bound {RSS_BOUND_KIB} KiB)"
    );
}

/// The relay's last word on a connection after `attack`: the Error code it closed with,
/// or `None` if it closed the stream without one (or a 10 s wait ran out).
async fn closed_with(client: &mut RawClient) -> Option<ErrorCode> {
    let got = client.until(|_| false).await;
    got.iter().find_map(|m| match m {
        RelayMsg::Error { code, .. } => Some(*code),
        _ => None,
    })
}

/// A logged-in client, its Welcome read.
async fn logged_in(relay: &TestRelay, token: &str) -> RawClient {
    let mut client = RawClient::connect(relay.addr, &relay.fingerprint, token)
        .await
        .unwrap();
    assert!(matches!(
        client.next().await,
        Some(RelayMsg::Welcome { .. })
    ));
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_and_truncated_frames_after_login_close_only_that_connection() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(&dir.path().join("relay")).await.unwrap();
    let token = relay.enroll("li", &[G1]).unwrap();
    let mut bystander = logged_in(&relay, &token).await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
    let push = encode_client(&ClientMsg::Push {
        id: 1,
        changes: Vec::new(),
    })
    .unwrap();

    for round in 0..8 {
        // Random bytes on the control stream.
        let mut garbage = vec![0u8; rng.random_range(6..2048)];
        rng.fill(&mut garbage[..]);
        // A length that fits the limits (so it is not refused for its size alone), and a
        // body that cannot be a message: no zstd frame, or no message kind 0xff.
        let length = (garbage.len() as u32 - 4).to_be_bytes();
        garbage[..4].copy_from_slice(&length);
        if round % 2 == 0 {
            garbage[4] = FLAG_ZSTD;
        } else {
            garbage[4..6].copy_from_slice(&[0, 0xff]);
        }
        let mut c = logged_in(&relay, &token).await;
        c.send_raw(&garbage).await.unwrap();
        assert_eq!(
            closed_with(&mut c).await,
            Some(ErrorCode::Malformed),
            "round {round}"
        );

        // Random bytes on a bulk stream opened after Welcome.
        let mut c = logged_in(&relay, &token).await;
        let mut bulk = c.connection().open_uni().await.unwrap();
        bulk.write_all(&garbage).await.unwrap();
        let _ = bulk.finish();
        assert_eq!(
            closed_with(&mut c).await,
            Some(ErrorCode::Malformed),
            "round {round}"
        );

        // A frame cut short, then the stream finished: the connection ends.
        let mut c = logged_in(&relay, &token).await;
        let cut = rng.random_range(1..push.len());
        c.send_raw(&push[..cut]).await.unwrap();
        c.finish();
        let got = c.until(|_| false).await;
        assert!(
            !got.iter().any(|m| matches!(m, RelayMsg::PushAck { .. })),
            "round {round}: a truncated push was answered: {got:?}"
        );
        let closed = tokio::time::timeout(Duration::from_secs(30), c.connection().closed()).await;
        assert!(
            closed.is_ok(),
            "round {round}: the relay kept a truncated connection open"
        );

        // The bystander's session is unaffected.
        assert!(
            bystander.push(Vec::new()).await.unwrap().is_empty(),
            "round {round}"
        );
    }

    // And a push on a bulk stream after Welcome is read and answered as ever.
    let mut c = logged_in(&relay, &token).await;
    let mut bulk = c.connection().open_uni().await.unwrap();
    bulk.write_all(&push).await.unwrap();
    let _ = bulk.finish();
    let got = c.until(|m| matches!(m, RelayMsg::PushAck { .. })).await;
    assert!(
        matches!(got.last(), Some(RelayMsg::PushAck { id: 1, .. })),
        "a bulk push after Welcome was not answered: {got:?}"
    );
    let m = relay.hub.metrics();
    println!("8 rounds of garbage after login; logins {}", m.logins.get());
}

/// `n` visits whose notes are 1,000 random characters (so that they stay big compressed).
fn big_visits(handset: &Handset, hid: &gridsync_core::DocId, from: i64, n: i64) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(from as u64);
    for i in from..from + n {
        let mut v = visit(hid, i);
        v.notes = (0..1000)
            .map(|_| char::from_u32(rng.random_range(0x4e00..0x9fa5)).unwrap())
            .collect();
        handset.replica.log_visit(&v).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handsets_bulk_pushes_after_welcome_still_arrive_with_zero_rtt_too() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(&dir.path().join("relay")).await.unwrap();
    let handset = relay.handset(dir.path(), "li", &[G1]).unwrap();
    let hid = handset
        .replica
        .register_household(&household(), "li")
        .unwrap();
    // Far more than one 256 KiB push chunk: the first goes behind Hello on the control
    // stream, the later ones (over 16 KiB each) on bulk streams the relay grants at Welcome.
    big_visits(&handset, &hid, 0, 300);
    let first = handset.client.sync_once().await.unwrap();
    assert_eq!(first.acknowledged, 301, "{first:?}");
    big_visits(&handset, &hid, 300, 300);
    let again = handset.client.sync_once().await.unwrap();
    assert!(again.zero_rtt, "the reconnect did not use 0-RTT: {again:?}");
    assert_eq!(again.acknowledged, 300, "{again:?}");
    println!(
        "pushed {} then {} bytes in {} and {} messages",
        first.bytes_sent, again.bytes_sent, first.messages_sent, again.messages_sent
    );
}
