//! gridsync-tests: the harness around the product: data, loading, benchmarks.
//!
//! # Layout
//! - [`workload`]: seeded, deterministic generator of realistic grid data (households,
//!   visits, cases, deliberate concurrent edits) for tests and benchmarks.
//! - [`load`]: loads a workload into a replica through the public API.
//! - [`relay`]: a real relay in-process (chosen port, idle timeout, limits; restartable)
//!   and handsets enrolled on it.
//! - [`relay_process`]: the relay as a separate process (CPU and memory, SIGKILL, restart).
//! - [`bench`]: the scenarios of the `gridsync-bench` binary.
//! - [`netem`]: a seeded user-space link emulator (loss, delay, bandwidth, outages), the fault-test harness and fuzz targets.

pub mod bench;
pub mod load;
pub mod netem;
pub mod relay;
pub mod relay_process;
pub mod workload;
