//! Rate-limit counters: one row per key and window, incremented atomically.

use crate::{PgStore, db_err};
use portcullis_core::secret::SecretHash;
use portcullis_core::{StoreError, StoreResult, Timestamp};
use sqlx::{Row, query};
use std::sync::LazyLock;

impl PgStore {
    /// One statement, so one round trip and one commit: each key's upsert is a step that
    /// runs only if the count before it stayed within its limit.
    pub(crate) async fn hit_counters(
        &self,
        hits: &[(SecretHash, u32)],
        window_start: Timestamp,
    ) -> StoreResult<Vec<u32>> {
        if hits.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = query(hits_sql(hits.len())?).bind(window_start.0);
        for (key, _) in hits {
            q = q.bind(key.as_bytes().to_vec());
        }
        for (_, limit) in &hits[..hits.len() - 1] {
            q = q.bind(i64::from(*limit));
        }
        let row = q.fetch_one(&self.pool).await.map_err(db_err)?;
        let mut counts = Vec::with_capacity(hits.len());
        for i in 0..hits.len() {
            match row.try_get::<Option<i64>, _>(i).map_err(db_err)? {
                Some(n) => counts.push(u32::try_from(n).unwrap_or(u32::MAX)),
                None => break,
            }
        }
        Ok(counts)
    }

    pub(crate) async fn clear_counters(&self, keys: &[SecretHash]) -> StoreResult<()> {
        query("DELETE FROM rate_counters WHERE key = ANY($1::bytea[])")
            .bind(
                keys.iter()
                    .map(|k| k.as_bytes().to_vec())
                    .collect::<Vec<_>>(),
            )
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub(crate) async fn prune_counters(&self, before: Timestamp) -> StoreResult<u64> {
        let done = query("DELETE FROM rate_counters WHERE window_start < $1")
            .bind(before.0)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}

/// The statement counting `n` keys: `$1` the window, `$2..=$n+1` the keys, then the limits
/// of all but the last key. Step `i` inserts only if step `i - 1` returned a count within
/// its limit; the answer is one column per step, NULL for the steps that did not run.
fn hits_sql(n: usize) -> StoreResult<&'static str> {
    static SQL: LazyLock<Vec<String>> = LazyLock::new(|| (1..=MAX_HITS).map(build).collect());
    fn build(n: usize) -> String {
        let upsert = "ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1
             RETURNING count";
        let mut steps = vec![format!(
            "h1 AS (INSERT INTO rate_counters (key, window_start, count) VALUES ($2::bytea, $1::int8, 1)
             {upsert})"
        )];
        for i in 2..=n {
            let (key, limit, prev) = (i + 1, n + i, i - 1);
            steps.push(format!(
                "h{i} AS (INSERT INTO rate_counters (key, window_start, count)
                 SELECT ${key}::bytea, $1::int8, 1 FROM h{prev} WHERE h{prev}.count <= ${limit}::int8
                 {upsert})"
            ));
        }
        let columns: Vec<_> = (1..=n)
            .map(|i| format!("(SELECT count FROM h{i})"))
            .collect();
        format!("WITH {} SELECT {}", steps.join(", "), columns.join(", "))
    }
    n.checked_sub(1)
        .and_then(|i| SQL.get(i))
        .map(String::as_str)
        .ok_or_else(|| StoreError::Internal(format!("{n} counters at once (1 to {MAX_HITS})")))
}

/// Most counters one attempt counts (IP, account and IP, account).
const MAX_HITS: usize = 3;
