//! Password reset tokens and the outbox.

use crate::codec::{get, get_opt_ts, get_parsed, get_ts};
use crate::{PgStore, db_err};
use portcullis_core::ids::{AppId, MessageId, TenantId, UserId};
use portcullis_core::outbox::{OutboxFilter, OutboxMessage, OutboxOutcome, OutboxStatus};
use portcullis_core::reset::ResetRecord;
use portcullis_core::secret::SecretHash;
use portcullis_core::{StoreError, StoreResult, Timestamp};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, query};
use uuid::Uuid;

fn reset_from(row: &PgRow) -> StoreResult<ResetRecord> {
    let hash: Vec<u8> = get(row, "hash")?;
    Ok(ResetRecord {
        hash: SecretHash::from_slice(&hash)
            .ok_or_else(|| StoreError::Internal("bad reset hash".into()))?,
        user_id: UserId(get::<Uuid>(row, "user_id")?),
        tenant_id: TenantId(get::<Uuid>(row, "tenant_id")?),
        app_id: AppId(get::<Uuid>(row, "app_id")?),
        created_at: get_ts(row, "created_at")?,
        expires_at: get_ts(row, "expires_at")?,
        used_at: get_opt_ts(row, "used_at")?,
        voided_at: get_opt_ts(row, "voided_at")?,
    })
}

fn message_from(row: &PgRow) -> StoreResult<OutboxMessage> {
    let attempts: i64 = get(row, "attempts")?;
    Ok(OutboxMessage {
        id: MessageId(get::<Uuid>(row, "id")?),
        tenant_id: TenantId(get::<Uuid>(row, "tenant_id")?),
        to: get(row, "recipient")?,
        kind: get(row, "kind")?,
        payload: get(row, "payload")?,
        status: get_parsed(row, "status", OutboxStatus::parse)?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_at: get_ts(row, "next_attempt_at")?,
        lease_until: get_opt_ts(row, "lease_until")?,
        last_error: get(row, "last_error")?,
        created_at: get_ts(row, "created_at")?,
        sent_at: get_opt_ts(row, "sent_at")?,
    })
}

