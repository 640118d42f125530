//! Benchmarks behind `gridsync-bench`: each scenario returns figures that the binary
//! prints as a table or JSON. Figures go to `BENCHMARKS.md` with the command.

pub mod city;
pub mod city_plan;
pub mod coverage;
pub mod granularity;
pub mod nodes;
pub mod records;
pub mod scrape;
pub mod store;
pub mod store_report;
pub mod sync;
