//! The emulator itself, with plain UDP sockets: profiles parse, latency is applied, loss
//! is near its target, the bandwidth cap and the queue hold, outages drop everything, and
//! the same seed drops the same datagrams.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use super::*;

/// Datagrams a sink received: (when, payload).
type Log = Arc<Mutex<Vec<(Instant, Vec<u8>)>>>;

/// A UDP socket standing in for the relay: records what arrives, echoes it if asked.
async fn sink(echo: bool) -> (SocketAddr, Log) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    let log: Log = Arc::default();
    let l = log.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        while let Ok((n, from)) = sock.recv_from(&mut buf).await {
            l.lock().unwrap().push((Instant::now(), buf[..n].to_vec()));
            if echo {
                let _ = sock.send_to(&buf[..n], from).await;
            }
        }
    });
    (addr, log)
}

async fn client() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

fn numbered(i: u32, len: usize) -> Vec<u8> {
    let mut v = vec![0xabu8; len.max(4)];
    v[..4].copy_from_slice(&i.to_be_bytes());
    v
}

fn number(p: &[u8]) -> u32 {
    u32::from_be_bytes(p[..4].try_into().unwrap())
}

async fn settle(log: &Log, want: usize, within: Duration) {
    let t = Instant::now();
    while log.lock().unwrap().len() < want && t.elapsed() < within {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn clean() -> LinkProfile {
    LinkProfile::loopback()
}

#[test]
fn profiles_parse() {
    for name in PROFILE_NAMES {
        let p = LinkProfile::parse(name).unwrap();
        assert_eq!(&p.name, name);
    }
    let e = LinkProfile::parse("edge").unwrap();
    assert_eq!(e.rate_bps, Some(200_000));
    assert_eq!(e.rtt, Duration::from_millis(600));
    assert!((e.loss - 0.03).abs() < 1e-9);
    let g = LinkProfile::parse("4g").unwrap();
    assert_eq!(
        (g.rate_bps, g.rtt, g.loss),
        (Some(20_000_000), Duration::from_millis(50), 0.005)
    );
    let t = LinkProfile::parse("3g").unwrap();
    assert_eq!(
        (t.rate_bps, t.rtt, t.loss),
        (Some(1_000_000), Duration::from_millis(200), 0.01)
    );
    let t = LinkProfile::parse("terrible").unwrap();
    assert_eq!(
        (t.rate_bps, t.rtt, t.loss),
        (Some(50_000), Duration::from_millis(1500), 0.15)
    );
    assert!(matches!(t.outages, Outages::Random { .. }));
    let m = LinkProfile::parse("mountain").unwrap();
    assert_eq!(m.rate_bps, e.rate_bps);
    assert_eq!(
        m.outages,
        Outages::Periodic {
            up: Duration::from_secs(20),
            down: Duration::from_secs(120)
        }
    );
    let m = LinkProfile::parse("mountain@0.1").unwrap();
    assert_eq!(
        m.outages,
        Outages::Periodic {
            up: Duration::from_secs(2),
            down: Duration::from_secs(12)
        }
    );
    let c = LinkProfile::parse("3g, loss=5%, rate=300k, rtt=1.2s, up=3s, down=500ms").unwrap();
    assert_eq!(c.loss, 0.05);
    assert_eq!(c.rate_bps, Some(300_000));
    assert_eq!(c.rtt, Duration::from_millis(1200));
    assert_eq!(
        c.outages,
        Outages::Periodic {
            up: Duration::from_secs(3),
            down: Duration::from_millis(500)
        }
    );
    assert_eq!(c.name, "3g+");
    for bad in [
        "",
        "5g",
        "edge@0",
        "edge,loss=2",
        "edge,up=1s",
        "edge,speed=1",
        "edge,rtt=x",
    ] {
        assert!(LinkProfile::parse(bad).is_err(), "{bad:?} parsed");
    }
}

#[test]
fn token_bucket_paces_at_the_rate() {
    // Pure shaper: 100 datagrams of 1000 B at once through 80 kbit/s (10 kB/s).
    let p = clean().with_rate(Some(80_000)).with_queue(usize::MAX);
    let p = LinkProfile {
        burst_bytes: 1000,
        ..p
    };
    let mut s = Shaper::new(1);
    let t0 = Instant::now();
    let mut last = t0;
    for _ in 0..100 {
        match s.admit(t0, 1000, &p, false) {
            Fate::Delivered { at, .. } => last = at,
            f => panic!("{f:?}"),
        }
    }
    let took = last - t0;
    assert!(
        (took.as_secs_f64() - 9.9).abs() < 0.01,
        "100 kB at 10 kB/s with a 1 kB burst took {took:?}"
    );
    // A bounded queue tail-drops what does not fit.
    let p = LinkProfile {
        queue_bytes: 10_000,
        ..p
    };
    let mut s = Shaper::new(1);
    let delivered = (0..100)
        .filter(|_| matches!(s.admit(t0, 1000, &p, false), Fate::Delivered { .. }))
        .count();
    assert_eq!(delivered, 11, "1 kB burst + 10 kB queue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_passes_everything_both_ways() {
    let (relay, log) = sink(true).await;
    let emu = LinkEmulator::start(relay, clean(), 1).await.unwrap();
    let c = client().await;
    for i in 0..200 {
        c.send_to(&numbered(i, 100), emu.addr()).await.unwrap();
        if i % 20 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let mut got = 0;
    let mut buf = [0u8; 2048];
    while got < 200 {
        tokio::time::timeout(Duration::from_secs(5), c.recv_from(&mut buf))
            .await
            .expect("echo did not come back")
            .unwrap();
        got += 1;
    }
    assert_eq!(log.lock().unwrap().len(), 200);
    let k = emu.counters();
    assert_eq!(k.up.offered_datagrams, 200);
    assert_eq!(k.up.delivered_datagrams, 200);
    assert_eq!(k.down.delivered_datagrams, 200);
    assert_eq!(k.up.delivered_bytes, 200 * 100);
    assert_eq!(k.dropped(), 0);
    assert_eq!(k.duplicated(), 0);
    assert_eq!(emu.flows(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_and_jitter_are_applied() {
    let (relay, _log) = sink(true).await;
    let p = clean().with_rtt(Duration::from_millis(200), Duration::from_millis(20));
    let emu = LinkEmulator::start(relay, p, 2).await.unwrap();
    let c = client().await;
    let mut rtts = Vec::new();
    let mut buf = [0u8; 2048];
    for i in 0..20 {
        let t = Instant::now();
        c.send_to(&numbered(i, 64), emu.addr()).await.unwrap();
        tokio::time::timeout(Duration::from_secs(2), c.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        rtts.push(t.elapsed());
    }
    rtts.sort();
    let (min, max, median) = (rtts[0], rtts[rtts.len() - 1], rtts[rtts.len() / 2]);
    // The emulator never delivers early. A busy test machine can stall a task and make a
    // sample late, so the upper checks use the median and most samples, not the maximum.
    assert!(min >= Duration::from_millis(158), "min rtt {min:?}");
    assert!(
        median > Duration::from_millis(185) && median < Duration::from_millis(240),
        "median rtt {median:?}: {rtts:?}"
    );
    let within = rtts
        .iter()
        .filter(|r| **r < Duration::from_millis(300))
        .count();
    assert!(within >= 16, "only {within} of 20 within 300 ms: {rtts:?}");
    assert!(max > min, "jitter varies the delay: {rtts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loss_rate_is_near_the_target() {
    let (relay, log) = sink(false).await;
    let emu = LinkEmulator::start(relay, clean().with_loss(0.1), 3)
        .await
        .unwrap();
    let c = client().await;
    let n = 4000u32;
    for i in 0..n {
        c.send_to(&numbered(i, 200), emu.addr()).await.unwrap();
        if i % 25 == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = log.lock().unwrap().len() as f64;
    let k = emu.counters();
    assert_eq!(k.up.offered_datagrams, n as u64);
    assert_eq!(k.up.lost + k.up.delivered_datagrams, n as u64, "{k}");
    // Binomial(4000, 0.1): sd ~19; allow 5 sd.
    let lost = n as f64 - got;
    assert!(
        (lost - 400.0).abs() < 95.0,
        "lost {lost} of {n} at 10%: {k}"
    );
    assert_eq!(k.up.lost as f64, lost);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bandwidth_cap_holds_and_the_queue_tail_drops() {
    // 400 kbit/s = 50 kB/s; 150 x 1000 B sent at once into a 64 kB queue (+4 kB burst):
    // ~68 get through, at 50 kB/s, the rest are tail-dropped.
    let (relay, log) = sink(false).await;
    let p = LinkProfile {
        burst_bytes: 4000,
        ..clean().with_rate(Some(400_000)).with_queue(64_000)
    };
    let emu = LinkEmulator::start(relay, p, 4).await.unwrap();
    let c = client().await;
    let sent_at = Instant::now();
    for i in 0..150 {
        c.send_to(&numbered(i, 1000), emu.addr()).await.unwrap();
        if i % 10 == 0 {
            // Do not overflow the emulator's socket buffer (that would be the kernel
            // dropping, not the emulated queue).
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let sending = sent_at.elapsed();
    settle(&log, 68, Duration::from_secs(4)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = log.lock().unwrap().clone();
    let k = emu.counters();
    assert_eq!(k.up.offered_datagrams, 150, "{k}");
    // What drained while sending also got through.
    let drained = (sending.as_secs_f64() * 50.0).ceil() as usize;
    assert!(
        (64..=70 + drained).contains(&log.len()),
        "{} delivered (sending took {sending:?}): {k}",
        log.len()
    );
    assert_eq!(k.up.queue_drops as usize, 150 - log.len(), "{k}");
    let last = log.last().unwrap().0 - sent_at;
    let bytes = (log.len() * 1000) as f64;
    let rate = (bytes - 4000.0) / last.as_secs_f64();
    assert!(
        (rate - 50_000.0).abs() < 5_000.0,
        "{bytes} B in {last:?}: {rate:.0} B/s, cap 50000"
    );
    // Arrivals are paced, not bunched: after the burst, ~20 ms apart.
    let gaps: Vec<Duration> = log.windows(2).map(|w| w[1].0 - w[0].0).collect();
    let late = &gaps[10..];
    let mean = late.iter().sum::<Duration>() / late.len() as u32;
    assert!(
        mean > Duration::from_millis(15) && mean < Duration::from_millis(25),
        "mean gap {mean:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_drops_everything_both_ways() {
    let (relay, log) = sink(true).await;
    let p = clean().with_rtt(Duration::from_millis(300), Duration::ZERO);
    let emu = LinkEmulator::start(relay, p, 5).await.unwrap();
    let c = client().await;
    // In flight when the link goes down: lost too.
    c.send_to(&numbered(0, 100), emu.addr()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    emu.cut();
    assert!(!emu.is_up());
    for i in 1..=100 {
        c.send_to(&numbered(i, 100), emu.addr()).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        log.lock().unwrap().is_empty(),
        "something crossed a cut link"
    );
    let k = emu.counters();
    assert_eq!(k.up.outage_drops, 101, "{k}");
    assert_eq!(k.up.delivered_datagrams + k.down.delivered_datagrams, 0);
    emu.restore();
    assert!(emu.is_up());
    c.send_to(&numbered(7, 100), emu.addr()).await.unwrap();
    let mut buf = [0u8; 256];
    tokio::time::timeout(Duration::from_secs(2), c.recv_from(&mut buf))
        .await
        .expect("restored link carries traffic")
        .unwrap();
    assert_eq!(number(&buf), 7);
    // Echoes in flight back down when the link is cut are lost as well.
    c.send_to(&numbered(8, 100), emu.addr()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(220)).await;
    emu.cut();
    assert!(
        tokio::time::timeout(Duration::from_millis(600), c.recv_from(&mut buf))
            .await
            .is_err(),
        "an echo crossed a cut link"
    );
    assert!(emu.counters().down.outage_drops >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_outages_follow_the_schedule() {
    let (relay, log) = sink(false).await;
    let up = Duration::from_millis(300);
    let down = Duration::from_millis(300);
    let p = clean().with_outages(Outages::Periodic { up, down });
    let emu = LinkEmulator::start(relay, p, 6).await.unwrap();
    let c = client().await;
    let mut sent = Vec::new();
    let t0 = Instant::now();
    let mut i = 0u32;
    while t0.elapsed() < Duration::from_millis(1500) {
        sent.push((i, emu.elapsed()));
        c.send_to(&numbered(i, 50), emu.addr()).await.unwrap();
        i += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let got: std::collections::HashSet<u32> =
        log.lock().unwrap().iter().map(|(_, p)| number(p)).collect();
    let cycle = (up + down).as_millis();
    let margin = 15;
    let (mut in_up, mut in_down) = (0, 0);
    for (i, at) in sent {
        let phase = at.as_millis() % cycle;
        if phase + margin < up.as_millis() && phase > margin {
            in_up += 1;
            assert!(
                got.contains(&i),
                "datagram {i} sent while up (phase {phase} ms) lost"
            );
        } else if phase > up.as_millis() + margin && phase + margin < cycle {
            in_down += 1;
            assert!(
                !got.contains(&i),
                "datagram {i} sent while down (phase {phase} ms) arrived"
            );
        }
    }
    assert!(in_up > 50 && in_down > 50, "{in_up} up, {in_down} down");
    assert_eq!(
        emu.outage_windows(Duration::from_millis(1300)),
        vec![(up, up + down), (up * 2 + down, (up + down) * 2)]
    );
}

/// The numbers of the datagrams that crossed a link with `profile` and `seed`.
async fn survivors(profile: LinkProfile, seed: u64, n: u32) -> (Vec<u32>, Counters) {
    let (relay, log) = sink(false).await;
    let emu = LinkEmulator::start(relay, profile, seed).await.unwrap();
    let c = client().await;
    for i in 0..n {
        c.send_to(&numbered(i, 300), emu.addr()).await.unwrap();
        if i % 20 == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let t = Instant::now();
    while emu.counters().up.offered_datagrams < n as u64 && t.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let k = emu.counters();
    assert_eq!(k.up.offered_datagrams, n as u64);
    let mut got: Vec<u32> = log.lock().unwrap().iter().map(|(_, p)| number(p)).collect();
    got.sort_unstable();
    (got, k)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_seed_same_drops() {
    let p = clean()
        .with_loss(0.3)
        .with_duplicate(0.1)
        .with_rtt(Duration::from_millis(20), Duration::from_millis(10));
    let (a, ka) = survivors(p.clone(), 42, 1000).await;
    let (b, kb) = survivors(p.clone(), 42, 1000).await;
    let (c, _) = survivors(p, 43, 1000).await;
    assert_eq!(a, b, "same seed, different fates");
    assert_eq!(ka.up.lost, kb.up.lost);
    assert_eq!(ka.up.duplicated, kb.up.duplicated);
    assert_ne!(a, c, "another seed drew the same fates");
    assert!(ka.up.duplicated > 30, "{ka}");
    // Random outage schedules come from the seed too.
    let (relay, _) = sink(false).await;
    let t = LinkProfile::terrible();
    let w = |seed| {
        let t = t.clone();
        async move {
            LinkEmulator::start(relay, t, seed)
                .await
                .unwrap()
                .outage_windows(Duration::from_secs(600))
        }
    };
    let (w1, w2, w3) = (w(9).await, w(9).await, w(10).await);
    assert_eq!(w1, w2);
    assert_ne!(w1, w3);
    assert!(w1.len() > 3, "{w1:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reordering_and_duplication_happen_at_their_rates() {
    let (relay, log) = sink(false).await;
    let p = clean()
        .with_reorder(0.1, Duration::from_millis(40))
        .with_duplicate(0.05)
        .with_rtt(Duration::from_millis(10), Duration::ZERO);
    let emu = LinkEmulator::start(relay, p, 11).await.unwrap();
    let c = client().await;
    let n = 1000u32;
    for i in 0..n {
        c.send_to(&numbered(i, 100), emu.addr()).await.unwrap();
        if i % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let order: Vec<u32> = log.lock().unwrap().iter().map(|(_, p)| number(p)).collect();
    let k = emu.counters();
    let inversions = order.windows(2).filter(|w| w[1] < w[0]).count();
    assert!(inversions > 20, "{inversions} inversions: {k}");
    assert!((50..=160).contains(&k.up.reordered), "{k}");
    assert!((20..=90).contains(&k.up.duplicated), "{k}");
    assert_eq!(order.len() as u64, n as u64 + k.up.duplicated);
    let mut uniq = order.clone();
    uniq.sort_unstable();
    uniq.dedup();
    assert_eq!(uniq.len(), n as usize, "nothing lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_handsets_share_one_emulator() {
    let (relay, log) = sink(true).await;
    let emu = LinkEmulator::start(relay, LinkProfile::parse("4g,loss=0").unwrap(), 12)
        .await
        .unwrap();
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(client().await);
    }
    for (k, c) in clients.iter().enumerate() {
        c.send_to(&numbered(k as u32, 64), emu.addr())
            .await
            .unwrap();
    }
    let mut buf = [0u8; 256];
    for (k, c) in clients.iter().enumerate() {
        tokio::time::timeout(Duration::from_secs(2), c.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(number(&buf) as usize, k, "a handset got another's echo");
    }
    assert_eq!(emu.flows(), 5);
    // The relay sees one peer per handset.
    let _ = log;
}
