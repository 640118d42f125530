//! What a migration and an operator need beyond the [`Store`] trait: whether the
//! database holds a relay, emptying it, and `VACUUM ANALYZE`.
//!
//! [`Store`]: gridsync_core::store::Store

use gridsync_core::error::Result;

use super::{PgStore, pg_error};

impl PgStore {
    /// Runs statements that return nothing.
    pub(super) fn execute(&self, sql: &'static str) -> Result<()> {
        self.exec(move |pool| async move {
            let client = pool.get().await.map_err(pg_error)?;
            client.batch_execute(sql).await.map_err(pg_error)
        })
    }

    /// True when the database holds no relay state (a migration's target must).
    pub fn is_empty(&self) -> Result<bool> {
        self.exec(move |pool| async move {
            let client = pool.get().await.map_err(pg_error)?;
            let row = client
                .query_opt("SELECT 1 FROM gridsync_kv LIMIT 1", &[])
                .await
                .map_err(pg_error)?;
            Ok(row.is_none())
        })
    }

    /// Removes every row of the relay's state (a failed migration's part-copy).
    pub fn clear(&self) -> Result<()> {
        self.execute("DELETE FROM gridsync_kv")
    }

    /// `VACUUM ANALYZE` of the relay's table: what autovacuum does in time, at once (after
    /// a bulk load such as a migration or a mass enrollment).
    pub fn vacuum_analyze(&self) -> Result<()> {
        self.execute("VACUUM ANALYZE gridsync_kv")
    }

    /// The database, without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}
