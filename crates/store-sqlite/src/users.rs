//! Users and their profile assignments.

use crate::codec::{get, get_json, get_opt_uuid, get_parsed, get_ts, get_uuid};
use crate::{SqliteStore, db_err};
use portcullis_core::ids::{ProfileId, StorefrontId, TenantId, UserId};
use portcullis_core::user::{User, UserKind, UserStatus, normalize_login};
use portcullis_core::{StoreError, StoreResult, Timestamp};
use sqlx::sqlite::SqliteRow;
use sqlx::{SqliteConnection, query};
use std::borrow::Cow;

fn user_from(row: &SqliteRow) -> StoreResult<User> {
    user_from_prefixed(row, "")
}

/// The user columns of a join, named `u_<column>` (see [`user_from_prefixed`]).
pub(crate) const USER_COLUMNS_AS_U: &str = "u.id AS u_id, u.tenant_id AS u_tenant_id, \
    u.kind AS u_kind, u.email AS u_email, u.username AS u_username, u.phone AS u_phone, \
    u.status AS u_status, u.password_hash AS u_password_hash, \
    u.password_origin AS u_password_origin, u.password_changed_at AS u_password_changed_at, \
    u.store_id AS u_store_id, u.created_at AS u_created_at, u.updated_at AS u_updated_at";

/// A user from a row whose user columns carry `prefix`, as in a join with other tables.
pub(crate) fn user_from_prefixed(row: &SqliteRow, prefix: &str) -> StoreResult<User> {
    let c = |name: &'static str| -> Cow<'static, str> {
        if prefix.is_empty() {
            name.into()
        } else {
            format!("{prefix}{name}").into()
        }
    };
    Ok(User {
        id: UserId(get_uuid(row, &c("id"))?),
        tenant_id: TenantId(get_uuid(row, &c("tenant_id"))?),
        kind: get_parsed(row, &c("kind"), UserKind::parse)?,
        email: get(row, &c("email"))?,
        username: get(row, &c("username"))?,
        phone: get(row, &c("phone"))?,
        status: get_parsed(row, &c("status"), UserStatus::parse)?,
        password_hash: get(row, &c("password_hash"))?,
        password_origin: get(row, &c("password_origin"))?,
        password_changed_at: get_ts(row, &c("password_changed_at"))?,
        store_id: get_opt_uuid(row, &c("store_id"))?.map(StorefrontId),
        created_at: get_ts(row, &c("created_at"))?,
        updated_at: get_ts(row, &c("updated_at"))?,
    })
}

