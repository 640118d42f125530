//! gridsync relay: the server a county's handsets sync to over QUIC.
//!
//! # Layout
//! - [`hub`]: the relay's state over a `Store` (devices, change log, documents) and the
//!   `RelayBackend` the sans-IO session drives.
//! - [`conn`](crate::server): one connection's driver (private), [`server`]: accept loop,
//!   connection cap, graceful shutdown — `run(endpoint, hub, limits, shutdown)`.
//! - [`tls`]: the self-signed identity made on first start, or a CA-signed one.
//! - [`config`]: defaults, TOML file, environment and flags.
//! - [`admin`]: device administration (one `execute` for the Unix socket, the HTTP API
//!   and the offline CLI), every action logged.
//! - [`admin_token`]: the admin API's token, kept hashed in the data directory.
//! - [`http`]: the operations listener: `/metrics`, `/healthz`, `/readyz`, the JSON admin
//!   API behind the admin token, and the export's tables as downloads.
//! - [`console`]: the operator's web console at `/` on that listener (HTML, CSS and JS
//!   embedded from `src/console/`): devices, per-grid activity, revoking.
//! - [`backup`]: consistent backups while serving, and restores under a new log
//!   generation that tells handsets what the relay lost.
//! - [`export`]: households, visits and cases of a scope as CSV or JSONL files, or one
//!   table into any writer (the HTTP download).
//! - [`metrics`]: the Prometheus metrics, bounded labels.
//! - [`login_limit`]: sources that fail to log in too often are refused for a while.
//! - [`error`]: the library's error type.
//! - [`perms`]: the data directory kept owner-only.
//! - [`pg`]: the relay's state in PostgreSQL, which any number of relay nodes share.
//! - [`migrate`]: a stopped sled relay copied into PostgreSQL, sequence numbers kept.
//!
//! The binary `gridsync-relay` (`src/bin/gridsync-relay/`: `main.rs` the commands,
//! `serve.rs` the running relay, `device.rs` device administration) wires these together.

pub mod admin;
pub mod admin_token;
pub mod backup;
pub mod config;
mod conn;
pub mod console;
pub mod error;
pub mod export;
pub mod http;
pub mod hub;
pub mod login_limit;
pub mod metrics;
pub mod migrate;
pub mod perms;
pub mod pg;
pub mod server;
pub mod tls;

pub use config::RelayConfig;
pub use error::{RelayError, Result};
pub use hub::Hub;
pub use server::{Limits, bind, run};

use std::path::Path;
use std::sync::Arc;

use gridsync_core::store::{SledOptions, SledStore};

/// The directory of the relay's store inside its data directory.
pub const STORE_DIR: &str = "store";

/// How the relay opens its sled store (`cache_mib` of cache).
pub fn store_options(cache_mib: u64) -> SledOptions {
    SledOptions {
        cache_bytes: cache_mib << 20,
        // The hub flushes itself: once per group of concurrent pushes.
        flush_every_commit: false,
        compact_over_bytes: 256 << 20,
        high_throughput: true,
        // Ingest throughput first; the relay's disk is not a phone's.
        compression: 0,
        dictionary_trees: Vec::new(),
        // The relay's data directory is protected by the operator (docs/OPERATIONS.md).
        key: None,
    }
}

/// Opens the relay's hub as configured: on PostgreSQL when `config.store` names a
/// database (shared with any other relay nodes on it), else on sled in the data directory
/// (`cache_mib` of page cache).
pub fn open_configured_hub(config: &RelayConfig, cache_mib: u64) -> Result<Hub> {
    let marker = config.data_dir.join(POSTGRES_MARKER);
    match config.postgres() {
        Some(target) => {
            let hub = open_pg_hub(&target, &config.data_dir)?;
            mark_postgres(&config.data_dir, &pg::without_password(&target.url))?;
            Ok(hub)
        }
        // Opening sled here would start an empty relay beside the real one.
        None if marker.exists() => {
            let at = std::fs::read_to_string(&marker).unwrap_or_default();
            Err(RelayError::Core(gridsync_core::Error::invalid(
                "store",
                format!(
                    "{} is the data directory of a relay on PostgreSQL ({}): pass --store \
                     (or GRIDSYNC_RELAY_STORE, or `store` in the config file)",
                    config.data_dir.display(),
                    at.trim()
                ),
            )))
        }
        None => open_hub(&config.data_dir, cache_mib),
    }
}

/// Writes the data directory's [`POSTGRES_MARKER`] naming the database (`shown`: without
/// its password).
pub fn mark_postgres(data_dir: &Path, shown: &str) -> Result<()> {
    let marker = data_dir.join(POSTGRES_MARKER);
    std::fs::write(&marker, format!("{shown}\n"))
        .map_err(|e| RelayError::Setup(format!("writing {}: {e}", marker.display())))
}

/// The file in a data directory that says the relay's state is in PostgreSQL (its URL
/// without password): commands run there without `--store` are refused instead of
/// opening an empty sled store beside it.
pub const POSTGRES_MARKER: &str = "postgres-store";

/// Opens the relay's hub on a PostgreSQL database other nodes may share; `data_dir` holds
/// the certificate and the admin socket as with sled.
pub fn open_pg_hub(target: &pg::PgTarget, data_dir: &Path) -> Result<Hub> {
    let store = pg::open_store(target)?;
    Ok(Hub::open(store)?
        .with_data_dir(data_dir)
        .with_shared_store())
}

/// Opens the relay's sled store in `data_dir/store`.
pub fn open_hub(data_dir: &Path, cache_mib: u64) -> Result<Hub> {
    let store = SledStore::open(&data_dir.join(STORE_DIR), store_options(cache_mib))?;
    let hub = Hub::open(Arc::new(store))?.with_data_dir(data_dir);
    perms::restrict(data_dir)?;
    Ok(hub)
}
