//! Rate-limit counters: one row per key and window, incremented atomically.

use crate::codec::get;
use crate::users::{USER_COLUMNS_AS_U, user_by_login, user_from_prefixed};
use crate::{PgStore, db_err};
use portcullis_core::secret::SecretHash;
use portcullis_core::store::LoginAttempt;
use portcullis_core::user::{User, normalize_login};
use portcullis_core::{StoreError, StoreResult, Timestamp};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{Postgres, Row, query};
use std::sync::LazyLock;
use uuid::Uuid;

impl PgStore {
    /// One statement, so one round trip and one commit: each key's upsert is a step that
    /// runs only if the count before it stayed within its limit. The commit does not wait for
    /// its WAL to reach the disk (see `hits_sql`).
    pub(crate) async fn hit_counters(
        &self,
        hits: &[(SecretHash, u32)],
        window_start: Timestamp,
    ) -> StoreResult<Vec<u32>> {
        if hits.is_empty() {
            return Ok(Vec::new());
        }
        let row = bind_hits(query(hits_sql(hits.len(), false)?), hits, window_start)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        counts_of(&row, hits.len())
    }

    /// One statement: the counts and the user in one round trip.
    pub(crate) async fn count_login_attempt(
        &self,
        attempt: &LoginAttempt<'_>,
    ) -> StoreResult<(Vec<u32>, Option<(User, Vec<String>)>)> {
        let hits = attempt.hits;
        if hits.is_empty() {
            let user = self
                .find_user_with_profiles(attempt.tenant, attempt.kind, attempt.login)
                .await?;
            return Ok((Vec::new(), user));
        }
        let row = bind_hits(
            query(hits_sql(hits.len(), true)?),
            hits,
            attempt.window_start,
        )
        .bind(attempt.tenant.0)
        .bind(attempt.kind.as_str())
        .bind(normalize_login(attempt.login))
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        let user = match get::<Option<Uuid>>(&row, "u_id")? {
            Some(_) => Some((
                user_from_prefixed(&row, "u_")?,
                get::<Vec<String>>(&row, "profile_names")?,
            )),
            None => None,
        };
        Ok((counts_of(&row, hits.len())?, user))
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
/// `with_user` adds the user a login names (`$2n+1` tenant, `$2n+2` kind, `$2n+3` the
/// normalized login) as `u_`-prefixed columns and `profile_names`, all NULL for no user.
///
/// Its commit is asynchronous (`synchronous_commit` off for this statement's transaction
/// alone): a count matters no longer than its window, and a flush of the WAL to disk is an
/// `fdatasync` per login, which counts do not need. A crash of the database can forget the
/// counts of its last moments (PostgreSQL flushes them within 3 × `wal_writer_delay`, and
/// with the next durable commit, such as the login's session); it cannot corrupt them.
fn hits_sql(n: usize, with_user: bool) -> StoreResult<&'static str> {
    static SQL: LazyLock<Vec<[String; 2]>> = LazyLock::new(|| {
        (1..=MAX_HITS)
            .map(|n| [build(n, false), build(n, true)])
            .collect()
    });
    fn build(n: usize, with_user: bool) -> String {
        let upsert = "ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1
             RETURNING count";
        let mut steps = vec![
            "relaxed AS (SELECT set_config('synchronous_commit', 'off', true))".to_owned(),
            format!(
                "h1 AS (INSERT INTO rate_counters (key, window_start, count) VALUES ($2::bytea, $1::int8, 1)
             {upsert})"
            ),
        ];
        for i in 2..=n {
            let (key, limit, prev) = (i + 1, n + i, i - 1);
            steps.push(format!(
                "h{i} AS (INSERT INTO rate_counters (key, window_start, count)
                 SELECT ${key}::bytea, $1::int8, 1 FROM h{prev} WHERE h{prev}.count <= ${limit}::int8
                 {upsert})"
            ));
        }
        let mut columns: Vec<_> = (1..=n)
            .map(|i| format!("(SELECT count FROM h{i})"))
            .collect();
        // Selecting from `relaxed` is what runs it: PostgreSQL skips a CTE nothing reads.
        let mut from = "relaxed".to_owned();
        if with_user {
            let (tenant, kind, login) = (2 * n + 1, 2 * n + 2, 2 * n + 3);
            columns.push(format!("{USER_COLUMNS_AS_U}, u.profile_names"));
            let user = user_by_login(tenant, kind, login);
            from.push_str(&format!(" LEFT JOIN LATERAL ({user}) u ON true"));
        }
        format!(
            "WITH {} SELECT {} FROM {from}",
            steps.join(", "),
            columns.join(", ")
        )
    }
    n.checked_sub(1)
        .and_then(|i| SQL.get(i))
        .map(|both| both[usize::from(with_user)].as_str())
        .ok_or_else(|| StoreError::Internal(format!("{n} counters at once (1 to {MAX_HITS})")))
}

/// Most counters one attempt counts (IP, account and IP, account).
const MAX_HITS: usize = 3;

/// Binds what `hits_sql` numbers: the window, the keys, the limits of all but the last.
fn bind_hits<'q>(
    mut q: Query<'q, Postgres, PgArguments>,
    hits: &[(SecretHash, u32)],
    window_start: Timestamp,
) -> Query<'q, Postgres, PgArguments> {
    q = q.bind(window_start.0);
    for (key, _) in hits {
        q = q.bind(key.as_bytes().to_vec());
    }
    for (_, limit) in &hits[..hits.len().saturating_sub(1)] {
        q = q.bind(i64::from(*limit));
    }
    q
}

/// The counts of the steps that ran: the first `n` columns, up to the first NULL.
fn counts_of(row: &PgRow, n: usize) -> StoreResult<Vec<u32>> {
    let mut counts = Vec::with_capacity(n);
    for i in 0..n {
        match row.try_get::<Option<i64>, _>(i).map_err(db_err)? {
            Some(n) => counts.push(u32::try_from(n).unwrap_or(u32::MAX)),
            None => break,
        }
    }
    Ok(counts)
}
