//! Devices (JFW): upserted by (tenant, code), bound to the user and session that last
//! authenticated from them; a revoked session's push token is cleared with it.

use crate::codec::{get, get_json, get_opt_uuid, get_ts, get_uuid, json};
use crate::{SqliteStore, db_err};
use portcullis_core::device::{Device, DeviceUpsert};
use portcullis_core::ids::{DeviceId, SessionId, TenantId, UserId};
use portcullis_core::{StoreResult, Timestamp};
use sqlx::sqlite::SqliteRow;
use sqlx::{SqliteConnection, query};

fn device_from(row: &SqliteRow) -> StoreResult<Device> {
    Ok(Device {
        id: DeviceId(get_uuid(row, "id")?),
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        code: get(row, "code")?,
        kind: get(row, "kind")?,
        name: get(row, "name")?,
        os: get(row, "os")?,
        app_version: get(row, "app_version")?,
        push_token: get(row, "push_token")?,
        tags: get_json(row, "tags")?,
        user_id: get_opt_uuid(row, "user_id")?.map(UserId),
        session_id: get_opt_uuid(row, "session_id")?.map(SessionId),
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

/// Clears the push token and session of the devices bound to a revoked session.
pub(crate) async fn unbind_session(
    tx: &mut SqliteConnection,
    session: SessionId,
    at: Timestamp,
) -> StoreResult<()> {
    query("UPDATE devices SET push_token = NULL, session_id = NULL, updated_at = ? WHERE session_id = ?")
        .bind(at.0)
        .bind(session.0.to_string())
        .execute(tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// A device row as it is (`migrate-store`).
pub(crate) async fn insert_device(tx: &mut SqliteConnection, d: &Device) -> StoreResult<()> {
    query(
        "INSERT INTO devices (id, tenant_id, code, kind, name, os, app_version, push_token, tags,
                              user_id, session_id, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(d.id.0.to_string())
    .bind(d.tenant_id.0.to_string())
    .bind(&d.code)
    .bind(&d.kind)
    .bind(&d.name)
    .bind(&d.os)
    .bind(&d.app_version)
    .bind(&d.push_token)
    .bind(json(&d.tags)?)
    .bind(d.user_id.map(|u| u.0.to_string()))
    .bind(d.session_id.map(|s| s.0.to_string()))
    .bind(d.created_at.0)
    .bind(d.updated_at.0)
    .execute(tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

impl SqliteStore {
    pub(crate) async fn list_devices(&self, tenant: TenantId) -> StoreResult<Vec<Device>> {
        let rows = query("SELECT * FROM devices WHERE tenant_id = ? ORDER BY created_at, id")
            .bind(tenant.0.to_string())
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?;
        rows.iter().map(device_from).collect()
    }

    pub(crate) async fn upsert_device(&self, u: &DeviceUpsert) -> StoreResult<Device> {
        let r = &u.report;
        let tags = r.tags.as_ref().map(json).transpose()?;
        let row = query(
            "INSERT INTO devices (id, tenant_id, code, kind, name, os, app_version, push_token, tags,
                                  user_id, session_id, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, COALESCE(?9, '[]'), ?10, ?11, ?12, ?12)
             ON CONFLICT (tenant_id, code) DO UPDATE SET
                 kind = COALESCE(excluded.kind, devices.kind),
                 name = COALESCE(excluded.name, devices.name),
                 os = COALESCE(excluded.os, devices.os),
                 app_version = COALESCE(excluded.app_version, devices.app_version),
                 push_token = CASE WHEN ?13 THEN excluded.push_token
                                   ELSE COALESCE(excluded.push_token, devices.push_token) END,
                 tags = COALESCE(?9, devices.tags),
                 user_id = CASE WHEN ?13 THEN excluded.user_id
                                ELSE COALESCE(excluded.user_id, devices.user_id) END,
                 session_id = CASE WHEN ?13 THEN excluded.session_id
                                   ELSE COALESCE(excluded.session_id, devices.session_id) END,
                 updated_at = excluded.updated_at
             RETURNING *",
        )
        .bind(u.new_id.0.to_string())
        .bind(u.tenant_id.0.to_string())
        .bind(&r.code)
        .bind(&r.kind)
        .bind(&r.name)
        .bind(&r.os)
        .bind(&r.app_version)
        .bind(&r.push_token)
        .bind(tags)
        .bind(u.bind.map(|(user, _)| user.0.to_string()))
        .bind(u.bind.map(|(_, session)| session.0.to_string()))
        .bind(u.at.0)
        .bind(u.take_over)
        .fetch_one(&self.write)
        .await
        .map_err(db_err)?;
        device_from(&row)
    }

    pub(crate) async fn get_device(&self, id: DeviceId) -> StoreResult<Option<Device>> {
        let row = query("SELECT * FROM devices WHERE id = ?")
            .bind(id.0.to_string())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        row.as_ref().map(device_from).transpose()
    }

    pub(crate) async fn find_device(
        &self,
        tenant: TenantId,
        code: &str,
    ) -> StoreResult<Option<Device>> {
        let row = query("SELECT * FROM devices WHERE tenant_id = ? AND code = ?")
            .bind(tenant.0.to_string())
            .bind(code)
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        row.as_ref().map(device_from).transpose()
    }

    pub(crate) async fn list_user_devices(&self, user: UserId) -> StoreResult<Vec<Device>> {
        let rows = query("SELECT * FROM devices WHERE user_id = ? ORDER BY updated_at DESC, id")
            .bind(user.0.to_string())
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?;
        rows.iter().map(device_from).collect()
    }
}
