//! `gridsync-relay export` against the real binary: a scope's households, visits and cases
//! as CSV (through the running relay) and JSONL (from a stopped relay's store): row counts
//! equal the records the handset wrote, Python's `csv` module reads the files, and the
//! Chinese text comes back as written.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use gridsync_tests::netem::harness::{self, Phone, PhoneOptions};
use gridsync_tests::relay_process::{ProcessOptions, RelayProcess, relay_binary};
use gridsync_tests::workload::GridSpec;

const GRID: &str = "ankang/ziyang/haoping/dongmu/g02";
const SCOPE: &str = "ankang/ziyang/haoping/dongmu";

fn export(exe: &Path, data: &Path, format: &str, out: &Path) -> serde_json::Value {
    let o = Command::new(exe)
        .arg("--data-dir")
        .arg(data)
        .args([
            "--json", "export", "--scope", SCOPE, "--format", format, "--out",
        ])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Reads `file` with Python's csv module: the rows as JSON objects.
fn python_rows(file: &Path) -> Vec<serde_json::Value> {
    let script = "import csv, json, sys\nwith open(sys.argv[1], newline='', encoding='utf-8') as f:\n    print(json.dumps(list(csv.DictReader(f)), ensure_ascii=False))";
    let o = Command::new("python3")
        .args(["-c", script])
        .arg(file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice::<Vec<serde_json::Value>>(&o.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_has_every_record_and_python_reads_it() {
    let exe = relay_binary().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("relay");
    let token = RelayProcess::enroll_with(&exe, &data, "writer", &[GRID]).unwrap();
    let mut relay = RelayProcess::spawn(&exe, &data, ProcessOptions::default()).unwrap();
    let phone = Phone::in_memory("writer", relay.target(&token), PhoneOptions::default()).unwrap();
    let w = harness::small_workload(11, GridSpec::rural_dongmu(), 12, 40, 6);
    let changes = harness::load_into(&phone, &w).unwrap();
    assert_eq!(
        phone.client.sync_once().await.unwrap().acknowledged,
        changes
    );

    // CSV through the running relay.
    let csv_dir = tmp.path().join("csv");
    let counts = export(&exe, &data, "csv", &csv_dir);
    assert_eq!(counts["households"], w.households.len());
    assert_eq!(counts["visits"], w.visits.len());
    assert_eq!(counts["cases"], w.cases.len());
    let households = python_rows(&csv_dir.join("households.csv"));
    assert_eq!(households.len(), w.households.len());
    let mut heads: Vec<&str> = households
        .iter()
        .map(|h| h["head"].as_str().unwrap())
        .collect();
    let mut wrote: Vec<&str> = w.households.iter().map(|h| h.head.as_str()).collect();
    heads.sort_unstable();
    wrote.sort_unstable();
    assert_eq!(heads, wrote, "household heads did not round-trip");
    let visits = python_rows(&csv_dir.join("visits.csv"));
    assert_eq!(visits.len(), w.visits.len());
    let mut notes: Vec<&str> = visits
        .iter()
        .map(|v| v["notes"].as_str().unwrap())
        .collect();
    let mut wrote: Vec<&str> = w.visits.iter().map(|v| v.notes.as_str()).collect();
    notes.sort_unstable();
    wrote.sort_unstable();
    assert_eq!(notes, wrote, "visit notes did not round-trip");
    assert!(
        notes
            .iter()
            .any(|n| n.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))),
        "no Chinese text in the notes"
    );
    let timeline = python_rows(&csv_dir.join("case_timeline.csv"));
    assert_eq!(
        timeline.len() as u64,
        counts["timeline_entries"].as_u64().unwrap()
    );
    assert!(!timeline.is_empty());
    assert_eq!(python_rows(&csv_dir.join("cases.csv")).len(), w.cases.len());
    let leftovers: Vec<_> = std::fs::read_dir(&csv_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // JSONL from the stopped relay's store: the same counts, one record a line.
    relay.terminate(std::time::Duration::from_secs(15)).unwrap();
    let jsonl_dir = tmp.path().join("jsonl");
    let again = export(&exe, &data, "jsonl", &jsonl_dir);
    assert_eq!(again["households"], counts["households"]);
    assert_eq!(again["visits"], counts["visits"]);
    assert_eq!(again["cases"], counts["cases"]);
    let lines = std::fs::read_to_string(jsonl_dir.join("visits.jsonl")).unwrap();
    for line in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["record"]["notes"].is_string(), "{line}");
    }
    assert_eq!(lines.lines().count(), w.visits.len());
}
