//! The child the at-rest crash tests SIGKILL (issue 14).
//!
//! - `at-rest-writer rekey DIR KEY_A KEY_B`: opens the encrypted store with whichever key
//!   opens it, then loops: log a visit (prints `V <id>` once durable), switch to the other
//!   key (prints `K A` or `K B` once `rekey` returned).
//! - `at-rest-writer convert DIR KEY`: opens a plaintext store with a key, which encrypts
//!   it, and prints `OPEN`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use gridsync_core::model::{NewVisit, VisitMode};
use gridsync_core::store::StoreKey;
use gridsync_core::{Error, Replica};

fn key(hex_text: &str) -> Result<StoreKey> {
    Ok(StoreKey::from_slice(&hex::decode(hex_text)?)?)
}

/// Opens `dir` with `a`, else `b`; returns the replica and which key opened it.
fn open_either(dir: &Path, a: &StoreKey, b: &StoreKey) -> Result<(Replica, char)> {
    match Replica::open_encrypted(dir, "crash-phone", a.clone()) {
        Ok(r) => Ok((r, 'A')),
        Err(Error::WrongKey { .. }) => {
            Ok((Replica::open_encrypted(dir, "crash-phone", b.clone())?, 'B'))
        }
        Err(e) => Err(e.into()),
    }
}

fn rekey_loop(dir: &Path, a: &StoreKey, b: &StoreKey) -> Result<()> {
    let (replica, mut current) = open_either(dir, a, b)?;
    let household = replica
        .list_households(None)?
        .first()
        .map(|h| h.id.clone())
        .context("the test registers a household first")?;
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let id = replica.log_visit(&NewVisit {
            household: household.clone(),
            worker: "w-crash".into(),
            at: 1_772_323_200_000 + i as i64,
            mode: VisitMode::DoorToDoor,
            notes: format!("第{i}次走访：独居老人，已提醒按时服药。"),
            findings: vec![],
            follow_ups: vec![],
            geo: None,
        })?;
        writeln!(out, "V {id}")?;
        out.flush()?;
        let (next, name) = if current == 'A' { (b, 'B') } else { (a, 'A') };
        replica.rekey(next.clone())?;
        current = name;
        writeln!(out, "K {name}")?;
        out.flush()?;
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["rekey", dir, a, b] => rekey_loop(Path::new(dir), &key(a)?, &key(b)?),
        ["convert", dir, k] => {
            Replica::open_encrypted(Path::new(dir), "crash-phone", key(k)?)?;
            println!("OPEN");
            Ok(())
        }
        _ => bail!("usage: at-rest-writer rekey DIR KEY_A KEY_B | convert DIR KEY"),
    }
}
