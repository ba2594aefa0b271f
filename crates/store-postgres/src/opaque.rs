//! Opaque tokens (JRNI, JFW): a session's tokens, stored as hashes, with their last use.

use crate::codec::{get, get_ts};
use crate::sessions::insert_session;
use crate::{PgStore, db_err};
use portcullis_core::ids::SessionId;
use portcullis_core::opaque::OpaqueRecord;
use portcullis_core::secret::SecretHash;
use portcullis_core::session::Session;
use portcullis_core::{StoreError, StoreResult, Timestamp};
use sqlx::query;
use std::time::Duration;

fn opaque_from(row: &sqlx::postgres::PgRow) -> StoreResult<OpaqueRecord> {
    let hash: Vec<u8> = get(row, "hash")?;
    let ttl: i64 = get(row, "idle_ttl_ms")?;
    Ok(OpaqueRecord {
        hash: SecretHash::from_slice(&hash)
            .ok_or_else(|| StoreError::Internal("bad token hash".into()))?,
        session_id: SessionId(get::<uuid::Uuid>(row, "session_id")?),
        role: get(row, "role")?,
        created_at: get_ts(row, "created_at")?,
        last_used_at: get_ts(row, "last_used_at")?,
        idle_ttl: Duration::from_millis(u64::try_from(ttl).unwrap_or(0)),
        sliding: get(row, "sliding")?,
    })
}

pub(crate) async fn insert_opaque(
    tx: &mut sqlx::PgConnection,
    t: &OpaqueRecord,
) -> StoreResult<()> {
    query(
        "INSERT INTO opaque_tokens (hash, session_id, role, created_at, last_used_at, idle_ttl_ms, sliding)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(t.hash.as_bytes().as_slice())
    .bind(t.session_id.0)
    .bind(&t.role)
    .bind(t.created_at.0)
    .bind(t.last_used_at.0)
    .bind(i64::try_from(t.idle_ttl.as_millis()).unwrap_or(i64::MAX))
    .bind(t.sliding)
    .execute(tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

impl PgStore {
    pub(crate) async fn create_opaque_session(
        &self,
        s: &Session,
        t: &OpaqueRecord,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        insert_session(&mut tx, s).await?;
        insert_opaque(&mut tx, t).await?;
        tx.commit().await.map_err(db_err)
    }

    pub(crate) async fn add_opaque_token(&self, t: &OpaqueRecord) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        insert_opaque(&mut conn, t).await
    }

    pub(crate) async fn list_opaque_tokens(
        &self,
        sessions: &[SessionId],
    ) -> StoreResult<Vec<OpaqueRecord>> {
        let rows = query(
            "SELECT * FROM opaque_tokens WHERE session_id = ANY($1::uuid[])
             ORDER BY session_id, created_at",
        )
        .bind(sessions.iter().map(|s| s.0).collect::<Vec<_>>())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(opaque_from).collect()
    }

    pub(crate) async fn find_opaque(&self, hash: &SecretHash) -> StoreResult<Option<OpaqueRecord>> {
        let row = query("SELECT * FROM opaque_tokens WHERE hash = $1")
            .bind(hash.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(opaque_from).transpose()
    }

    pub(crate) async fn touch_opaque(&self, hash: &SecretHash, at: Timestamp) -> StoreResult<()> {
        query("UPDATE opaque_tokens SET last_used_at = GREATEST(last_used_at, $1) WHERE hash = $2")
            .bind(at.0)
            .bind(hash.as_bytes().as_slice())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
