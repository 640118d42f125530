//! The store scenario's table: the same grid-year loaded without a key and with one, in
//! one run, each figure with the encrypted run's ratio to the plaintext one (issue 14).

use super::store::StoreFigures;

fn mib(b: u64) -> String {
    format!("{:.2} MiB", b as f64 / 1048576.0)
}

fn row(figure: &str, plain: String, keyed: String, ratio: f64, target: &str) -> String {
    format!("| {figure} | {plain} | {keyed} | {ratio:.2}x | {target} |")
}

fn ratio(keyed: f64, plain: f64) -> f64 {
    if plain > 0.0 { keyed / plain } else { 0.0 }
}

/// The Markdown table comparing a plaintext run with an encrypted one.
pub fn table(plain: &StoreFigures, keyed: &StoreFigures) -> String {
    let (p, k) = (&plain.probe, &keyed.probe);
    let ms = |v: f64| format!("{v:.2} ms");
    let mut out = vec![
        format!(
            "store: one grid, one year ({} households, {} visits, {} cases, {} case actions), without and with a key",
            plain.records.0, plain.records.1, plain.records.2, plain.case_actions
        ),
        "| figure | no key | with key | with/without | target (with key) |".to_string(),
        "|---|---|---|---|---|".to_string(),
    ];
    let timed: [(&str, f64, f64, &str); 6] = [
        (
            "log visit p50 (durable)",
            plain.log_visit_p50_ms,
            keyed.log_visit_p50_ms,
            "",
        ),
        (
            "log visit p99 (durable)",
            plain.log_visit_p99_ms,
            keyed.log_visit_p99_ms,
            "≤ 5 ms",
        ),
        ("cold open (median of 5)", p.open_ms, k.open_ms, "≤ 100 ms"),
        (
            "due visits query",
            p.due_visits_ms,
            k.due_visits_ms,
            "≤ 10 ms",
        ),
        (
            "open cases query",
            p.open_cases_ms,
            k.open_cases_ms,
            "≤ 10 ms",
        ),
        (
            "overdue cases query",
            p.overdue_cases_ms,
            k.overdue_cases_ms,
            "≤ 10 ms",
        ),
    ];
    for (name, a, b, target) in timed {
        out.push(row(name, ms(a), ms(b), ratio(b, a), target));
    }
    out.push(row(
        "resident memory after open + queries",
        format!("{:.1} MiB", p.rss_kib as f64 / 1024.0),
        format!("{:.1} MiB", k.rss_kib as f64 / 1024.0),
        ratio(k.rss_kib as f64, p.rss_kib as f64),
        "≤ 50 MiB",
    ));
    out.push(row(
        "disk",
        mib(plain.disk_bytes),
        mib(keyed.disk_bytes),
        ratio(keyed.disk_bytes as f64, plain.disk_bytes as f64),
        "",
    ));
    out.push(row(
        "disk against the records as stored (postcard)",
        format!("{:.2}x", plain.stored_disk_ratio),
        format!("{:.2}x", keyed.stored_disk_ratio),
        ratio(keyed.stored_disk_ratio, plain.stored_disk_ratio),
        "≤ 3x",
    ));
    out.push(row(
        "disk after loading, before the compacting reopen",
        mib(plain.disk_before_compaction),
        mib(keyed.disk_before_compaction),
        ratio(
            keyed.disk_before_compaction as f64,
            plain.disk_before_compaction as f64,
        ),
        "",
    ));
    out.push(row(
        "compacting reopen",
        format!("{:.0} ms", plain.compacting_open_ms),
        format!("{:.0} ms", keyed.compacting_open_ms),
        ratio(keyed.compacting_open_ms, plain.compacting_open_ms),
        "",
    ));
    out.push(format!(
        "due {} / open cases {} (both runs hold the same records: {})",
        p.due_count,
        p.open_count,
        p.due_count == k.due_count
            && p.open_count == k.open_count
            && plain.records == keyed.records
    ));
    out.join("\n")
}
