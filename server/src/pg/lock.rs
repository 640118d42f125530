//! Nodes taking turns to write: a row lock on `gridsync_locks/writers`, held in a
//! transaction of its own from a push's first read to its commit ([`Store::lock_writers`]).
//! Without it pushes stay correct (the head expectation) but redo their work whenever
//! another node commits first.
//!
//! [`Store::lock_writers`]: gridsync_core::store::Store::lock_writers

use gridsync_core::error::{Error, Result};
use gridsync_core::store::WritersLock;

use super::{PgStore, pg_error};

/// How long a node waits for its turn to write before the push fails (and is pushed
/// again by the handset).
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Longest the database lets a node hold its turn without a word (a node frozen or cut
/// off): the database then ends the session and the turn passes on.
const HELD_AT_MOST: std::time::Duration = std::time::Duration::from_secs(60);

/// Locks the `writers` row of `gridsync_locks` in a transaction of its own, held
/// until the lock is dropped: nodes take turns building pushes instead of redoing
/// them after a conflict. A node that dies holding it loses its connection, and the
/// database releases the lock; waiting gives up after [`LOCK_WAIT`].
pub(super) fn lock_writers(store: &PgStore) -> Result<WritersLock> {
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    store.exec(move |pool| async move {
        let (acquired, taken) = tokio::sync::oneshot::channel::<Result<()>>();
        tokio::spawn(async move {
            let client = match pool.get().await {
                Ok(client) => client,
                Err(e) => {
                    let _ = acquired.send(Err(pg_error(e)));
                    return;
                }
            };
            // BEGIN in a simple query leaves the transaction open after it.
            let lock = format!(
                "BEGIN; SET LOCAL lock_timeout = '{}s'; \
                 SET LOCAL idle_in_transaction_session_timeout = '{}s'; \
                 SELECT name FROM gridsync_locks WHERE name = 'writers' FOR UPDATE",
                LOCK_WAIT.as_secs(),
                HELD_AT_MOST.as_secs()
            );
            match client.batch_execute(&lock).await {
                Ok(()) => {
                    let _ = acquired.send(Ok(()));
                    // Held until the guard is dropped (the sender with it).
                    let _ = released.await;
                }
                Err(e) => {
                    let _ = acquired.send(Err(pg_error(e)));
                }
            }
            let _ = client.batch_execute("ROLLBACK").await;
        });
        taken
            .await
            .map_err(|_| Error::Storage("the PostgreSQL lock task ended".into()))?
    })?;
    Ok(WritersLock::holding(release))
}
