//! Relay configuration: defaults, overridden by a TOML file, overridden by environment
//! variables and flags (`gridsync-relay serve --help` lists them).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Context, Result};

/// The operations listener's default port (on loopback).
pub const DEFAULT_HTTP_PORT: u16 = 4480;

/// Everything `gridsync-relay serve` needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelayConfig {
    /// UDP address to listen on.
    pub listen: SocketAddr,
    /// Where the store, the certificate and the admin socket live.
    pub data_dir: PathBuf,
    /// Connections served at once.
    pub max_connections: usize,
    /// Seconds of silence before a connection is dropped.
    pub idle_timeout_secs: u64,
    /// A CA-signed certificate chain (PEM) to use instead of the self-signed one.
    pub tls_cert: Option<PathBuf>,
    /// The key of `tls_cert` (PEM).
    pub tls_key: Option<PathBuf>,
    /// Log filter (`info`, `gridsync_server=debug`, ...).
    pub log: String,
    /// sled page cache in MiB.
    pub cache_mib: u64,
    /// TCP address of the operations listener (metrics, health, admin API), or `off`.
    pub http: HttpListen,
    /// Log lines as text (for people) or JSON (for log shippers).
    pub log_format: LogFormat,
    /// Hours an active device may go unseen before `device list` flags it stuck.
    pub stuck_after_hours: u64,
    /// Failed logins a source address may make per minute (10 at once) before it is
    /// refused for a minute; 0 turns the limit off (handsets behind one carrier NAT share
    /// an address: raise it there).
    pub failed_logins_per_minute: u32,
    /// Where the relay keeps its state: unset for the embedded sled store in the data
    /// directory, or a `postgres://` URL for PostgreSQL, which any number of relay nodes
    /// may share (`docs/SCALING.md`).
    pub store: Option<String>,
}

/// Where the operations listener listens: an address, or nowhere (`off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HttpListen(pub Option<SocketAddr>);

impl std::str::FromStr for HttpListen {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim() {
            "off" => Ok(HttpListen(None)),
            addr => addr.parse().map(|a| HttpListen(Some(a))).map_err(|e| {
                format!("{addr:?} is not an address like 127.0.0.1:4480 (or `off`): {e}")
            }),
        }
    }
}

impl TryFrom<String> for HttpListen {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        s.parse()
    }
}

impl From<HttpListen> for String {
    fn from(h: HttpListen) -> String {
        h.0.map_or_else(|| "off".to_string(), |a| a.to_string())
    }
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One line of text per event (no colour unless stderr is a terminal).
    Text,
    /// One JSON object per event, for log shippers.
    Json,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 4433)),
            data_dir: PathBuf::from("gridsync-relay-data"),
            max_connections: 1024,
            idle_timeout_secs: 60,
            tls_cert: None,
            tls_key: None,
            log: "info".into(),
            cache_mib: 64,
            http: HttpListen(Some(SocketAddr::from(([127, 0, 0, 1], DEFAULT_HTTP_PORT)))),
            log_format: LogFormat::Text,
            stuck_after_hours: 72,
            failed_logins_per_minute: 10,
            store: None,
        }
    }
}

impl RelayConfig {
    /// Reads a TOML file over the defaults; unknown keys are an error naming the key.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let config: RelayConfig =
            toml::from_str(&text).with_context(|| format!("in {}", path.display()))?;
        config.check_store()?;
        Ok(config)
    }

    /// Refuses a `store` that is neither unset nor a PostgreSQL URL.
    pub fn check_store(&self) -> Result<()> {
        match &self.store {
            Some(s) if !crate::pg::PgTarget::is_postgres(s) => {
                Err(crate::RelayError::Core(gridsync_core::Error::invalid(
                    "store",
                    format!(
                        "{:?} is not a postgres:// URL (leave it unset for the embedded sled \
                         store in the data directory)",
                        crate::pg::without_password(s)
                    ),
                )))
            }
            _ => Ok(()),
        }
    }

    /// The PostgreSQL database the relay keeps its state in, if configured.
    pub fn postgres(&self) -> Option<crate::pg::PgTarget> {
        self.store.as_deref().map(crate::pg::PgTarget::new)
    }
}

