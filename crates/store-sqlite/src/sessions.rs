//! Sessions and refresh-token families.

use crate::codec::{get, get_opt_ts, get_opt_uuid, get_ts, get_uuid};
use crate::feed::record_change;
use crate::users::{USER_COLUMNS_AS_U, user_from_prefixed};
use crate::{SqliteStore, db_err, padded};
use portcullis_core::ids::{AppId, SessionId, StorefrontId, TenantId, UserId};
use portcullis_core::secret::SecretHash;
use portcullis_core::session::{
    self, ChangeKind, NewSession, RefreshLookup, RefreshRecord, RotateOutcome, Rotation, Session,
    SessionFilter,
};
use portcullis_core::user::UserKind;
use portcullis_core::{StoreError, StoreResult, Timestamp};
use sqlx::sqlite::SqliteRow;
use sqlx::{SqliteConnection, query, query_scalar};
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

fn session_from(row: &SqliteRow) -> StoreResult<Session> {
    let kind: Option<String> = get(row, "kind")?;
    Ok(Session {
        id: SessionId(get_uuid(row, "id")?),
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        user_id: get_opt_uuid(row, "user_id")?.map(UserId),
        kind: kind.as_deref().and_then(UserKind::parse),
        app_id: AppId(get_uuid(row, "app_id")?),
        store_id: get_opt_uuid(row, "store_id")?.map(StorefrontId),
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

fn refresh_from(row: &SqliteRow) -> StoreResult<RefreshRecord> {
    let hash: Vec<u8> = get(row, "hash")?;
    Ok(RefreshRecord {
        hash: SecretHash::from_slice(&hash)
            .ok_or_else(|| StoreError::Internal("bad refresh hash".into()))?,
        session_id: SessionId(get_uuid(row, "session_id")?),
        issued_at: get_ts(row, "issued_at")?,
        expires_at: get_ts(row, "expires_at")?,
        rotated_at: get_opt_ts(row, "rotated_at")?,
        successor: get(row, "successor")?,
    })
}

pub(crate) async fn insert_refresh(
    tx: &mut SqliteConnection,
    r: &RefreshRecord,
) -> StoreResult<()> {
    query(
        "INSERT INTO refresh_tokens (hash, session_id, issued_at, expires_at, rotated_at, successor)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(r.hash.as_bytes().as_slice())
    .bind(r.session_id.0.to_string())
    .bind(r.issued_at.0)
    .bind(r.expires_at.0)
    .bind(r.rotated_at.map(|t| t.0))
    .bind(&r.successor)
    .execute(tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

async fn revoke_in(
    tx: &mut SqliteConnection,
    id: SessionId,
    at: Timestamp,
    reason: &str,
) -> StoreResult<bool> {
    let done = query("UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL")
        .bind(at.0)
        .bind(reason)
        .bind(id.0.to_string())
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

pub(crate) async fn insert_session(tx: &mut SqliteConnection, s: &Session) -> StoreResult<()> {
    query(
        "INSERT INTO sessions (id, tenant_id, user_id, kind, app_id, store_id, store_view, device_id, created_at,
                               last_used_at, idle_expires_at, absolute_expires_at, revoked_at, revoked_reason, ip)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(s.id.0.to_string())
    .bind(s.tenant_id.0.to_string())
    .bind(s.user_id.map(|u| u.0.to_string()))
    .bind(s.kind.map(UserKind::as_str))
    .bind(s.app_id.0.to_string())
    .bind(s.store_id.map(|u| u.0.to_string()))
    .bind(&s.store_view)
    .bind(&s.device_id)
    .bind(s.created_at.0)
    .bind(s.last_used_at.0)
    .bind(s.idle_expires_at.0)
    .bind(s.absolute_expires_at.0)
    .bind(s.revoked_at.map(|t| t.0))
    .bind(&s.revoked_reason)
    .bind(&s.ip)
    .execute(tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Tokens and sessions share no column name; the user's columns are renamed.
static FIND_REFRESHES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT r.*, s.*, {USER_COLUMNS_AS_U} FROM refresh_records r
         JOIN sessions s ON s.id = r.session_id LEFT JOIN users u ON u.id = s.user_id
         WHERE r.hash IN (SELECT unhex(value) FROM json_each(?))"
    )
});

impl SqliteStore {
    pub(crate) async fn list_refresh_tokens(
        &self,
        sessions: &[SessionId],
    ) -> StoreResult<Vec<RefreshRecord>> {
        let rows = query(
            "SELECT * FROM refresh_records
             WHERE session_id IN (SELECT value FROM json_each(?))
             ORDER BY session_id, issued_at",
        )
        .bind(ids_json(sessions)?)
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        rows.iter().map(refresh_from).collect()
    }

    pub(crate) async fn sessions_after(
        &self,
        after: Option<SessionId>,
        limit: u32,
    ) -> StoreResult<Vec<Session>> {
        // Ids are text: '' sorts before every one of them, and `id > ?` stays a range on
        // the key.
        let rows = query("SELECT * FROM sessions WHERE id > ? ORDER BY id LIMIT ?")
            .bind(after.map_or_else(String::new, |id| id.0.to_string()))
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?;
        rows.iter().map(session_from).collect()
    }

    pub(crate) async fn create_session(&self, new: &NewSession<'_>) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        insert_session(&mut tx, new.session).await?;
        if let Some(r) = new.refresh {
            insert_refresh(&mut tx, r).await?;
        }
        crate::counters::delete_counters(&mut tx, new.clear_counters).await?;
        let audit: Vec<_> = new.audit.iter().collect();
        crate::feed::insert_audits(&mut tx, &audit).await?;
        tx.commit().await.map_err(db_err)
    }

    pub(crate) async fn get_session(&self, id: SessionId) -> StoreResult<Option<Session>> {
        let row = query("SELECT * FROM sessions WHERE id = ?")
            .bind(id.0.to_string())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        row.as_ref().map(session_from).transpose()
    }

    pub(crate) async fn list_sessions(&self, f: &SessionFilter) -> StoreResult<Vec<Session>> {
        let live_at = f.live_at.map(|t| t.0);
        let limit = if f.limit == 0 { 1000 } else { f.limit };
        let rows = query(
            "SELECT * FROM sessions
             WHERE (?1 IS NULL OR tenant_id = ?1) AND (?2 IS NULL OR user_id = ?2)
               AND (?3 IS NULL OR (revoked_at IS NULL AND idle_expires_at > ?3 AND absolute_expires_at > ?3))
             ORDER BY created_at DESC, id LIMIT ?4",
        )
        .bind(f.tenant_id.map(|t| t.0.to_string()))
        .bind(f.user_id.map(|t| t.0.to_string()))
        .bind(live_at)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        rows.iter().map(session_from).collect()
    }

    pub(crate) async fn find_refreshes(
        &self,
        hashes: &[SecretHash],
    ) -> StoreResult<Vec<RefreshLookup>> {
        let rows = query(&FIND_REFRESHES)
            .bind(hashes_json(hashes.iter())?)
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?;
        rows.iter().map(lookup_from).collect()
    }

    /// Two statements per batch (the swap, then the winners' writes), each prepared once
    /// per padded size (`padded`). Each is a round trip to the writing connection's thread;
    /// fewer of them keep the one writer busier.
    pub(crate) async fn rotate_refresh(
        &self,
        batch: &[Rotation],
    ) -> StoreResult<Vec<RotateOutcome>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let candidates = session::first_of_each_token(batch);
        let mut tx = self.write_tx().await?;
        let rows = padded::rows(candidates.len());
        // Each candidate's pair id follows the largest in use (in this write transaction no
        // one else takes ids); a token someone else rotated first leaves a gap.
        let sql = format!(
            "UPDATE refresh_tokens SET rotated_at = v.column2,
                 pair_id = (SELECT COALESCE(MAX(id), 0) FROM refresh_pairs) + v.column3
             FROM (VALUES {}) AS v
             WHERE refresh_tokens.hash = v.column1 AND refresh_tokens.rotated_at IS NULL
             RETURNING hash, pair_id",
            padded::values(rows, 3)
        );
        let mut swap = query(&sql);
        for (n, r) in (1_i64..).zip(&candidates) {
            swap = swap
                .bind(r.old.as_bytes().as_slice())
                .bind(r.next.issued_at.0)
                .bind(n);
        }
        let swapped = padded::pad(swap, candidates.len(), rows, 3)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        let mut pair_ids = HashMap::with_capacity(swapped.len());
        for row in &swapped {
            let hash: Vec<u8> = get(row, "hash")?;
            let hash = SecretHash::from_slice(&hash)
                .ok_or_else(|| StoreError::Internal("bad refresh hash".into()))?;
            pair_ids.insert(hash, get::<i64>(row, "pair_id")?);
        }
        let swapped: HashSet<SecretHash> = pair_ids.keys().copied().collect();
        let (winning, lost) = session::split(batch, &swapped);
        if !winning.is_empty() {
            write_winners(&mut tx, &winning, &pair_ids).await?;
        }
        let mut current = HashMap::new();
        if !lost.is_empty() {
            let rows = query(
                "SELECT * FROM refresh_records
                 WHERE hash IN (SELECT unhex(value) FROM json_each(?))",
            )
            .bind(hashes_json(lost.iter().map(|r| &r.old))?)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
            for row in &rows {
                let record = refresh_from(row)?;
                current.insert(record.hash, record);
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(session::outcomes(batch, &swapped, &current))
    }

    pub(crate) async fn revoke_session(
        &self,
        id: SessionId,
        at: Timestamp,
        reason: &str,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
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
        let mut tx = self.write_tx().await?;
        let rows = query("SELECT id FROM sessions WHERE user_id = ? AND revoked_at IS NULL")
            .bind(user.0.to_string())
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        let mut revoked = Vec::with_capacity(rows.len());
        for row in &rows {
            let id = SessionId(get_uuid(row, "id")?);
            if revoke_in(&mut tx, id, at, reason).await? {
                revoked.push(id);
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(revoked)
    }

    /// One write transaction per batch: the ids are chosen once and every table's rows go by
    /// them (a JSON array, SQLite's way to bind a list).
    pub(crate) async fn purge_sessions(&self, before: Timestamp, limit: u32) -> StoreResult<u64> {
        let mut tx = self.write_tx().await?;
        let ids: Vec<String> = query_scalar(
            "SELECT id FROM sessions s
             WHERE absolute_expires_at < ?
               AND NOT EXISTS (SELECT 1 FROM baskets b
                               WHERE b.session_id = s.id AND b.checked_out_at IS NOT NULL)
             ORDER BY absolute_expires_at LIMIT ?",
        )
        .bind(before.0)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        if ids.is_empty() {
            return Ok(0);
        }
        let ids = serde_json::to_string(&ids).map_err(|e| StoreError::Internal(e.to_string()))?;
        // Children first: the foreign keys are checked statement by statement.
        for sql in [
            "DELETE FROM refresh_pairs WHERE id IN (SELECT pair_id FROM refresh_tokens
                 WHERE session_id IN (SELECT value FROM json_each(?1)))",
            "DELETE FROM refresh_tokens WHERE session_id IN (SELECT value FROM json_each(?1))",
            "DELETE FROM opaque_tokens WHERE session_id IN (SELECT value FROM json_each(?1))",
            "DELETE FROM baskets WHERE session_id IN (SELECT value FROM json_each(?1))",
            "UPDATE devices SET session_id = NULL
             WHERE session_id IN (SELECT value FROM json_each(?1))",
        ] {
            query(sql)
                .bind(&ids)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        let done = query("DELETE FROM sessions WHERE id IN (SELECT value FROM json_each(?1))")
            .bind(&ids)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn purge_refresh_tokens(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<u64> {
        let mut tx = self.write_tx().await?;
        // The same batch for both statements (the transaction holds the write lock); its
        // sealed pairs go first (no foreign key ties them to the tokens, see migration 0009).
        let doomed = "SELECT hash FROM refresh_tokens WHERE expires_at < ?1
                      ORDER BY expires_at, hash LIMIT ?2";
        query(&format!(
            "DELETE FROM refresh_pairs WHERE id IN
                 (SELECT pair_id FROM refresh_tokens WHERE hash IN ({doomed}))"
        ))
        .bind(before.0)
        .bind(i64::from(limit))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let done = query(&format!(
            "DELETE FROM refresh_tokens WHERE hash IN ({doomed})"
        ))
        .bind(before.0)
        .bind(i64::from(limit))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(done.rows_affected())
    }
}

/// The winners' pairs, new tokens, sessions' touches and audit events: one execution of four
/// statements, every list padded to the same size. Plain `?`s, bound in the order they appear
/// (sqlx misnumbers a `?NNN` that skips numbers in a statement after the first).
async fn write_winners(
    tx: &mut SqliteConnection,
    winning: &[&Rotation],
    pair_ids: &HashMap<SecretHash, i64>,
) -> StoreResult<()> {
    let rows = padded::rows(winning.len());
    let sql = format!(
        "INSERT INTO refresh_pairs (id, pair)
             SELECT * FROM (VALUES {}) WHERE column1 IS NOT NULL;
         INSERT INTO refresh_tokens (hash, session_id, issued_at, expires_at)
             SELECT * FROM (VALUES {}) WHERE column1 IS NOT NULL;
         UPDATE sessions SET last_used_at = v.column2, idle_expires_at = v.column3
             FROM (VALUES {}) AS v WHERE sessions.id = v.column1;
         {};",
        padded::values(rows, 2),
        padded::values(rows, 4),
        padded::values(rows, 3),
        crate::feed::insert_audits_sql(rows),
    );
    let mut q = query(&sql);
    for r in winning {
        q = q.bind(pair_ids[&r.old]).bind(r.successor.as_slice());
    }
    q = padded::pad(q, winning.len(), rows, 2);
    for r in winning {
        q = q
            .bind(r.next.hash.as_bytes().as_slice())
            .bind(r.next.session_id.0.to_string())
            .bind(r.next.issued_at.0)
            .bind(r.next.expires_at.0);
    }
    q = padded::pad(q, winning.len(), rows, 4);
    let touches = session::touches(winning.iter().copied());
    for (id, touch) in &touches {
        q = q
            .bind(id.0.to_string())
            .bind(touch.last_used_at.0)
            .bind(touch.idle_expires_at.0);
    }
    q = padded::pad(q, touches.len(), rows, 3);
    let audits: Vec<_> = winning.iter().filter_map(|r| r.audit.as_ref()).collect();
    crate::feed::bind_audits(q, &audits, rows)
        .execute(tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// A row of `FIND_REFRESHES`: the token, its session and the session's user.
fn lookup_from(row: &SqliteRow) -> StoreResult<RefreshLookup> {
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

/// Session ids as a JSON array, SQLite's way to bind a list (`json_each`).
pub(crate) fn ids_json(sessions: &[SessionId]) -> StoreResult<String> {
    crate::codec::json(&sessions.iter().map(|s| s.0.to_string()).collect::<Vec<_>>())
}

/// Secret hashes as a JSON array of hex strings (`unhex(value)` over `json_each`).
fn hashes_json<'a>(hashes: impl Iterator<Item = &'a SecretHash>) -> StoreResult<String> {
    crate::codec::json(&hashes.map(SecretHash::to_hex).collect::<Vec<_>>())
}
