//! gridsync-tests: the harness around the product: data, loading, benchmarks.
//!
//! # Layout
//! - [`workload`]: seeded, deterministic generator of realistic grid data (households,
//!   visits, cases, deliberate concurrent edits) for tests and benchmarks.
//! - [`load`]: loads a workload into a replica through the public API.
//! - [`relay`]: a real relay in-process (chosen port, idle timeout, limits; restartable)
//!   and handsets enrolled on it.
//! - [`attack`]: attacks on the relay before login (never-Hello connections, stream
//!   floods, compression bombs, failed logins), for the pre-authentication tests and
//!   benchmark.
//! - [`raw_client`]: a hostile handset speaking the wire protocol directly (pushes and
//!   pulls the product's client would never send).
//! - [`forge`]: change bytes a hostile handset pushes (records made by a store with no
//!   identity, case actions written straight into a document).
//! - [`relay_process`]: the relay as a separate process (CPU and memory, SIGKILL, restart).
//! - [`ops_client`]: HTTP client for the relay's operations listener (metrics, admin API).
//! - [`pg`]: the PostgreSQL server the tests use (`GRIDSYNC_TEST_PG`), a fresh schema each.
//! - [`bench`]: the scenarios of the `gridsync-bench` binary.
//! - [`netem`]: a seeded user-space link emulator (loss, delay, bandwidth, outages), the fault-test harness and fuzz targets.

pub mod attack;
pub mod bench;
pub mod forge;
pub mod load;
pub mod netem;
pub mod ops_client;
pub mod pg;
pub mod raw_client;
pub mod relay;
pub mod relay_process;
pub mod workload;
