//! A [`Batch`] as one transaction, and a [`Scan`] as one query.

use std::collections::BTreeMap;

use deadpool_postgres::{Client, GenericClient, Transaction};
use gridsync_core::error::{Error, Result};
use gridsync_core::store::{Batch, Expected, Op, Scan, prefix_end};

use super::pg_error;

/// A batch's last op per key, as the columns of one DELETE and one INSERT.
#[derive(Default)]
struct Writes {
    delete_trees: Vec<&'static str>,
    delete_keys: Vec<Vec<u8>>,
    put_trees: Vec<&'static str>,
    put_keys: Vec<Vec<u8>>,
    put_values: Vec<Vec<u8>>,
}

/// Applies `batch` in one transaction: its expectations checked under row locks first,
/// then its last op per key, in one DELETE and one INSERT over arrays (a round trip each,
/// however many trees and keys).
pub(super) async fn commit(client: &mut Client, batch: Batch) -> Result<()> {
    let tx = client.transaction().await.map_err(pg_error)?;
    let placeholders = check_expected(&tx, &batch.expected).await?;
    let w = group(batch.ops, placeholders);
    if !w.delete_keys.is_empty() {
        let st = tx
            .prepare_cached(
                "DELETE FROM gridsync_kv USING unnest($1::text[], $2::bytea[]) AS d(t, k) \
                 WHERE tree = d.t AND key = d.k",
            )
            .await
            .map_err(pg_error)?;
        tx.execute(&st, &[&w.delete_trees, &w.delete_keys])
            .await
            .map_err(pg_error)?;
    }
    if !w.put_keys.is_empty() {
        let st = tx
            .prepare_cached(
                "INSERT INTO gridsync_kv (tree, key, value) \
                 SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[]) \
                 ON CONFLICT (tree, key) DO UPDATE SET value = EXCLUDED.value",
            )
            .await
            .map_err(pg_error)?;
        tx.execute(&st, &[&w.put_trees, &w.put_keys, &w.put_values])
            .await
            .map_err(pg_error)?;
    }
    tx.commit().await.map_err(pg_error)
}

/// Locks and compares what the batch expects; returns the placeholders inserted for keys
/// expected absent (removed again unless the batch writes them).
async fn check_expected(
    tx: &Transaction<'_>,
    expected: &[Expected],
) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let mut placeholders = Vec::new();
    for (tree, key, value) in expected {
        match value {
            Some(value) => {
                let row = tx
                    .query_opt(
                        "SELECT value FROM gridsync_kv WHERE tree = $1 AND key = $2 FOR UPDATE",
                        &[tree, key],
                    )
                    .await
                    .map_err(pg_error)?;
                if row.map(|r| r.get::<_, Vec<u8>>(0)).as_ref() != Some(value) {
                    return Err(Error::conflict(tree, key));
                }
            }
            None => {
                // A row lock needs a row: insert an empty placeholder, which a concurrent
                // writer expecting the key absent waits on and then finds present.
                let inserted = tx
                    .execute(
                        "INSERT INTO gridsync_kv (tree, key, value) VALUES ($1, $2, ''::bytea) \
                         ON CONFLICT (tree, key) DO NOTHING",
                        &[tree, key],
                    )
                    .await
                    .map_err(pg_error)?;
                if inserted == 0 {
                    return Err(Error::conflict(tree, key));
                }
                placeholders.push((*tree, key.clone()));
            }
        }
    }
    Ok(placeholders)
}

/// The last op per key (placeholders deleted unless written): one op per key, as one
/// INSERT … ON CONFLICT may touch a row only once.
fn group(
    ops: Vec<(&'static str, Vec<u8>, Op)>,
    placeholders: Vec<(&'static str, Vec<u8>)>,
) -> Writes {
    let mut last: BTreeMap<(&'static str, Vec<u8>), Op> = BTreeMap::new();
    for key in placeholders {
        last.insert(key, Op::Delete);
    }
    for (tree, key, op) in ops {
        last.insert((tree, key), op);
    }
    let mut w = Writes::default();
    for ((tree, key), op) in last {
        match op {
            Op::Put(value) => {
                w.put_trees.push(tree);
                w.put_keys.push(key);
                w.put_values.push(value);
            }
            Op::Delete => {
                w.delete_trees.push(tree);
                w.delete_keys.push(key);
            }
        }
    }
    w
}

/// A [`Scan`] as SQL: the key range of the prefix, the page's start, its order and limit.
pub(super) struct ScanQuery {
    sql: String,
    tree: &'static str,
    params: Vec<Vec<u8>>,
    limit: Option<i64>,
}

impl ScanQuery {
    pub(super) fn new(tree: &'static str, scan: &Scan<'_>) -> Self {
        let mut sql = String::from("SELECT key, value FROM gridsync_kv WHERE tree = $1");
        let mut params: Vec<Vec<u8>> = Vec::new();
        let mut bound = |sql: &mut String, op: &str, value: Vec<u8>| {
            params.push(value);
            sql.push_str(&format!(" AND key {op} ${}", params.len() + 1));
        };
        if !scan.prefix.is_empty() {
            bound(&mut sql, ">=", scan.prefix.to_vec());
            if let Some(end) = prefix_end(scan.prefix) {
                bound(&mut sql, "<", end);
            }
        }
        if let Some(after) = scan.after {
            bound(
                &mut sql,
                if scan.reverse { "<" } else { ">" },
                after.to_vec(),
            );
        }
        sql.push_str(if scan.reverse {
            " ORDER BY key DESC"
        } else {
            " ORDER BY key"
        });
        let limit = i64::try_from(scan.limit).ok();
        if limit.is_some() {
            sql.push_str(&format!(" LIMIT ${}", params.len() + 2));
        }
        ScanQuery {
            sql,
            tree,
            params,
            limit,
        }
    }

    pub(super) async fn run(self, client: &Client) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let st = client.prepare_cached(&self.sql).await.map_err(pg_error)?;
        let mut args: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&self.tree];
        for p in &self.params {
            args.push(p);
        }
        if let Some(limit) = &self.limit {
            args.push(limit);
        }
        let rows = client.query(&st, &args).await.map_err(pg_error)?;
        Ok(rows
            .into_iter()
            .map(|r| (r.get::<_, Vec<u8>>(0), r.get::<_, Vec<u8>>(1)))
            .collect())
    }
}
