//! The relay's state in PostgreSQL: a [`Store`] over one table, so the hub, the admin
//! commands, the export and the console run unchanged on a database that any number of
//! relay nodes share (issue 17, `docs/SCALING.md`, ADR 0016).
//!
//! ```text
//! gridsync_schema  version → description, applied_at      (migrations applied: schema.rs)
//! gridsync_kv      (tree, key) → value                    (the hub's trees, as in sled)
//! ```
//!
//! Every commit is one transaction, durable when `COMMIT` returns. A commit with
//! expectations ([`Batch::expect`]) first locks the rows it expects (`SELECT … FOR
//! UPDATE`, or inserts a placeholder for a key expected absent, which a concurrent writer
//! then waits on) and compares them: the hub expects the log head it numbered a push
//! from, so pushes from all nodes serialise on that one row and their sequence numbers are
//! dense and in commit order. Only SQL that PostgreSQL-compatible databases share: no
//! LISTEN/NOTIFY, no SERIALIZABLE, no advisory locks.
//!
//! The [`Store`] trait is synchronous (the hub runs under `block_in_place`); the store
//! runs the pool's connections on a small runtime of its own and waits on each query from
//! the calling thread, so it works from any thread, inside a runtime or not.

mod commit;
mod lock;
mod maintain;
mod schema;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use gridsync_core::error::{Error, Result};
use gridsync_core::store::{Batch, Scan, Store};

pub use schema::{MIGRATIONS, SCHEMA_VERSION};

pub use lock::LOCK_WAIT;

/// Connections the pool keeps to the database at most.
pub const POOL_SIZE: usize = 16;

/// Where a relay's PostgreSQL store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTarget {
    /// A `postgres://` URL (or key=value string) tokio-postgres understands.
    pub url: String,
    /// A schema to keep the tables in (created when missing); `None`: the connection's
    /// default (`public`). Tests give each store a schema of its own.
    pub schema: Option<String>,
}

impl PgTarget {
    /// The target for `url`, in the default schema.
    pub fn new(url: impl Into<String>) -> Self {
        PgTarget {
            url: url.into(),
            schema: None,
        }
    }

    /// True when `store` names a PostgreSQL database rather than a directory.
    pub fn is_postgres(store: &str) -> bool {
        store.starts_with("postgres://") || store.starts_with("postgresql://")
    }
}

/// The relay's store in PostgreSQL. Cheap to share behind an `Arc`.
pub struct PgStore {
    /// Taken only by `Drop`.
    runtime: Option<tokio::runtime::Runtime>,
    pool: Pool,
    erased: AtomicBool,
    /// The URL without its password, for messages.
    shown: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("database", &self.shown)
            .finish_non_exhaustive()
    }
}

/// `url` with any password replaced by `***`.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((user, host)) if user.contains(':') => {
            let name = user.split(':').next().unwrap_or_default();
            format!("{scheme}://{name}:***@{host}")
        }
        _ => url.to_string(),
    }
}

/// A database or pool error as the core's storage failure, with the database's own words
/// (tokio-postgres says only "db error" at the top).
pub(crate) fn pg_error(e: impl std::error::Error) -> Error {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    Error::Storage(format!("PostgreSQL: {text}"))
}

impl PgStore {
    /// Connects to the database and brings its schema up to date ([`MIGRATIONS`]); fails
    /// with a clear error when the database is unreachable or its schema is newer than
    /// this build.
    pub fn open(target: &PgTarget) -> Result<Self> {
        let mut config: tokio_postgres::Config = target
            .url
            .parse()
            .map_err(|e| Error::invalid("store", format!("not a PostgreSQL URL: {e}")))?;
        config.application_name("gridsync-relay");
        // A node cut off from the network (not dead) must not hold the writers' turn for
        // the 2 hours of default keepalives: the database notices within about a minute.
        config.keepalives(true);
        config.keepalives_idle(std::time::Duration::from_secs(20));
        config.keepalives_interval(std::time::Duration::from_secs(10));
        config.keepalives_retries(3);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        if let Some(schema) = &target.schema {
            check_schema_name(schema)?;
            config.options(format!("-c search_path={schema}"));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("gridsync-pg")
            .enable_all()
            .build()
            .map_err(pg_error)?;
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(std::time::Duration::from_secs(10)))
            .wait_timeout(Some(std::time::Duration::from_secs(30)))
            .build()
            .map_err(pg_error)?;
        let store = PgStore {
            runtime: Some(runtime),
            pool,
            erased: AtomicBool::new(false),
            shown: without_password(&target.url),
        };
        let schema = target.schema.clone();
        store
            .exec(move |pool| async move { schema::migrate(&pool, schema.as_deref()).await })
            .map_err(|e| match e {
                Error::Storage(s) => Error::Storage(format!("{s} (database {})", store.shown)),
                other => other,
            })?;
        tracing::info!(database = %store.shown, "relay store on PostgreSQL");
        Ok(store)
    }

