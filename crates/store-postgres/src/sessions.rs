//! Sessions and refresh-token families.

use crate::codec::{get, get_opt_ts, get_ts};
use crate::feed::record_change;
use crate::users::{USER_COLUMNS_AS_U, user_from_prefixed};
use crate::{PgStore, db_err};
use portcullis_core::ids::{AppId, SessionId, StorefrontId, TenantId, UserId};
use portcullis_core::secret::SecretHash;
use portcullis_core::session::{
    self, ChangeKind, NewSession, RefreshLookup, RefreshRecord, RotateOutcome, Rotation, Session,
    SessionFilter,
};
use portcullis_core::user::UserKind;
use portcullis_core::{StoreError, StoreResult, Timestamp};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{PgConnection, Postgres, query};
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;
use uuid::Uuid;

fn session_from(row: &PgRow) -> StoreResult<Session> {
    let kind: Option<String> = get(row, "kind")?;
    Ok(Session {
        id: SessionId(get::<Uuid>(row, "id")?),
        tenant_id: TenantId(get::<Uuid>(row, "tenant_id")?),
        user_id: get::<Option<Uuid>>(row, "user_id")?.map(UserId),
        kind: kind.as_deref().and_then(UserKind::parse),
        app_id: AppId(get::<Uuid>(row, "app_id")?),
        store_id: get::<Option<Uuid>>(row, "store_id")?.map(StorefrontId),
        store_view: get(row, "store_view")?,
        device_id: get(row, "device_id")?,
        created_at: get_ts(row, "created_at")?,
        last_used_at: get_ts(row, "last_used_at")?,
        idle_expires_at: get_ts(row, "idle_expires_at")?,
        absolute_expires_at: get_ts(row, "absolute_expires_at")?,
        revoked_at: get_opt_ts(row, "revoked_at")?,
        revoked_reason: get(row, "revoked_reason")?,
        ip: get(row, "ip")?,
    })
}

fn refresh_from(row: &PgRow) -> StoreResult<RefreshRecord> {
    let hash: Vec<u8> = get(row, "hash")?;
    Ok(RefreshRecord {
        hash: SecretHash::from_slice(&hash)
            .ok_or_else(|| StoreError::Internal("bad refresh hash".into()))?,
        session_id: SessionId(get::<Uuid>(row, "session_id")?),
        issued_at: get_ts(row, "issued_at")?,
        expires_at: get_ts(row, "expires_at")?,
        rotated_at: get_opt_ts(row, "rotated_at")?,
        successor: get(row, "successor")?,
    })
}

/// A row of `FIND_REFRESHES`: the token, its session and the session's user.
fn lookup_from(row: &PgRow) -> StoreResult<RefreshLookup> {
    let session = session_from(row)?;
    let user = match session.user_id {
        Some(_) if get::<Option<String>>(row, "u_kind")?.is_some() => {
            Some(user_from_prefixed(row, "u_")?)
        }
        _ => None,
    };
    Ok(RefreshLookup {
        record: refresh_from(row)?,
        session,
        user,
    })
}

