//! A handset that logs visits and syncs in a loop until it is killed. Prints `READY` once
//! the store is open, `V <id>` after each `log_visit` returned Ok (durable locally),
//! `S <acknowledged> <entries>` after each sync that completed and `E <error>` after one
//! that failed. The handset-kill fault test SIGKILLs it at random moments (mid-bootstrap,
//! mid-push, mid-write) and checks that nothing acknowledged was lost.
//!
//! Usage: `sync-writer STORE_DIR DEVICE RELAY_ADDR FINGERPRINT TOKEN [BATCH_BYTES]`

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use gridsync_core::model::{Address, NewHousehold, NewVisit, Tier, VisitMode};
use gridsync_core::net::{RelayTarget, SyncClient, Trust};
use gridsync_core::{GridPath, Replica};

fn main() -> anyhow::Result<()> {
    let usage = "usage: sync-writer STORE_DIR DEVICE RELAY_ADDR FINGERPRINT TOKEN [BATCH_BYTES]";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, device, addr, fingerprint, token] = args.get(..5).context(usage)? else {
        anyhow::bail!(usage);
    };
    let batch: usize = match args.get(5) {
        Some(b) => b.parse().context("BATCH_BYTES")?,
        None => 4096,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let replica = Arc::new(Replica::open(std::path::Path::new(dir), device)?);
        let target = RelayTarget {
            other_nodes: Vec::new(),
            addr: addr.parse().context("RELAY_ADDR")?,
            server_name: "gridsync-relay".into(),
            trust: Trust::Pinned(fingerprint.clone()),
            token: token.clone(),
        };
        let client =
            SyncClient::new(replica.clone(), target)?.with_batch_bytes(batch, batch as u32);
        let mut out = std::io::stdout().lock();
        writeln!(out, "READY")?;
        out.flush()?;
        for round in 0u64.. {
            // Visit a household this handset registered, or register one.
            let mine = replica
                .list_households(None)?
                .into_iter()
                .find(|h| h.head == "冯秀英");
            let household = match mine {
                Some(h) => h.id,
                None => replica.register_household(
                    &NewHousehold {
                        grid: GridPath::parse("ankang/hanbin/laocheng/xinhua/g03")?,
                        address: Address::Urban {
                            building: "7栋".into(),
                            unit: "1单元".into(),
                            room: "302".into(),
                        },
                        head: "冯秀英".into(),
                        members: vec![],
                        phone: String::new(),
                        tier: Tier::Yellow,
                        tags: vec!["空巢".into()],
                        contacts: vec![device.clone()],
                    },
                    device,
                )?,
            };
            for k in 0..3 {
                let n = round * 3 + k;
                let id = replica.log_visit(&NewVisit {
                    household: household.clone(),
                    worker: device.clone(),
                    at: 1_704_700_800_000 + n as i64,
                    mode: VisitMode::DoorToDoor,
                    notes: format!("第{n}次入户：老人精神尚可，叮嘱按时服药，检查燃气阀门。"),
                    findings: vec![],
                    follow_ups: vec![],
                    geo: None,
                })?;
                writeln!(out, "V {id}")?;
                out.flush()?;
            }
            match client.sync_once().await {
                Ok(r) => writeln!(out, "S {} {}", r.acknowledged, r.entries)?,
                Err(e) => writeln!(out, "E {e}")?,
            }
            out.flush()?;
        }
        Ok(())
    })
}
