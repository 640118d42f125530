//! The relay's log, written to a file (a service manager, `2> relay.log`), is plain text:
//! no ANSI colour codes, which a terminal would show as colour and a file as garbage.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use gridsync_tests::relay_process::{ProcessOptions, RelayProcess, relay_binary};

#[test]
fn a_relay_logging_to_a_file_writes_no_colour_codes() {
    let exe = relay_binary().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Info, so the log holds the start and the stop lines.
    let options = ProcessOptions {
        log_filter: "info",
        ..ProcessOptions::for_faults(30)
    };
    let mut relay = RelayProcess::spawn(&exe, &dir.path().join("relay"), options).unwrap();
    let path = relay.log.clone().unwrap();
    let serving =
        || String::from_utf8_lossy(&std::fs::read(&path).unwrap()).contains("relay serving");
    let started = std::time::Instant::now();
    while !serving() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    relay.terminate(Duration::from_secs(10)).unwrap();
    let log = std::fs::read(&path).unwrap();
    let text = String::from_utf8_lossy(&log);
    assert!(
        text.contains("relay serving") && text.contains("relay stopped"),
        "the log holds the start and the stop: {text}"
    );
    assert!(!log.contains(&0x1b), "colour codes in a log file: {text:?}");
}
