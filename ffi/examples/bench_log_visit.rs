//! The Rust side of the FFI call-cost benchmark: `log_visit` (one durable write) and
//! `get_household` (one cached read) called N times on a sled store in a temporary
//! directory, straight through `gridsync_core::Replica` and through the exported
//! `GridsyncReplica` (argument and result conversion, no foreign boundary). The foreign
//! side is `ffi/bench/bench_log_visit.py`, which makes the same calls through the Python
//! bindings. Prints the median, p90 and mean per call in microseconds.
//!
//! ```text
//! cargo run -p gridsync-ffi --release --example bench_log_visit -- [N]
//! ```

use std::error::Error;
use std::sync::Arc;
use std::time::Instant;

use gridsync_core::model as cm;
use gridsync_core::{GridPath, Replica};
use gridsync_ffi::{Address, FollowUp, GeoPoint, GridsyncReplica, NewHousehold, NewVisit, Tier};

const GRID: &str = "ankang/hanbin/laocheng/xinhua/g01";
const NOTES: &str = "老人身体尚可，药已按时服用，孙子周末回来。院里路灯坏了一盏，已报社区。";
const DAY: i64 = 86_400_000;
const T0: i64 = 1_760_000_000_000;
const WARMUP: usize = 50;

fn household() -> NewHousehold {
    NewHousehold {
        grid: GRID.into(),
        address: Address::Rural {
            group: "3组".into(),
            courtyard: "李家院".into(),
            number: "12".into(),
        },
        head: "李秀英".into(),
        members: vec![],
        phone: String::new(),
        tier: Tier::Red,
        tags: vec!["留守老人".into()],
        contacts: vec!["wang".into()],
    }
}

fn ffi_visit(household: &str, i: usize) -> NewVisit {
    let at = T0 + i as i64 * 60_000;
    NewVisit {
        household: household.into(),
        at,
        mode: gridsync_ffi::VisitMode::DoorToDoor,
        notes: NOTES.into(),
        findings: vec![],
        follow_ups: vec![FollowUp {
            text: "下周送药".into(),
            due: at + 7 * DAY,
            done: false,
        }],
        geo: Some(GeoPoint {
            lat: 32.68,
            lon: 109.02,
        }),
    }
}

/// Times `f(i)` for `n` calls after a warm-up; prints median, p90 and mean in µs.
fn time(
    label: &str,
    n: usize,
    mut f: impl FnMut(usize) -> Result<(), Box<dyn Error>>,
) -> Result<f64, Box<dyn Error>> {
    for i in 0..WARMUP {
        f(i)?;
    }
    let mut us: Vec<f64> = Vec::with_capacity(n);
    for i in WARMUP..WARMUP + n {
        let t = Instant::now();
        f(i)?;
        us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let mean = us.iter().sum::<f64>() / n as f64;
    us.sort_by(f64::total_cmp);
    let median = us[n / 2];
    println!(
        "{label:<40} n={n:<6} median {median:>9.2} µs  p90 {:>9.2} µs  mean {mean:>9.2} µs",
        us[n * 9 / 10]
    );
    Ok(median)
}

fn main() -> Result<(), Box<dyn Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(2000);

    // Straight through the core.
    let dir = tempfile::tempdir()?;
    let core = Replica::open(dir.path(), "bench-core")?;
    let h = household();
    let core_h = cm::NewHousehold {
        grid: GridPath::parse(GRID)?,
        address: cm::Address::Rural {
            group: "3组".into(),
            courtyard: "李家院".into(),
            number: "12".into(),
        },
        head: h.head.clone(),
        members: vec![],
        phone: String::new(),
        tier: cm::Tier::Red,
        tags: h.tags.clone(),
        contacts: h.contacts.clone(),
    };
    let hid = core.register_household(&core_h, "wang")?;
    time("rust core  log_visit", n, |i| {
        let at = T0 + i as i64 * 60_000;
        let v = cm::NewVisit {
            household: hid.clone(),
            worker: "wang".into(),
            at,
            mode: cm::VisitMode::DoorToDoor,
            notes: NOTES.into(),
            findings: vec![],
            follow_ups: vec![cm::FollowUp {
                text: "下周送药".into(),
                due: at + 7 * DAY,
                done: false,
            }],
            geo: Some(cm::GeoPoint {
                lat: 32.68,
                lon: 109.02,
            }),
        };
        core.log_visit(&v)?;
        Ok(())
    })?;
    time("rust core  household (read)", n, |_| {
        core.household(&hid)?;
        Ok(())
    })?;
    time("rust core  device (no store access)", n, |_| {
        std::hint::black_box(core.identity().device.clone());
        Ok(())
    })?;

    // Through the exported object, from Rust (conversions, no foreign boundary).
    let dir = tempfile::tempdir()?;
    let path = dir.path().to_string_lossy().into_owned();
    let ffi: Arc<GridsyncReplica> = GridsyncReplica::open(path, "bench-ffi".into())?;
    let grid = household().grid;
    let roles = vec![gridsync_ffi::Role::GridWorker];
    ffi.set_setup_identity("wang".into(), "王芳".into(), roles, grid)?;
    let fid = ffi.register_household(household())?;
    time("rust ffi   log_visit", n, |i| {
        ffi.log_visit(ffi_visit(&fid, i))?;
        Ok(())
    })?;
    time("rust ffi   get_household (read)", n, |_| {
        ffi.get_household(fid.clone())?;
        Ok(())
    })?;
    time("rust ffi   device (no store access)", n, |_| {
        std::hint::black_box(ffi.device());
        Ok(())
    })?;
    Ok(())
}
