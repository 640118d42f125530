//! `gridsync-relay export` against the real binary: a scope's households, visits and cases
//! as CSV (through the running relay) and JSONL (from a stopped relay's store): row counts
//! equal the records the handset wrote, Python's `csv` module reads the files, and the
//! Chinese text comes back as written. The HTTP admin API's download
//! (`GET /api/export/{table}`) gives every table byte for byte as the CLI writes it, wants
//! the admin token, refuses bad requests with `400`, and is logged.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use gridsync_tests::netem::harness::{self, Phone, PhoneOptions};
use gridsync_tests::ops_client::{Answer, OpsClient};
use gridsync_tests::relay_process::{ProcessOptions, RelayProcess, relay_binary};
use gridsync_tests::workload::{GridSpec, Workload};

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
    csv_holds_every_record(&csv_dir, &w);
    let timeline = python_rows(&csv_dir.join("case_timeline.csv"));
    assert_eq!(
        timeline.len() as u64,
        counts["timeline_entries"].as_u64().unwrap()
    );
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

/// Every table of each format, as the CLI writes them.
const TABLES: [(&str, &[&str]); 2] = [
    (
        "csv",
        &[
            "households",
            "tier_changes",
            "visits",
            "cases",
            "case_timeline",
        ],
    ),
    ("jsonl", &["households", "visits", "cases"]),
];

/// A relay with the HTTP listener and its log in a file, a handset's workload synced
/// into it; the relay, the workload and an admin client.
async fn seeded(exe: &Path, data: &Path) -> (RelayProcess, Workload, OpsClient) {
    let token = RelayProcess::enroll_with(exe, data, "writer", &[GRID]).unwrap();
    let admin_token = RelayProcess::admin_token_with(exe, data).unwrap();
    let options = ProcessOptions {
        log_to_file: true,
        log_filter: "info",
        ..ProcessOptions::default()
    };
    let relay = RelayProcess::spawn(exe, data, options).unwrap();
    let phone = Phone::in_memory("writer", relay.target(&token), PhoneOptions::default()).unwrap();
    // Enough visits that their table spans several chunks of the download.
    let w = harness::small_workload(23, GridSpec::rural_dongmu(), 40, 400, 30);
    let changes = harness::load_into(&phone, &w).unwrap();
    assert_eq!(
        phone.client.sync_once().await.unwrap().acknowledged,
        changes
    );
    let admin = OpsClient::new(relay.http.unwrap()).with_token(&admin_token);
    (relay, w, admin)
}

/// `GET /api/export/{table}?scope=SCOPE&format=F` (the scope's slashes percent-encoded,
/// as a client's URL encoder would).
fn download(client: &OpsClient, table: &str, format: &str) -> Answer {
    let scope = SCOPE.replace('/', "%2F");
    client
        .get(&format!(
            "/api/export/{table}?scope={scope}&format={format}"
        ))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_download_is_the_cli_export_byte_for_byte() {
    let exe = relay_binary().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("relay");
    let (relay, w, admin) = seeded(&exe, &data).await;
    let got = tmp.path().join("downloaded");
    std::fs::create_dir_all(&got).unwrap();
    for (format, tables) in TABLES {
        let cli = tmp.path().join(format!("cli-{format}"));
        let counts = export(&exe, &data, format, &cli);
        for table in tables {
            let file = format!("{table}.{format}");
            let a = download(&admin, table, format);
            assert_eq!(a.status, 200, "{file}: {}", a.body);
            let content_type = match format {
                "csv" => "text/csv; charset=utf-8",
                _ => "application/x-ndjson",
            };
            assert_eq!(a.header("content-type"), Some(content_type), "{file}");
            let disposition = format!("attachment; filename=\"{file}\"");
            assert_eq!(a.header("content-disposition"), Some(disposition.as_str()));
            let written = std::fs::read_to_string(cli.join(&file)).unwrap();
            assert!(
                a.body == written,
                "{file}: the download is not the CLI's file"
            );
            std::fs::write(got.join(&file), &a.body).unwrap();
        }
        assert_eq!(counts["visits"], w.visits.len());
    }
    let visits = std::fs::metadata(got.join("visits.csv")).unwrap().len();
    assert!(
        visits > 64 * 1024,
        "visits.csv is one chunk ({visits} bytes)"
    );
    downloads_hold_every_record(&got, &w);
    bad_downloads_are_refused(&admin);
    let log = std::fs::read_to_string(relay.log.as_ref().unwrap()).unwrap();
    let exports: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("gridsync_relay::admin") && l.contains("action=\"export\""))
        .filter(|l| l.contains("via=\"http\""))
        .collect();
    let done = exports
        .iter()
        .filter(|l| l.contains("admin action"))
        .count();
    let expected = TABLES.iter().map(|(_, t)| t.len()).sum::<usize>();
    assert!(done >= expected, "{done} exports logged:\n{log}");
    assert!(
        exports.iter().any(|l| l.contains("admin action failed")),
        "the bad downloads are not logged:\n{log}"
    );
}

