//! Sessions and refresh-token families.

use crate::codec::{get, get_opt_ts, get_ts};
use crate::feed::record_change;
use crate::{PgStore, db_err};
use portcullis_core::ids::{AppId, SessionId, StorefrontId, TenantId, UserId};
use portcullis_core::secret::SecretHash;
use portcullis_core::session::{
    ChangeKind, RefreshRecord, RotateOutcome, Session, SessionFilter, SessionTouch,
};
use portcullis_core::user::UserKind;
use portcullis_core::{StoreError, StoreResult, Timestamp};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, query};
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

pub(crate) async fn insert_refresh(tx: &mut PgConnection, r: &RefreshRecord) -> StoreResult<()> {
    query(
        "INSERT INTO refresh_tokens (hash, session_id, issued_at, expires_at, rotated_at, successor)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(r.hash.as_bytes().as_slice())
    .bind(r.session_id.0)
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

pub(crate) async fn insert_session(tx: &mut PgConnection, s: &Session) -> StoreResult<()> {
    query(
        "INSERT INTO sessions (id, tenant_id, user_id, kind, app_id, store_id, store_view, device_id, created_at,
                               last_used_at, idle_expires_at, absolute_expires_at, revoked_at, revoked_reason, ip)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(s.id.0)
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
    .execute(tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

impl PgStore {
    pub(crate) async fn list_refresh_tokens(
        &self,
        session: SessionId,
    ) -> StoreResult<Vec<RefreshRecord>> {
        let rows = query("SELECT * FROM refresh_tokens WHERE session_id = $1 ORDER BY issued_at")
            .bind(session.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(refresh_from).collect()
    }

    pub(crate) async fn create_session(
        &self,
        s: &Session,
        refresh: Option<&RefreshRecord>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        insert_session(&mut tx, s).await?;
        if let Some(r) = refresh {
            insert_refresh(&mut tx, r).await?;
        }
        tx.commit().await.map_err(db_err)
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

    pub(crate) async fn find_refresh(
        &self,
        hash: &SecretHash,
    ) -> StoreResult<Option<RefreshRecord>> {
        let row = query("SELECT * FROM refresh_tokens WHERE hash = $1")
            .bind(hash.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(refresh_from).transpose()
    }

    pub(crate) async fn rotate_refresh(
        &self,
        old: &SecretHash,
        successor: &[u8],
        next: &RefreshRecord,
        touch: SessionTouch,
    ) -> StoreResult<RotateOutcome> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let won = query("UPDATE refresh_tokens SET rotated_at = $1, successor = $2 WHERE hash = $3 AND rotated_at IS NULL")
            .bind(next.issued_at.0)
            .bind(successor)
            .bind(old.as_bytes().as_slice())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if won.rows_affected() == 0 {
            let row = query("SELECT * FROM refresh_tokens WHERE hash = $1")
                .bind(old.as_bytes().as_slice())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
            return match row {
                Some(r) => Ok(RotateOutcome::AlreadyRotated(refresh_from(&r)?)),
                None => Ok(RotateOutcome::NotFound),
            };
        }
        insert_refresh(&mut tx, next).await?;
        query("UPDATE sessions SET last_used_at = $1, idle_expires_at = $2 WHERE id = $3")
            .bind(touch.last_used_at.0)
            .bind(touch.idle_expires_at.0)
            .bind(next.session_id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(RotateOutcome::Rotated)
    }

    pub(crate) async fn revoke_session(
        &self,
        id: SessionId,
        at: Timestamp,
        reason: &str,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
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
        let mut tx = self.pool.begin().await.map_err(db_err)?;
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