/// Inserts or replaces a user (every column but `created_at`).
pub(crate) async fn upsert_user(tx: &mut SqliteConnection, u: &User) -> StoreResult<()> {
    query(
        "INSERT INTO users (id, tenant_id, kind, email, email_norm, username, username_norm, phone, status,
                            password_hash, password_origin, store_id, created_at, updated_at,
                            password_changed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, email = excluded.email,
             email_norm = excluded.email_norm, username = excluded.username,
             username_norm = excluded.username_norm, phone = excluded.phone, status = excluded.status,
             password_hash = excluded.password_hash, password_origin = excluded.password_origin,
             store_id = excluded.store_id, password_changed_at = excluded.password_changed_at,
             updated_at = excluded.updated_at",
    )
    .bind(u.id.0.to_string())
    .bind(u.tenant_id.0.to_string())
    .bind(u.kind.as_str())
    .bind(&u.email)
    .bind(u.email.as_deref().map(normalize_login))
    .bind(&u.username)
    .bind(u.username.as_deref().map(normalize_login))
    .bind(&u.phone)
    .bind(u.status.as_str())
    .bind(&u.password_hash)
    .bind(&u.password_origin)
    .bind(u.store_id.map(|s| s.0.to_string()))
    .bind(u.created_at.0)
    .bind(u.updated_at.0)
    .bind(u.password_changed_at.0)
    .execute(tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn assign_profiles(
    tx: &mut SqliteConnection,
    user: UserId,
    profiles: &[ProfileId],
) -> StoreResult<()> {
    for p in profiles {
        query("INSERT OR IGNORE INTO user_profiles (user_id, profile_id) VALUES (?, ?)")
            .bind(user.0.to_string())
            .bind(p.0.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

impl SqliteStore {
    pub(crate) async fn insert_user(&self, user: &User, profiles: &[ProfileId]) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        let exists = query("SELECT 1 FROM users WHERE id = ?")
            .bind(user.id.0.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if exists.is_some() {
            return Err(StoreError::Conflict(format!("user {} exists", user.id)));
        }
        upsert_user(&mut tx, user).await?;
        assign_profiles(&mut tx, user.id, profiles).await?;
        tx.commit().await.map_err(db_err)
    }

    pub(crate) async fn get_user(&self, id: UserId) -> StoreResult<Option<User>> {
        let row = query("SELECT * FROM users WHERE id = ?")
            .bind(id.0.to_string())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        row.as_ref().map(user_from).transpose()
    }

    pub(crate) async fn find_user_with_profiles(
        &self,
        tenant: TenantId,
        kind: UserKind,
        login: &str,
    ) -> StoreResult<Option<(User, Vec<String>)>> {
        let login = normalize_login(login);
        // The names as a JSON array: SQLite has no array type.
        let row = query(
            "SELECT u.*, (SELECT json_group_array(name) FROM
                            (SELECT p.name AS name FROM user_profiles up JOIN profiles p ON p.id = up.profile_id
                             WHERE up.user_id = u.id ORDER BY p.name)) AS profile_names
             FROM users u WHERE u.tenant_id = ?1 AND u.kind = ?2 AND (u.email_norm = ?3 OR u.username_norm = ?3)
             ORDER BY (u.email_norm IS ?3) DESC LIMIT 1",
        )
        .bind(tenant.0.to_string())
        .bind(kind.as_str())
        .bind(&login)
        .fetch_optional(&self.read)
        .await
        .map_err(db_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let names: String = get(&row, "profile_names")?;
        let names = serde_json::from_str(&names)
            .map_err(|e| StoreError::Internal(format!("profile names of a user: {e}")))?;
        Ok(Some((user_from(&row)?, names)))
    }

    pub(crate) async fn list_users(
        &self,
        tenant: TenantId,
        kind: Option<UserKind>,
    ) -> StoreResult<Vec<User>> {
        let rows = query("SELECT * FROM users WHERE tenant_id = ? AND (? IS NULL OR kind = ?) ORDER BY created_at, id")
            .bind(tenant.0.to_string())
            .bind(kind.map(UserKind::as_str))
            .bind(kind.map(UserKind::as_str))
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?;
        rows.iter().map(user_from).collect()
    }

    pub(crate) async fn set_password_hash(
        &self,
        user: UserId,
        hash: &str,
        expected: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let done = query(
            "UPDATE users SET password_hash = ?1, updated_at = ?2,
                 password_origin = CASE WHEN ?4 IS NULL THEN NULL ELSE password_origin END,
                 password_changed_at = CASE WHEN ?4 IS NULL THEN ?2 ELSE password_changed_at END
             WHERE id = ?3 AND (?4 IS NULL OR password_hash IS ?4)",
        )
        .bind(hash)
        .bind(at.0)
        .bind(user.0.to_string())
        .bind(expected)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 && expected.is_none() {
            return Err(StoreError::NotFound("user"));
        }
        if expected.is_none() {
            // A new password ends every reset link sent for the old one.
            crate::resets::void_resets(&mut tx, user, at).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn set_user_status(
        &self,
        user: UserId,
        status: UserStatus,
        at: Timestamp,
    ) -> StoreResult<()> {
        let done = query("UPDATE users SET status = ?, updated_at = ? WHERE id = ?")
            .bind(status.as_str())
            .bind(at.0)
            .bind(user.0.to_string())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    pub(crate) async fn user_profile_names(&self, user: UserId) -> StoreResult<Vec<String>> {
        let rows = query(
            "SELECT p.name FROM user_profiles up JOIN profiles p ON p.id = up.profile_id
             WHERE up.user_id = ? ORDER BY p.name",
        )
        .bind(user.0.to_string())
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| get(r, "name")).collect()
    }

    pub(crate) async fn users_after(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> StoreResult<Vec<(User, Vec<ProfileId>)>> {
        // As in `sessions_after`: '' sorts before every id.
        let rows = query(
            "SELECT u.*, (SELECT json_group_array(profile_id) FROM
                            (SELECT profile_id FROM user_profiles WHERE user_id = u.id
                             ORDER BY profile_id)) AS profile_ids
             FROM users u WHERE u.id > ? ORDER BY u.id LIMIT ?",
        )
        .bind(after.map_or_else(String::new, |id| id.0.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let profiles: Vec<uuid::Uuid> = get_json(r, "profile_ids")?;
                Ok((user_from(r)?, profiles.into_iter().map(ProfileId).collect()))
            })
            .collect()
    }

    pub(crate) async fn user_profile_ids(&self, user: UserId) -> StoreResult<Vec<ProfileId>> {
        let rows =
            query("SELECT profile_id FROM user_profiles WHERE user_id = ? ORDER BY profile_id")
                .bind(user.0.to_string())
                .fetch_all(&self.read)
                .await
                .map_err(db_err)?;
        rows.iter()
            .map(|r| Ok(ProfileId(get_uuid(r, "profile_id")?)))
            .collect()
    }

    pub(crate) async fn user_number(&self, user: UserId) -> StoreResult<i64> {
        let lookup = "SELECT number FROM user_numbers WHERE user_id = ?";
        let existing: Option<i64> = sqlx::query_scalar(lookup)
            .bind(user.0.to_string())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        if let Some(n) = existing {
            return Ok(n);
        }
        // First need: give one (the single writer makes check-and-insert safe).
        let mut tx = self.write_tx().await?;
        query("INSERT OR IGNORE INTO user_numbers (user_id) VALUES (?)")
            .bind(user.0.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let n: i64 = sqlx::query_scalar(lookup)
            .bind(user.0.to_string())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    pub(crate) async fn list_user_numbers(&self) -> StoreResult<Vec<(UserId, i64)>> {
        let rows = query("SELECT user_id, number FROM user_numbers ORDER BY number")
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|row| Ok((UserId(get_uuid(row, "user_id")?), get(row, "number")?)))
            .collect()
    }

    pub(crate) async fn user_by_number(&self, number: i64) -> StoreResult<Option<UserId>> {
        let row = query("SELECT user_id FROM user_numbers WHERE number = ?")
            .bind(number)
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        match row {
            Some(row) => Ok(Some(UserId(crate::codec::get_uuid(&row, "user_id")?))),
            None => Ok(None),
        }
    }
}

/// A number as it was given (`migrate-store`); AUTOINCREMENT goes on after the largest.
pub(crate) async fn insert_user_number(
    tx: &mut sqlx::SqliteConnection,
    user: UserId,
    number: i64,
) -> StoreResult<()> {
    query("INSERT INTO user_numbers (number, user_id) VALUES (?, ?)")
        .bind(number)
        .bind(user.0.to_string())
        .execute(tx)
        .await
        .map_err(db_err)?;
    Ok(())
}