/// Voids the user's reset tokens that are still usable.
pub(crate) async fn void_resets(
    tx: &mut PgConnection,
    user: UserId,
    at: Timestamp,
) -> StoreResult<()> {
    query("UPDATE password_resets SET voided_at = $1 WHERE user_id = $2 AND used_at IS NULL AND voided_at IS NULL")
        .bind(at.0)
        .bind(user.0)
        .execute(tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

impl PgStore {
    pub(crate) async fn create_reset(
        &self,
        r: &ResetRecord,
        m: &OutboxMessage,
        limits: &[(Timestamp, u32)],
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        // One address at a time, so concurrent requests cannot all pass the limit.
        query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(&m.to)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        for (since, max) in limits {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM outbox WHERE recipient = $1 AND kind = $2 AND created_at >= $3 AND tenant_id = $4",
            )
            .bind(&m.to)
            .bind(&m.kind)
            .bind(since.0)
            .bind(m.tenant_id.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            if n >= i64::from(*max) {
                return Ok(false);
            }
        }
        void_resets(&mut tx, r.user_id, r.created_at).await?;
        query(
            "INSERT INTO password_resets (hash, user_id, tenant_id, app_id, created_at, expires_at, used_at, voided_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(r.hash.as_bytes().as_slice())
        .bind(r.user_id.0)
        .bind(r.tenant_id.0)
        .bind(r.app_id.0)
        .bind(r.created_at.0)
        .bind(r.expires_at.0)
        .bind(r.used_at.map(|t| t.0))
        .bind(r.voided_at.map(|t| t.0))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        query(
            "INSERT INTO outbox (id, tenant_id, recipient, kind, payload, status, attempts, next_attempt_at,
                                 lease_until, last_error, created_at, sent_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(m.id.0)
        .bind(m.tenant_id.0)
        .bind(&m.to)
        .bind(&m.kind)
        .bind(&m.payload)
        .bind(m.status.as_str())
        .bind(i64::from(m.attempts))
        .bind(m.next_attempt_at.0)
        .bind(m.lease_until.map(|t| t.0))
        .bind(&m.last_error)
        .bind(m.created_at.0)
        .bind(m.sent_at.map(|t| t.0))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    pub(crate) async fn find_reset(&self, hash: &SecretHash) -> StoreResult<Option<ResetRecord>> {
        let row = query("SELECT * FROM password_resets WHERE hash = $1")
            .bind(hash.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(reset_from).transpose()
    }

    pub(crate) async fn complete_reset(
        &self,
        hash: &SecretHash,
        new_hash: &str,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let row = query(
            "UPDATE password_resets SET used_at = $1 WHERE hash = $2 AND used_at IS NULL AND voided_at IS NULL
             RETURNING user_id",
        )
        .bind(at.0)
        .bind(hash.as_bytes().as_slice())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(false) };
        let user = UserId(get::<Uuid>(&row, "user_id")?);
        query("UPDATE users SET password_hash = $1, password_origin = NULL, updated_at = $2, password_changed_at = $2 WHERE id = $3")
            .bind(new_hash)
            .bind(at.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        void_resets(&mut tx, user, at).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    pub(crate) async fn claim_outbox(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        // SKIP LOCKED: concurrent workers (threads or nodes) each take different rows.
        let rows = query(
            "UPDATE outbox SET lease_until = $1, attempts = attempts + 1
             WHERE id IN (SELECT id FROM outbox
                          WHERE status = 'pending' AND next_attempt_at <= $2
                            AND (lease_until IS NULL OR lease_until <= $2)
                          ORDER BY next_attempt_at LIMIT $3
                          FOR UPDATE SKIP LOCKED)
             RETURNING *",
        )
        .bind(lease_until.0)
        .bind(now.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(message_from).collect()
    }

    pub(crate) async fn finish_outbox(
        &self,
        id: MessageId,
        outcome: &OutboxOutcome,
    ) -> StoreResult<()> {
        let q = match outcome {
            OutboxOutcome::Sent { at } => query(
                "UPDATE outbox SET status = 'sent', sent_at = $1, payload = NULL, lease_until = NULL, last_error = NULL
                 WHERE id = $2",
            )
            .bind(at.0),
            OutboxOutcome::Retry { at, error } => {
                query("UPDATE outbox SET next_attempt_at = $1, last_error = $2, lease_until = NULL WHERE id = $3")
                    .bind(at.0)
                    .bind(error.clone())
            }
            OutboxOutcome::Dead { error } => {
                query("UPDATE outbox SET status = 'dead', last_error = $1, lease_until = NULL WHERE id = $2").bind(error.clone())
            }
        };
        let done = q.bind(id.0).execute(&self.pool).await.map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("message"));
        }
        Ok(())
    }

    pub(crate) async fn list_outbox(&self, f: &OutboxFilter) -> StoreResult<Vec<OutboxMessage>> {
        let limit = if f.limit == 0 { 1000 } else { f.limit };
        let rows = query("SELECT * FROM outbox WHERE ($1 IS NULL OR status = $1) ORDER BY created_at DESC, id LIMIT $2")
            .bind(f.status.map(OutboxStatus::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(message_from).collect()
    }

    pub(crate) async fn retry_outbox(&self, id: MessageId, now: Timestamp) -> StoreResult<bool> {
        let done = query(
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $1, lease_until = NULL
             WHERE id = $2 AND status != 'sent'",
        )
        .bind(now.0)
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn purge_outbox(&self, before: Timestamp) -> StoreResult<u64> {
        let done = query("DELETE FROM outbox WHERE status IN ('sent', 'dead') AND created_at < $1")
            .bind(before.0)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn mark_reset_request(
        &self,
        tenant: TenantId,
        key: &SecretHash,
        at: Timestamp,
        live_since: Timestamp,
    ) -> StoreResult<bool> {
        // The update happens only when the old request is no longer pending; RETURNING then
        // yields a row, exactly when this call recorded one.
        let row = query(
            "INSERT INTO reset_requests (tenant_id, key, requested_at) VALUES ($1, $2, $3)
             ON CONFLICT (tenant_id, key) DO UPDATE SET requested_at = excluded.requested_at
             WHERE reset_requests.requested_at < $4
             RETURNING requested_at",
        )
        .bind(tenant.0)
        .bind(key.as_bytes().as_slice())
        .bind(at.0)
        .bind(live_since.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.is_some())
    }

    pub(crate) async fn clear_reset_request(
        &self,
        tenant: TenantId,
        key: &SecretHash,
    ) -> StoreResult<()> {
        query("DELETE FROM reset_requests WHERE tenant_id = $1 AND key = $2")
            .bind(tenant.0)
            .bind(key.as_bytes().as_slice())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
