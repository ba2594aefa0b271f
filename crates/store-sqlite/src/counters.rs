//! Rate-limit counters: one row per key and window, incremented atomically.

use crate::{SqliteStore, db_err};
use portcullis_core::secret::SecretHash;
use portcullis_core::store::LoginAttempt;
use portcullis_core::user::User;
use portcullis_core::{StoreResult, Timestamp};
use sqlx::{SqliteConnection, query};

impl SqliteStore {
    pub(crate) async fn hit_counters(
        &self,
        hits: &[(SecretHash, u32)],
        window_start: Timestamp,
    ) -> StoreResult<Vec<u32>> {
        let mut tx = self.write_tx().await?;
        let mut counts = Vec::with_capacity(hits.len());
        for (key, limit) in hits {
            let n: i64 = sqlx::query_scalar(
                "INSERT INTO rate_counters (key, window_start, count) VALUES (?1, ?2, 1)
                 ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1
                 RETURNING count",
            )
            .bind(key.as_bytes().as_slice())
            .bind(window_start.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            counts.push(n);
            if n > *limit {
                break;
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(counts)
    }

    /// Two calls: the count goes through the writer, the user comes from a reader, and
    /// neither leaves the process.
    pub(crate) async fn count_login_attempt(
        &self,
        attempt: &LoginAttempt<'_>,
    ) -> StoreResult<(Vec<u32>, Option<(User, Vec<String>)>)> {
        let counts = self
            .hit_counters(attempt.hits, attempt.window_start)
            .await?;
        let user = self
            .find_user_with_profiles(attempt.tenant, attempt.kind, attempt.login)
            .await?;
        Ok((counts, user))
    }

    pub(crate) async fn clear_counters(&self, keys: &[SecretHash]) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        delete_counters(&mut tx, keys).await?;
        tx.commit().await.map_err(db_err)?;
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

/// Deletes the counters under `keys`, within the caller's transaction.
pub(crate) async fn delete_counters(
    conn: &mut SqliteConnection,
    keys: &[SecretHash],
) -> StoreResult<()> {
    for key in keys {
        query("DELETE FROM rate_counters WHERE key = ?1")
            .bind(key.as_bytes().as_slice())
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}
