//! `gridsync demo`: a real relay (sled store, QUIC on 127.0.0.1, self-signed certificate)
//! and three real handsets in one process: two grid workers of one community and a member
//! of its staff. They work offline, sync, edit one household at once, and converge; every
//! claim the narration makes is checked, and the demo fails unless all checks hold.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use gridsync_core::model::Role;
use gridsync_core::net::{SyncClient, SyncReport};
use gridsync_core::replica::CaseActionInput;
use gridsync_core::workflow::{ActionKind, CaseStatus};
use gridsync_core::{DocId, GridPath, Replica};
use gridsync_server::{Hub, Limits, tls};
use serde::Serialize;

use crate::config::{Handset, HandsetConfig, RelaySettings, write_config};
use crate::output::{self, Table};
use crate::{Ctx, Reported, sync};

mod story;
mod verify;

/// `gridsync demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the relay's and the handsets' data in this new directory (default: a temporary one, removed afterwards).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

const COMMUNITY: &str = "ankang/hanbin/laocheng/xinhua";
const GRID_A: &str = "ankang/hanbin/laocheng/xinhua/g01";
const GRID_B: &str = "ankang/hanbin/laocheng/xinhua/g02";

/// One handset of the demo.
struct Phone {
    name: &'static str,
    worker: &'static str,
    role: Role,
    hs: Handset,
    client: SyncClient,
}

impl Phone {
    fn r(&self) -> &Replica {
        &self.hs.replica
    }
}

/// A claim the demo checked.
#[derive(Debug, Serialize)]
struct Check {
    check: String,
    ok: bool,
    detail: String,
}

struct Demo {
    json: bool,
    checks: Vec<Check>,
}

fn g(s: &str) -> GridPath {
    GridPath::parse(s).unwrap_or_else(|_| unreachable!("demo grid paths are valid"))
}

impl Demo {
    /// The whole script, scene by scene.
    async fn story(&mut self, hub: &Hub, phones: [&Phone; 3]) -> Result<()> {
        let [a, b, s] = phones;
        let cast = self.offline_work(a, b)?;
        self.meet(a, b, s, &cast).await?;
        self.conflict(a, s, &cast).await?;
        self.trespass(a, b, s).await?;
        self.converged(hub, phones, &cast)
    }

    fn say(&self, s: impl Display) {
        if !self.json {
            println!("{s}");
        }
    }

    fn section(&self, title: &str) {
        self.say(format!("\n━━ {title} ━━"));
    }

    fn check(&mut self, what: &str, ok: bool, detail: impl Display) {
        let detail = detail.to_string();
        self.say(format!(
            "  {} {what}{}",
            if ok { "✓" } else { "✗" },
            if detail.is_empty() {
                String::new()
            } else {
                format!(": {detail}")
            }
        ));
        self.checks.push(Check {
            check: what.into(),
            ok,
            detail,
        });
    }

    async fn sync(&self, p: &Phone) -> Result<SyncReport> {
        let r = tokio::time::timeout(Duration::from_secs(30), p.client.sync_once())
            .await
            .with_context(|| format!("{} did not finish syncing in 30 s", p.name))?
            .with_context(|| format!("{} could not sync", p.name))?;
        self.say(format!(
            "  {} ⇅ relay: {} acknowledged, {} refused, {} record(s) received; {} up, {} down, {} round trip(s){}",
            p.name, r.acknowledged, r.refused.len(), r.documents_changed,
            sync::bytes(r.bytes_sent), sync::bytes(r.bytes_received), r.round_trips,
            if r.zero_rtt { ", 0-RTT" } else { "" }
        ));
        for f in &r.refused {
            self.say(format!("      refused: {}", f.reason));
        }
        Ok(r)
    }

    fn act(&self, p: &Phone, case: &DocId, kind: ActionKind) -> Result<CaseStatus> {
        let name = kind.name();
        let input = CaseActionInput {
            actor: p.worker.into(),
            role: p.role,
            at: None,
            kind,
        };
        let c = p.r().act_on_case(case, &input)?;
        self.say(format!(
            "  {} ({}) {name}s the case → {}",
            p.name,
            output::role(p.role),
            crate::case::status(c.state.status)
        ));
        Ok(c.state.status)
    }

    fn households(&self, p: &Phone) -> Result<()> {
        if self.json {
            return Ok(());
        }
        let mut t = Table::new(&["    TIER", "HEAD", "ADDRESS", "GRID", "TAGS"]);
        for h in p.r().list_households(None)? {
            t.row(vec![
                format!("    {}", output::tier(h.tier)),
                h.head,
                output::address(&h.address),
                h.grid.segments().last().unwrap_or_default().into(),
                h.tags.join(","),
            ]);
        }
        print!("{}", t.render("    (none)"));
        Ok(())
    }