/// Sessions in one statement, one array per column (a restore's pages).
pub(crate) async fn insert_sessions(
    tx: &mut PgConnection,
    sessions: &[Session],
) -> StoreResult<()> {
    if sessions.is_empty() {
        return Ok(());
    }
    let ids = |f: fn(&Session) -> Option<Uuid>| sessions.iter().map(f).collect::<Vec<_>>();
    let texts =
        |f: fn(&Session) -> Option<&str>| sessions.iter().map(f).collect::<Vec<Option<&str>>>();
    let times = |f: fn(&Session) -> Option<i64>| sessions.iter().map(f).collect::<Vec<_>>();
    query(
        "INSERT INTO sessions (id, tenant_id, user_id, kind, app_id, store_id, store_view, device_id,
                               created_at, last_used_at, idle_expires_at, absolute_expires_at,
                               revoked_at, revoked_reason, ip)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::uuid[],
                              $6::uuid[], $7::text[], $8::text[], $9::int8[], $10::int8[],
                              $11::int8[], $12::int8[], $13::int8[], $14::text[], $15::text[])",
    )
    .bind(ids(|s| Some(s.id.0)))
    .bind(ids(|s| Some(s.tenant_id.0)))
    .bind(ids(|s| s.user_id.map(|u| u.0)))
    .bind(texts(|s| s.kind.map(UserKind::as_str)))
    .bind(ids(|s| Some(s.app_id.0)))
    .bind(ids(|s| s.store_id.map(|u| u.0)))
    .bind(texts(|s| s.store_view.as_deref()))
    .bind(texts(|s| s.device_id.as_deref()))
    .bind(times(|s| Some(s.created_at.0)))
    .bind(times(|s| Some(s.last_used_at.0)))
    .bind(times(|s| Some(s.idle_expires_at.0)))
    .bind(times(|s| Some(s.absolute_expires_at.0)))
    .bind(times(|s| s.revoked_at.map(|t| t.0)))
    .bind(texts(|s| s.revoked_reason.as_deref()))
    .bind(texts(|s| s.ip.as_deref()))
    .execute(tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Refresh-token records in one statement, as `insert_sessions`.
pub(crate) async fn insert_refreshes(
    tx: &mut PgConnection,
    records: &[RefreshRecord],
) -> StoreResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let times = |f: fn(&RefreshRecord) -> Option<i64>| records.iter().map(f).collect::<Vec<_>>();
    query(
        "INSERT INTO refresh_tokens (hash, session_id, issued_at, expires_at, rotated_at, successor)
         SELECT * FROM unnest($1::bytea[], $2::uuid[], $3::int8[], $4::int8[], $5::int8[],
                              $6::bytea[])",
    )
    .bind(records.iter().map(|r| r.hash.as_bytes().to_vec()).collect::<Vec<_>>())
    .bind(records.iter().map(|r| r.session_id.0).collect::<Vec<_>>())
    .bind(times(|r| Some(r.issued_at.0)))
    .bind(times(|r| Some(r.expires_at.0)))
    .bind(times(|r| r.rotated_at.map(|t| t.0)))
    .bind(records.iter().map(|r| r.successor.clone()).collect::<Vec<_>>())
    .execute(tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

async fn revoke_in(
    tx: &mut PgConnection,
    id: SessionId,
    at: Timestamp,
    reason: &str,
) -> StoreResult<bool> {
    let done = query("UPDATE sessions SET revoked_at = $1, revoked_reason = $2 WHERE id = $3 AND revoked_at IS NULL")
        .bind(at.0)
        .bind(reason)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    record_change(tx, at, &ChangeKind::SessionRevoked(id)).await?;
    crate::devices::unbind_session(tx, id, at).await?;
    Ok(true)
}

/// Binds the fifteen columns of `sessions`, in table order.
fn bind_session<'q>(
    q: Query<'q, Postgres, PgArguments>,
    s: &'q Session,
) -> Query<'q, Postgres, PgArguments> {
    q.bind(s.id.0)
        .bind(s.tenant_id.0)
        .bind(s.user_id.map(|u| u.0))
        .bind(s.kind.map(UserKind::as_str))
        .bind(s.app_id.0)
        .bind(s.store_id.map(|u| u.0))
        .bind(&s.store_view)
        .bind(&s.device_id)
        .bind(s.created_at.0)
        .bind(s.last_used_at.0)
        .bind(s.idle_expires_at.0)
        .bind(s.absolute_expires_at.0)
        .bind(s.revoked_at.map(|t| t.0))
        .bind(&s.revoked_reason)
        .bind(&s.ip)
}