/// What a data directory holds, as device administration sees it: `serve` makes the
/// store (`store/`) and the certificate there, so either marks a relay's directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataDir {
    /// No such directory (a misspelled `--data-dir`, or the default where no relay ran).
    Missing,
    /// An empty directory: made for a relay that has not started yet.
    Empty,
    /// A relay's store or certificate is there (the relay may be running or stopped).
    Relay,
    /// Something else: files that are not a relay's (or not a directory at all).
    Foreign,
}

/// Names of the files `serve` leaves in its data directory that mark it as a relay's.
pub const RELAY_MARKERS: [&str; 4] = ["store", "relay-cert.der", "admin.sock", "postgres-store"];

impl DataDir {
    /// Looks at `dir` without creating or changing anything.
    pub fn inspect(dir: &Path) -> DataDir {
        if !dir.exists() {
            return DataDir::Missing;
        }
        let Ok(mut entries) = std::fs::read_dir(dir) else {
            return DataDir::Foreign;
        };
        if RELAY_MARKERS.iter().any(|m| dir.join(m).exists()) {
            DataDir::Relay
        } else if entries.next().is_none() {
            DataDir::Empty
        } else {
            DataDir::Foreign
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overrides_defaults_and_unknown_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("relay.toml");
        std::fs::write(&p, "listen = \"127.0.0.1:9000\"\nmax_connections = 5\n").unwrap();
        let c = RelayConfig::from_file(&p).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.max_connections, 5);
        assert_eq!(c.idle_timeout_secs, 60);
        assert_eq!(c.http.0.map(|a| a.port()), Some(DEFAULT_HTTP_PORT));
        std::fs::write(&p, "http = \"off\"\nlog_format = \"json\"\n").unwrap();
        let c = RelayConfig::from_file(&p).unwrap();
        assert_eq!((c.http, c.log_format), (HttpListen(None), LogFormat::Json));
        std::fs::write(&p, "http = \"localhost\"\n").unwrap();
        let e = RelayConfig::from_file(&p).unwrap_err().to_string();
        assert!(e.contains("not an address"), "{e}");
        std::fs::write(&p, "store = \"postgres://relay@db/gridsync\"\n").unwrap();
        let c = RelayConfig::from_file(&p).unwrap();
        assert_eq!(
            c.postgres().map(|t| t.url),
            Some("postgres://relay@db/gridsync".into())
        );
        std::fs::write(&p, "store = \"/srv/relay\"\n").unwrap();
        let e = RelayConfig::from_file(&p).unwrap_err().to_string();
        assert!(e.contains("not a postgres:// URL"), "{e}");
        std::fs::write(&p, "max_conections = 5\n").unwrap();
        let e = RelayConfig::from_file(&p).unwrap_err().to_string();
        assert!(e.contains("max_conections"), "{e}");
    }

    #[test]
    fn a_data_dir_is_missing_empty_a_relays_or_foreign() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("relay");
        assert_eq!(DataDir::inspect(&d), DataDir::Missing);
        assert!(!d.exists(), "inspecting created the directory");
        std::fs::create_dir(&d).unwrap();
        assert_eq!(DataDir::inspect(&d), DataDir::Empty);
        std::fs::write(d.join("notes.txt"), "x").unwrap();
        assert_eq!(DataDir::inspect(&d), DataDir::Foreign);
        std::fs::create_dir(d.join("store")).unwrap();
        assert_eq!(DataDir::inspect(&d), DataDir::Relay);
        assert_eq!(DataDir::inspect(&d.join("notes.txt")), DataDir::Foreign);
    }
}