    fn phone(
        &self,
        dir: &Path,
        hub: &Hub,
        relay: (&str, &str),
        who: (&'static str, &'static str, Role, &str),
    ) -> Result<Phone> {
        let (name, worker, role, scope) = who;
        let grants = gridsync_core::model::Grants {
            worker: worker.into(),
            display_name: name.into(),
            roles: vec![role],
            scopes: vec![g(scope)],
        };
        let token = hub.add_device(worker, &grants)?.token;
        let hdir = dir.join("handsets").join(worker);
        std::fs::create_dir_all(&hdir)?;
        let config = HandsetConfig {
            device: format!("{worker}-phone"),
            worker: worker.into(),
            role: role.as_str().into(),
            grid: Some(scope.into()),
            relay: Some(RelaySettings {
                addr: relay.0.into(),
                token,
                fingerprint: Some(relay.1.into()),
                ca_file: None,
            }),
        };
        write_config(&hdir, &config)?;
        let hs = Handset::open(&hdir)?;
        let client = SyncClient::new(hs.replica.clone(), hs.target()?)?;
        self.say(format!(
            "  {name} ({worker}), {}: scope {scope}",
            output::role(role)
        ));
        Ok(Phone {
            name,
            worker,
            role,
            hs,
            client,
        })
    }

    async fn play(&mut self, dir: &Path) -> Result<()> {
        self.say("gridsync demo: one community (新华社区), two grids, three handsets, one relay");
        self.section("the relay");
        let relay_dir = dir.join("relay");
        std::fs::create_dir_all(&relay_dir)?;
        let hub = Arc::new(gridsync_server::open_hub(&relay_dir, 16)?);
        let (identity, _) = tls::self_signed(&relay_dir)?;
        let fingerprint = identity.fingerprint();
        let endpoint =
            gridsync_server::bind("127.0.0.1:0".parse()?, tls::server_config(identity, 30)?)?;
        let addr = endpoint.local_addr()?.to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let relay = tokio::spawn(gridsync_server::run(
            endpoint,
            hub.clone(),
            Limits::default(),
            async {
                let _ = stopped.await;
            },
        ));
        self.say(format!(
            "  listening on {addr} (QUIC), certificate {fingerprint}\n  data in {}",
            relay_dir.display()
        ));
        self.section("enrolling three handsets");
        let rel = (addr.as_str(), fingerprint.as_str());
        let a = self.phone(
            dir,
            &hub,
            rel,
            ("王芳", "wangfang", Role::GridWorker, GRID_A),
        )?;
        let b = self.phone(
            dir,
            &hub,
            rel,
            ("李强", "liqiang", Role::GridWorker, GRID_B),
        )?;
        let s = self.phone(
            dir,
            &hub,
            rel,
            ("张敏", "zhangmin", Role::CommunityStaff, COMMUNITY),
        )?;
        let result = self.story(&hub, [&a, &b, &s]).await;
        drop((a, b, s));
        let _ = stop.send(());
        relay.await.context("the relay task")??;
        result
    }
}

/// Runs `gridsync demo`.
pub fn run(ctx: &Ctx, a: &DemoArgs) -> Result<()> {
    let tmp;
    let dir = match &a.dir {
        Some(d) => {
            if d.read_dir().is_ok_and(|mut e| e.next().is_some()) {
                bail!(
                    "{} is not empty; give the demo a new or empty directory",
                    d.display()
                );
            }
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            d.clone()
        }
        None => {
            tmp = tempfile::Builder::new()
                .prefix("gridsync-demo-")
                .tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let mut demo = Demo {
        json: ctx.json,
        checks: Vec::new(),
    };
    let outcome = sync::runtime()?.block_on(demo.play(&dir));
    let failed = demo.checks.iter().filter(|c| !c.ok).count();
    outcome?;
    let verdict =
        (failed > 0).then(|| format!("{failed} of {} demo checks failed", demo.checks.len()));
    if ctx.json {
        output::json(&serde_json::json!({
            "ok": failed == 0, "checks": demo.checks, "dir": a.dir, "error": verdict,
        }))?;
        if let Some(v) = verdict {
            return Err(Reported(v).into());
        }
    }
    if let Some(v) = verdict {
        bail!(v);
    }
    demo.say(format!("\nall {} checks held.", demo.checks.len()));
    if let Some(d) = &a.dir {
        demo.say(format!("the handsets stay in {0}/handsets; look around with e.g. `gridsync --store {0}/handsets/wangfang household list`", d.display()));
    }
    Ok(())
}