pub(crate) async fn insert_session(tx: &mut PgConnection, s: &Session) -> StoreResult<()> {
    bind_session(
        query(
            "INSERT INTO sessions (id, tenant_id, user_id, kind, app_id, store_id, store_view, device_id, created_at,
                                   last_used_at, idle_expires_at, absolute_expires_at, revoked_at, revoked_reason, ip)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        ),
        s,
    )
    .execute(tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// A session, its first refresh token ($16 not null), the counters its login clears and its
/// audit events (arrays $22..$30, as `feed::bind_audit_columns` binds them).
const CREATE_SESSION: &str = "
WITH s AS (
    INSERT INTO sessions (id, tenant_id, user_id, kind, app_id, store_id, store_view, device_id,
                          created_at, last_used_at, idle_expires_at, absolute_expires_at,
                          revoked_at, revoked_reason, ip)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
    RETURNING id
), r AS (
    INSERT INTO refresh_tokens (hash, session_id, issued_at, expires_at, rotated_at, successor)
    SELECT $16::bytea, s.id, $17::int8, $18::int8, $19::int8, $20::bytea FROM s
    WHERE $16::bytea IS NOT NULL
), c AS (
    DELETE FROM rate_counters WHERE key = ANY($21::bytea[])
)
INSERT INTO audit_events (id, at, tenant_id, user_id, app_id, session_id, action, detail, ip)
SELECT a.* FROM unnest($22::uuid[], $23::int8[], $24::uuid[], $25::uuid[], $26::uuid[],
                       $27::uuid[], $28::text[], $29::text[], $30::text[]) AS a, s";

/// Tokens and sessions share no column name; the user's columns are renamed.
static FIND_REFRESHES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT r.*, s.*, {USER_COLUMNS_AS_U} FROM refresh_tokens r
         JOIN sessions s ON s.id = r.session_id LEFT JOIN users u ON u.id = s.user_id
         WHERE r.hash = ANY($1::bytea[])"
    )
});

/// A batch of rotations, given one array per column: the first of each presented token
/// (`v`), and the audit events of those that carry one (`a`, keyed by the old token).
/// Every step after the swap joins on what the swap returned, so losers change nothing; a
/// session touched twice keeps its latest use.
const ROTATE: &str = "
WITH v AS (
    SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::uuid[], $5::int8[],
                         $6::int8[], $7::int8[], $8::int8[])
        AS v(old, successor, hash, session_id, issued_at, expires_at, used, idle)
), swapped AS (
    UPDATE refresh_tokens r SET rotated_at = v.issued_at, successor = v.successor
    FROM v WHERE r.hash = v.old AND r.rotated_at IS NULL
    RETURNING r.hash AS old
), won AS (
    SELECT v.* FROM v JOIN swapped USING (old)
), issued AS (
    INSERT INTO refresh_tokens (hash, session_id, issued_at, expires_at)
    SELECT hash, session_id, issued_at, expires_at FROM won
), touched AS (
    UPDATE sessions s SET last_used_at = t.used, idle_expires_at = t.idle
    FROM (SELECT DISTINCT ON (session_id) session_id, used, idle FROM won
          ORDER BY session_id, used DESC) t
    WHERE s.id = t.session_id
), audited AS (
    INSERT INTO audit_events (id, at, tenant_id, user_id, app_id, session_id, action, detail, ip)
    SELECT a.id, a.at, a.tenant_id, a.user_id, a.app_id, a.session_id, a.action, a.detail, a.ip
    FROM unnest($9::bytea[], $10::uuid[], $11::int8[], $12::uuid[], $13::uuid[], $14::uuid[],
                $15::uuid[], $16::text[], $17::text[], $18::text[])
        AS a(old, id, at, tenant_id, user_id, app_id, session_id, action, detail, ip)
    JOIN swapped USING (old)
)
SELECT old FROM swapped";

impl PgStore {
    pub(crate) async fn list_refresh_tokens(
        &self,
        sessions: &[SessionId],
    ) -> StoreResult<Vec<RefreshRecord>> {
        let rows = query(
            "SELECT * FROM refresh_tokens WHERE session_id = ANY($1::uuid[])
             ORDER BY session_id, issued_at",
        )
        .bind(sessions.iter().map(|s| s.0).collect::<Vec<_>>())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(refresh_from).collect()
    }