    /// Runs `f` on the store's runtime and waits for it from this thread.
    pub(crate) fn exec<T, Fut>(&self, f: impl FnOnce(Pool) -> Fut) -> Result<T>
    where
        T: Send + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        if self.erased.load(Ordering::Acquire) {
            return Err(Error::Erased {
                path: self.shown.clone(),
            });
        }
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let work = f(self.pool.clone());
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| Error::Storage("the PostgreSQL store is closed".into()))?;
        runtime.spawn(async move {
            let _ = tx.send(work.await);
        });
        rx.recv()
            .map_err(|_| Error::Storage("the PostgreSQL task ended early".into()))?
    }
}

impl Drop for PgStore {
    /// Closes the pool's connections without waiting: a store may be dropped on an async
    /// thread, where a runtime cannot block to shut down.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn check_schema_name(schema: &str) -> Result<()> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !schema.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "schema",
            format!("{schema:?}: use lowercase letters, digits and _"),
        ))
    }
}

impl Store for PgStore {
    fn get(&self, tree: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let key = key.to_vec();
        self.exec(move |pool| async move {
            let client = pool.get().await.map_err(pg_error)?;
            let st = client
                .prepare_cached("SELECT value FROM gridsync_kv WHERE tree = $1 AND key = $2")
                .await
                .map_err(pg_error)?;
            let row = client
                .query_opt(&st, &[&tree, &key])
                .await
                .map_err(pg_error)?;
            Ok(row.map(|r| r.get::<_, Vec<u8>>(0)))
        })
    }

    fn get_many(&self, tree: &'static str, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys = keys.to_vec();
        self.exec(move |pool| async move {
            let client = pool.get().await.map_err(pg_error)?;
            let st = client
                .prepare_cached(
                    "SELECT key, value FROM gridsync_kv WHERE tree = $1 AND key = ANY($2)",
                )
                .await
                .map_err(pg_error)?;
            let rows = client.query(&st, &[&tree, &keys]).await.map_err(pg_error)?;
            let found: std::collections::HashMap<Vec<u8>, Vec<u8>> = rows
                .into_iter()
                .map(|r| (r.get::<_, Vec<u8>>(0), r.get::<_, Vec<u8>>(1)))
                .collect();
            Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
        })
    }

    fn scan(&self, tree: &'static str, scan: Scan<'_>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let query = commit::ScanQuery::new(tree, &scan);
        self.exec(move |pool| async move {
            let client = pool.get().await.map_err(pg_error)?;
            query.run(&client).await
        })
    }

    fn commit(&self, batch: Batch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.exec(move |pool| async move {
            let mut client = pool.get().await.map_err(pg_error)?;
            commit::commit(&mut client, batch).await
        })
    }

    fn len(&self, tree: &'static str) -> Result<usize> {
        self.exec(move |pool| async move {
            let client = pool.get().await.map_err(pg_error)?;
            let row = client
                .query_one("SELECT count(*) FROM gridsync_kv WHERE tree = $1", &[&tree])
                .await
                .map_err(pg_error)?;
            Ok(usize::try_from(row.get::<_, i64>(0)).unwrap_or(0))
        })
    }

    fn size_on_disk(&self) -> Result<u64> {
        self.exec(move |pool| async move {
            let client = pool.get().await.map_err(pg_error)?;
            let row = client
                .query_one("SELECT pg_total_relation_size('gridsync_kv')", &[])
                .await
                .map_err(pg_error)?;
            Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
        })
    }

    /// Locks the `writers` row of `gridsync_locks` (`lock.rs`).
    fn lock_writers(&self) -> Result<gridsync_core::store::WritersLock> {
        lock::lock_writers(self)
    }

    /// Every commit is durable when it returns: nothing is left to flush.
    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn erase(&self) -> Result<()> {
        self.execute("DELETE FROM gridsync_kv")?;
        self.erased.store(true, Ordering::Release);
        Ok(())
    }
}

/// Opens a [`PgStore`] for the hub.
pub fn open_store(target: &PgTarget) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(PgStore::open(target)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            without_password("postgres://relay:s3cret@db.example/gridsync"),
            "postgres://relay:***@db.example/gridsync"
        );
        assert_eq!(
            without_password("postgres://relay@db/gridsync"),
            "postgres://relay@db/gridsync"
        );
    }

    #[test]
    fn schema_names_are_checked() {
        assert!(check_schema_name("t_0a9").is_ok());
        assert!(check_schema_name("x; drop table").is_err());
        assert!(check_schema_name("9lives").is_err());
    }
}
