//! gridsync-tests: the harness around the product: data, loading, benchmarks.
//!
//! # Layout
//! - [`workload`]: seeded, deterministic generator of realistic grid data (households,
//!   visits, cases, deliberate concurrent edits) for tests and benchmarks.
//! - [`load`]: loads a workload into a replica through the public API.
//! - [`relay`]: a real relay in-process on 127.0.0.1:0 and handsets enrolled on it.
//! - [`bench`]: the scenarios of the `gridsync-bench` binary.

pub mod bench;
pub mod load;
pub mod relay;
pub mod workload;
