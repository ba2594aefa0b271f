//! Rate-limit counters: one row per key and window, incremented atomically.

use crate::{SqliteStore, db_err};
use portcullis_core::secret::SecretHash;
use portcullis_core::{StoreResult, Timestamp};
use sqlx::query;

impl SqliteStore {
    pub(crate) async fn hit_counter(
        &self,
        key: &SecretHash,
        window_start: Timestamp,
    ) -> StoreResult<u32> {
        let n: i64 = sqlx::query_scalar(
            "INSERT INTO rate_counters (key, window_start, count) VALUES (?1, ?2, 1)
             ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1
             RETURNING count",
        )
        .bind(key.as_bytes().as_slice())
        .bind(window_start.0)
        .fetch_one(&self.write)
        .await
        .map_err(db_err)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    pub(crate) async fn clear_counter(&self, key: &SecretHash) -> StoreResult<()> {
        query("DELETE FROM rate_counters WHERE key = ?1")
            .bind(key.as_bytes().as_slice())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub(crate) async fn prune_counters(&self, before: Timestamp) -> StoreResult<u64> {
        let done = query("DELETE FROM rate_counters WHERE window_start < ?1")
            .bind(before.0)
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
