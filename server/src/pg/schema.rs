//! Versioned schema migrations, run at every start: each applies once, in its own
//! transaction, recorded in `gridsync_schema`. Nodes starting together take turns on a
//! lock of that table. A database whose schema is newer than this build is refused.

use deadpool_postgres::Pool;
use gridsync_core::error::{Error, Result};

use super::pg_error;

/// One migration: its version, what it does, its SQL.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Applied in this order; never reused.
    pub version: i32,
    /// For `gridsync_schema` and the log.
    pub description: &'static str,
    /// The statements.
    pub sql: &'static str,
}

/// Every migration this build knows, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "the relay's ordered key-value trees",
        sql: "CREATE TABLE gridsync_kv (\
                  tree text NOT NULL, \
                  key bytea NOT NULL, \
                  value bytea NOT NULL, \
                  PRIMARY KEY (tree, key))",
    },
    Migration {
        version: 2,
        description: "the row relay nodes lock to take turns writing",
        sql: "CREATE TABLE gridsync_locks (name text PRIMARY KEY); \
              INSERT INTO gridsync_locks (name) VALUES ('writers')",
    },
];

/// The schema version this build brings a database to.
pub const SCHEMA_VERSION: i32 = 2;

/// Brings the database (in `schema`, created when missing) up to [`SCHEMA_VERSION`].
pub(super) async fn migrate(pool: &Pool, schema: Option<&str>) -> Result<()> {
    let mut client = pool.get().await.map_err(pg_error)?;
    if let Some(schema) = schema {
        // The name was checked (lowercase letters, digits, _).
        let sql = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
        if let Err(e) = client.batch_execute(&sql).await {
            // Two nodes creating it at once: one of them wins, which is all we need.
            tracing::debug!(error = %e, "creating the schema");
        }
    }
    let create = "CREATE TABLE IF NOT EXISTS gridsync_schema (\
                      version integer PRIMARY KEY, \
                      description text NOT NULL, \
                      applied_at timestamptz NOT NULL DEFAULT now())";
    if client.batch_execute(create).await.is_err() {
        // A concurrent CREATE TABLE IF NOT EXISTS can fail on the catalog: try once more.
        client.batch_execute(create).await.map_err(pg_error)?;
    }
    let tx = client.transaction().await.map_err(pg_error)?;
    tx.batch_execute("LOCK TABLE gridsync_schema IN EXCLUSIVE MODE")
        .await
        .map_err(pg_error)?;
    let row = tx
        .query_one("SELECT coalesce(max(version), 0) FROM gridsync_schema", &[])
        .await
        .map_err(pg_error)?;
    let current: i32 = row.get(0);
    if current > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found: u32::try_from(current).unwrap_or(u32::MAX),
            supported: SCHEMA_VERSION as u32,
        });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.batch_execute(m.sql).await.map_err(pg_error)?;
        tx.execute(
            "INSERT INTO gridsync_schema (version, description) VALUES ($1, $2)",
            &[&m.version, &m.description],
        )
        .await
        .map_err(pg_error)?;
        tracing::info!(
            version = m.version,
            what = m.description,
            "schema migration applied"
        );
    }
    tx.commit().await.map_err(pg_error)
}