/// The downloaded files hold every record: Python's `csv` module reads the CSV tables,
/// the JSONL tables have a line per record, and the Chinese text is as written.
fn downloads_hold_every_record(dir: &Path, w: &Workload) {
    csv_holds_every_record(dir, w);
    for (file, records) in [
        ("households.jsonl", w.households.len()),
        ("visits.jsonl", w.visits.len()),
        ("cases.jsonl", w.cases.len()),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        for line in text.lines() {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
        assert_eq!(text.lines().count(), records, "{file}");
    }
}

/// Python's `csv` module reads the CSV tables in `dir`: a row per household, visit and
/// case, the heads and notes as written (Chinese among them), a case timeline.
fn csv_holds_every_record(dir: &Path, w: &Workload) {
    let households = python_rows(&dir.join("households.csv"));
    assert_eq!(households.len(), w.households.len());
    let mut heads: Vec<&str> = households
        .iter()
        .map(|h| h["head"].as_str().unwrap())
        .collect();
    let mut wrote: Vec<&str> = w.households.iter().map(|h| h.head.as_str()).collect();
    heads.sort_unstable();
    wrote.sort_unstable();
    assert_eq!(heads, wrote, "household heads did not round-trip");
    let visits = python_rows(&dir.join("visits.csv"));
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
    assert_eq!(python_rows(&dir.join("cases.csv")).len(), w.cases.len());
    assert!(!python_rows(&dir.join("case_timeline.csv")).is_empty());
}

/// Without the admin token `401`; a table, scope, format or parameter that does not exist
/// `400` with the API's JSON error.
fn bad_downloads_are_refused(admin: &OpsClient) {
    let mut anonymous = admin.clone();
    anonymous.token = None;
    assert_eq!(download(&anonymous, "visits", "csv").status, 401);
    assert_eq!(
        download(&admin.with_token("gsa_wrong"), "visits", "csv").status,
        401
    );
    let scope = format!("scope={SCOPE}");
    for query in [
        format!("/api/export/people?{scope}"),
        format!("/api/export/visits?{scope}&format=xlsx"),
        format!("/api/export/tier_changes?{scope}&format=jsonl"),
        format!("/api/export/visits?{scope}&colour=red"),
        "/api/export/visits?scope=ankang/../x".to_string(),
        "/api/export/visits?scope=".to_string(),
        "/api/export/visits".to_string(),
    ] {
        let a = admin.get(&query).unwrap();
        assert_eq!(a.status, 400, "{query}: {}", a.body);
        let error = a.json().unwrap();
        assert_eq!(error["ok"], "error", "{query}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Who may not ask learns nothing, not even that the question was bad.
    assert_eq!(anonymous.get("/api/export/people").unwrap().status, 401);
}