    pub(crate) async fn sessions_after(
        &self,
        after: Option<SessionId>,
        limit: u32,
    ) -> StoreResult<Vec<Session>> {
        // Two texts rather than `$1 IS NULL OR id > $1`, which a generic plan cannot turn
        // into a range on the key.
        let limit = i64::from(limit);
        let rows = match after {
            None => {
                query("SELECT * FROM sessions ORDER BY id LIMIT $1")
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
            }
            Some(id) => {
                query("SELECT * FROM sessions WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(id.0)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(db_err)?;
        rows.iter().map(session_from).collect()
    }

    /// One statement: all or nothing, in one round trip and without BEGIN/COMMIT.
    pub(crate) async fn create_session(&self, new: &NewSession<'_>) -> StoreResult<()> {
        let s = new.session;
        let r = new.refresh;
        let q = bind_session(query(CREATE_SESSION), s)
            .bind(r.map(|r| r.hash.as_bytes().to_vec()))
            .bind(r.map(|r| r.issued_at.0))
            .bind(r.map(|r| r.expires_at.0))
            .bind(r.and_then(|r| r.rotated_at.map(|t| t.0)))
            .bind(r.and_then(|r| r.successor.clone()))
            .bind(
                new.clear_counters
                    .iter()
                    .map(|k| k.as_bytes().to_vec())
                    .collect::<Vec<_>>(),
            );
        let audit: Vec<_> = new.audit.iter().collect();
        crate::feed::bind_audit_columns(q, &audit)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub(crate) async fn get_session(&self, id: SessionId) -> StoreResult<Option<Session>> {
        let row = query("SELECT * FROM sessions WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(session_from).transpose()
    }

    pub(crate) async fn list_sessions(&self, f: &SessionFilter) -> StoreResult<Vec<Session>> {
        let live_at = f.live_at.map(|t| t.0);
        let limit = if f.limit == 0 { 1000 } else { f.limit };
        let rows = query(
            "SELECT * FROM sessions
             WHERE ($1 IS NULL OR tenant_id = $1) AND ($2 IS NULL OR user_id = $2)
               AND ($3 IS NULL OR (revoked_at IS NULL AND idle_expires_at > $3 AND absolute_expires_at > $3))
             ORDER BY created_at DESC, id LIMIT $4",
        )
        .bind(f.tenant_id.map(|t| t.0))
        .bind(f.user_id.map(|t| t.0))
        .bind(live_at)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(session_from).collect()
    }

    pub(crate) async fn find_refreshes(
        &self,
        hashes: &[SecretHash],
    ) -> StoreResult<Vec<RefreshLookup>> {
        let rows = query(&FIND_REFRESHES)
            .bind(
                hashes
                    .iter()
                    .map(|h| h.as_bytes().to_vec())
                    .collect::<Vec<_>>(),
            )
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(lookup_from).collect()
    }

    /// A statement per step whatever the batch size (one array per column): swap, then
    /// insert, touch and audit for the winners, then read back the tokens the others lost to.
    /// Row locks make a concurrent batch on another node wait for this one and then see its
    /// tokens rotated.
    /// One statement for the whole batch, so one round trip and one commit: the swap of the
    /// old tokens decides the winners, and the other steps take only the rows it swapped. A
    /// single statement is atomic without a transaction around it.
    pub(crate) async fn rotate_refresh(
        &self,
        batch: &[Rotation],
    ) -> StoreResult<Vec<RotateOutcome>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let candidates = session::first_of_each_token(batch);
        let column = |f: fn(&Rotation) -> i64| candidates.iter().map(|r| f(r)).collect::<Vec<_>>();
        let audited: Vec<_> = candidates.iter().filter(|r| r.audit.is_some()).collect();
        let q = query(ROTATE)
            .bind(
                candidates
                    .iter()
                    .map(|r| r.old.as_bytes().to_vec())
                    .collect::<Vec<_>>(),
            )
            .bind(
                candidates
                    .iter()
                    .map(|r| r.successor.clone())
                    .collect::<Vec<_>>(),
            )
            .bind(
                candidates
                    .iter()
                    .map(|r| r.next.hash.as_bytes().to_vec())
                    .collect::<Vec<_>>(),
            )
            .bind(
                candidates
                    .iter()
                    .map(|r| r.next.session_id.0)
                    .collect::<Vec<_>>(),
            )
            .bind(column(|r| r.next.issued_at.0))
            .bind(column(|r| r.next.expires_at.0))
            .bind(column(|r| r.touch.last_used_at.0))
            .bind(column(|r| r.touch.idle_expires_at.0))
            .bind(
                audited
                    .iter()
                    .map(|r| r.old.as_bytes().to_vec())
                    .collect::<Vec<_>>(),
            );
        let events: Vec<_> = audited.iter().filter_map(|r| r.audit.as_ref()).collect();
        let rows = crate::feed::bind_audit_columns(q, &events)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        let swapped = rows
            .iter()
            .map(|row| {
                SecretHash::from_slice(&get::<Vec<u8>>(row, "old")?)
                    .ok_or_else(|| StoreError::Internal("bad refresh hash".into()))
            })
            .collect::<StoreResult<HashSet<_>>>()?;
        let (_, lost) = session::split(batch, &swapped);
        // What the losers lost to: read after the commit, so it includes what a concurrent
        // writer (another node) swapped while this statement waited for the row.
        let mut current = HashMap::new();
        if !lost.is_empty() {
            let rows = query("SELECT * FROM refresh_tokens WHERE hash = ANY($1::bytea[])")
                .bind(
                    lost.iter()
                        .map(|r| r.old.as_bytes().to_vec())
                        .collect::<Vec<_>>(),
                )
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
            for row in &rows {
                let record = refresh_from(row)?;
                current.insert(record.hash, record);
            }
        }
        Ok(session::outcomes(batch, &swapped, &current))
    }

    pub(crate) async fn revoke_session(
        &self,
        id: SessionId,
        at: Timestamp,
        reason: &str,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let done = revoke_in(&mut tx, id, at, reason).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(done)
    }

    pub(crate) async fn revoke_user_sessions(
        &self,
        user: UserId,
        at: Timestamp,
        reason: &str,
    ) -> StoreResult<Vec<SessionId>> {
        let mut tx = self.begin().await?;
        let rows = query("SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL")
            .bind(user.0)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        let mut revoked = Vec::with_capacity(rows.len());
        for row in &rows {
            let id = SessionId(get::<Uuid>(row, "id")?);
            if revoke_in(&mut tx, id, at, reason).await? {
                revoked.push(id);
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(revoked)
    }
}

/// One statement, so one round trip and atomic without a transaction around it. The
/// sessions are locked with SKIP LOCKED: nodes purging at once take disjoint batches. The
/// foreign keys are checked at the statement's end, after the children are gone.
const PURGE_SESSIONS: &str = "
WITH doomed AS (
    SELECT id FROM sessions s
    WHERE absolute_expires_at < $1
      AND NOT EXISTS (SELECT 1 FROM baskets b
                      WHERE b.session_id = s.id AND b.checked_out_at IS NOT NULL)
    ORDER BY absolute_expires_at LIMIT $2
    FOR UPDATE SKIP LOCKED
),
refresh AS (DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM doomed)),
opaque AS (DELETE FROM opaque_tokens WHERE session_id IN (SELECT id FROM doomed)),
basket AS (DELETE FROM baskets WHERE session_id IN (SELECT id FROM doomed)),
device AS (UPDATE devices SET session_id = NULL WHERE session_id IN (SELECT id FROM doomed))
DELETE FROM sessions WHERE id IN (SELECT id FROM doomed)";

/// As `PURGE_SESSIONS`: one statement, the rows locked with SKIP LOCKED.
const PURGE_REFRESH_TOKENS: &str = "
DELETE FROM refresh_tokens WHERE hash IN (
    SELECT hash FROM refresh_tokens WHERE expires_at < $1
    ORDER BY expires_at LIMIT $2
    FOR UPDATE SKIP LOCKED
)";

impl PgStore {
    pub(crate) async fn purge_refresh_tokens(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<u64> {
        self.purge(PURGE_REFRESH_TOKENS, before, limit).await
    }

    pub(crate) async fn purge_sessions(&self, before: Timestamp, limit: u32) -> StoreResult<u64> {
        self.purge(PURGE_SESSIONS, before, limit).await
    }

    /// One batch of a purge statement (`$1` the cut, `$2` the batch's size): rows deleted.
    async fn purge(&self, sql: &'static str, before: Timestamp, limit: u32) -> StoreResult<u64> {
        let done = query(sql)
            .bind(before.0)
            .bind(i64::from(limit))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
