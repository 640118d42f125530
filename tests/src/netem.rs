//! A link emulator for fault tests: `tc netem` in user space (the kernel here has none).
//!
//! [`LinkEmulator`] is a UDP relay on 127.0.0.1 that sits between handsets and the relay
//! server. Handsets send to [`LinkEmulator::addr`] (use [`LinkEmulator::via`] on a
//! [`RelayTarget`](gridsync_core::net::RelayTarget)); it forwards to the relay and back,
//! with one upstream socket per handset address, so several handsets share one emulator
//! and each gets its own link. Per direction, a [`LinkProfile`] sets loss, latency and
//! jitter, a bandwidth cap (token bucket, queueing delay, finite queue with tail drop),
//! reordering and duplication; [`Outages`] take every link down on a schedule, and
//! [`LinkEmulator::cut`] / [`LinkEmulator::restore`] do it on demand. Every random draw
//! comes from a `ChaCha8Rng` seeded from one seed ([`seed_from_env`] reads `NETEM_SEED`),
//! so a failure can be replayed; [`LinkEmulator::counters`] says what happened.
//!
//! ```no_run
//! # async fn f(relay: std::net::SocketAddr) -> std::io::Result<()> {
//! use gridsync_tests::netem::{LinkEmulator, LinkProfile};
//! let emu = LinkEmulator::start(relay, LinkProfile::parse("mountain@0.1").unwrap(), 7).await?;
//! // handsets connect to emu.addr() ...
//! emu.cut();
//! emu.restore();
//! eprintln!("{}", emu.counters());
//! # Ok(()) }
//! ```
//!
//! [`harness`] holds what the fault tests share besides the relays ([`crate::relay`] and
//! [`crate::relay_process`]): handsets and convergence checks. [`fuzz`] holds the targets
//! of the `fuzz_*` tests (frames, changes, snapshots and stored documents) and replays
//! crashers from `tests/fixtures/crashers/`.

mod emulator;
pub mod fuzz;
pub mod harness;
mod profile;
mod shaper;
#[cfg(test)]
mod tests;

pub use emulator::{Counters, DirStats, Direction, LinkEmulator, seed_from_env};
pub use profile::{LinkProfile, Outages, PROFILE_NAMES};
pub use shaper::{DropReason, Fate, Shaper};
