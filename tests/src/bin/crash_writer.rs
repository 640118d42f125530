//! A handset that logs visits in a loop until it is killed, printing `V <id>` after each
//! call returned Ok. The crash test SIGKILLs it at random moments and checks that every
//! printed visit survived.

use std::io::Write;

use anyhow::Context;
use gridsync_core::model::{Address, NewHousehold, NewVisit, Tier, VisitMode};
use gridsync_core::{GridPath, Replica};

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .context("usage: crash-writer STORE_DIR")?;
    let replica = Replica::open(std::path::Path::new(&dir), "crash-phone")?;
    let household = match replica.list_households(None)?.first() {
        Some(h) => h.id.clone(),
        None => replica.register_household(
            &NewHousehold {
                grid: GridPath::parse("ankang/hanbin/laocheng/xinhua/g03")?,
                address: Address::Rural {
                    group: "四组".into(),
                    courtyard: "柳树湾".into(),
                    number: "12号".into(),
                },
                head: "陈桂兰".into(),
                members: vec![],
                phone: String::new(),
                tier: Tier::Red,
                tags: vec!["独居".into()],
                contacts: vec!["w-crash".into()],
            },
            "w-crash",
        )?,
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY")?;
    out.flush()?;
    for i in 0u64.. {
        let id = replica.log_visit(&NewVisit {
            household: household.clone(),
            worker: "w-crash".into(),
            at: 1_772_323_200_000 + i as i64,
            mode: VisitMode::DoorToDoor,
            notes: format!("第{i}次走访：老人身体尚可，独自生活，叮嘱注意用电用气安全，按时服药。"),
            findings: vec![],
            follow_ups: vec![],
            geo: None,
        })?;
        writeln!(out, "V {id}")?;
        out.flush()?;
    }
    Ok(())
}
