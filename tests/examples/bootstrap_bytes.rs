//! Research aid: what a grid's bootstrap costs on the wire, in-process (no QUIC), and
//! what other encodings of the same entries would cost.
//! `cargo run --release -p gridsync-tests --example bootstrap_bytes`.

use std::sync::Arc;

use gridsync_core::sync::backend::RelayBackend;
use gridsync_core::sync::frame::FrameEncoder;
use gridsync_core::sync::wire::{Cursor, Entry, Payload, RelayMsg};
use gridsync_tests::workload::{Workload, WorkloadConfig};

fn z(b: &[u8], level: i32) -> usize {
    zstd::block::compress(b, level)
        .map(|c| c.len())
        .unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let hub = Arc::new(gridsync_server::open_hub(tmp.path(), 64)?);
    let cfg = WorkloadConfig::bootstrap();
    let w = Workload::generate(&cfg);
    let grid = cfg.grids[0].path.clone();
    let seeder = gridsync_tests::load::seed_hub(&hub, &w, &grid)?;
    let grants = gridsync_tests::relay::all_roles("w-seed", &[grid.as_str()])?;
    let floor = z(
        &gridsync_tests::bench::records::stored_records(&seeder)?,
        19,
    );
    let e = hub.add_device("fresh", &grants)?;
    let grant = hub.authenticate(&e.token)?;
    let mut cursor = Cursor::Fresh;
    let enc = FrameEncoder::default();
    let (mut wire, mut frames) = (0usize, 0usize);
    let mut all: Vec<Entry> = Vec::new();
    let mut batches: Vec<Vec<u8>> = Vec::new();
    loop {
        let b = hub.pull(grant.scopes(), &cursor, 256 * 1024)?;
        let msg = RelayMsg::Batch {
            from: cursor.clone(),
            next: b.next.clone(),
            entries: b.entries.clone(),
            more: b.more,
            live: false,
        };
        wire += enc.encode(&msg)?.len();
        batches.push(postcard::to_allocvec(&msg)?);
        frames += 1;
        all.extend(b.entries);
        cursor = b.next;
        if !b.more {
            break;
        }
    }
    let r = |n: usize| n as f64 / floor as f64;
    println!("floor (records, zstd -19): {floor} B");
    println!("entries: {}, frames: {frames}", all.len());
    println!("as sent: {wire} B = {:.2}x", r(wire));
    let raw = postcard::to_allocvec(&all)?;
    println!("raw postcard: {} B", raw.len());
    for l in [9, 19] {
        println!("one frame, level {l}: {:.2}x", r(z(&raw, l)));
    }
    // Columns: ids, grids, payloads apart.
    let (mut ids, mut grids, mut pay) = (Vec::new(), Vec::new(), Vec::new());
    let (mut changes, mut snaps) = (0, 0);
    for e in &all {
        ids.extend(postcard::to_allocvec(&e.doc)?);
        grids.extend(postcard::to_allocvec(&e.grid)?);
        match &e.payload {
            Payload::Change(b) => {
                changes += 1;
                pay.extend(postcard::to_allocvec(b)?)
            }
            Payload::Snapshot(b) => {
                snaps += 1;
                pay.extend(postcard::to_allocvec(b)?)
            }
        }
    }
    println!("changes {changes}, snapshots {snaps}");
    if let Some(Payload::Change(b)) = all
        .iter()
        .map(|e| &e.payload)
        .find(|p| matches!(p, Payload::Change(_)))
    {
        println!("a change: {} B: {:02x?}", b.len(), &b[..b.len().min(160)]);
        println!("{}", String::from_utf8_lossy(b));
    }
    for (name, b) in [("ids", &ids), ("grids", &grids), ("payloads", &pay)] {
        println!("  {name}: raw {} B, zstd-9 {} B", b.len(), z(b, 9));
    }
    println!(
        "payloads only (no ids/grids), one frame level 9: {:.2}x",
        r(z(&pay, 9))
    );
    // One compression context per connection's bulk stream, flushed at each frame.
    for (level, wl, tl) in [
        (9, 20, 19),
        (12, 20, 19),
        (13, 20, 19),
        (14, 20, 19),
        (12, 20, 20),
        (15, 20, 19),
        (15, 20, 20),
        (15, 21, 19),
        (15, 22, 20),
        (16, 20, 19),
        (16, 21, 20),
    ] {
        let mut c = gridsync_core::sync::zstream::StreamCompressor::tuned(level, wl, tl)
            .map_err(anyhow::Error::msg)?;
        let mut d = gridsync_core::sync::zstream::StreamDecompressor::new(24)
            .map_err(anyhow::Error::msg)?;
        let t = std::time::Instant::now();
        let mut total = 0;
        let mut segs = Vec::new();
        for b in &batches {
            let seg = c.compress(b).map_err(anyhow::Error::msg)?;
            total += seg.len() + 5;
            segs.push(seg);
        }
        let took = t.elapsed();
        for (seg, b) in segs.iter().zip(&batches) {
            let out = d.decompress(seg, 16 << 20).map_err(anyhow::Error::msg)?;
            anyhow::ensure!(&out == b, "round trip failed");
        }
        println!(
            "stream level {level} window {wl} tables {tl}: {total} B = {:.2}x, {took:?}, context {} KiB",
            r(total),
            c.memory() / 1024
        );
    }
    Ok(())
}
