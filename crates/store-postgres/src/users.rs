//! Users and their profile assignments.

use crate::codec::{get, get_parsed, get_ts};
use crate::{PgStore, db_err};
use portcullis_core::ids::{ProfileId, StorefrontId, TenantId, UserId};
use portcullis_core::user::{User, UserKind, UserStatus, normalize_login};
use portcullis_core::{StoreError, StoreResult, Timestamp};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, query};
use std::borrow::Cow;
use std::sync::LazyLock;
use uuid::Uuid;

fn user_from(row: &PgRow) -> StoreResult<User> {
    user_from_prefixed(row, "")
}

/// The user columns of a join, named `u_<column>` (see [`user_from_prefixed`]).
pub(crate) const USER_COLUMNS_AS_U: &str = "u.id AS u_id, u.tenant_id AS u_tenant_id, \
    u.kind AS u_kind, u.email AS u_email, u.username AS u_username, u.phone AS u_phone, \
    u.status AS u_status, u.password_hash AS u_password_hash, \
    u.password_origin AS u_password_origin, u.password_changed_at AS u_password_changed_at, \
    u.store_id AS u_store_id, u.created_at AS u_created_at, u.updated_at AS u_updated_at";

/// The query for the user of a kind in a tenant whose e-mail or username is a (normalized)
/// login, e-mail matches first, with their profile names; the three are parameters `$tenant`,
/// `$kind` and `$login`.
pub(crate) fn user_by_login(tenant: usize, kind: usize, login: usize) -> String {
    format!(
        "SELECT u.*, ARRAY(SELECT p.name FROM user_profiles up JOIN profiles p ON p.id = up.profile_id
                           WHERE up.user_id = u.id ORDER BY p.name) AS profile_names
         FROM users u WHERE u.tenant_id = ${tenant} AND u.kind = ${kind}
                        AND (u.email_norm = ${login} OR u.username_norm = ${login})
         ORDER BY (u.email_norm IS NOT DISTINCT FROM ${login}) DESC LIMIT 1"
    )
}

/// A user from a row whose user columns carry `prefix`, as in a join with other tables.
pub(crate) fn user_from_prefixed(row: &PgRow, prefix: &str) -> StoreResult<User> {
    let c = |name: &'static str| -> Cow<'static, str> {
        if prefix.is_empty() {
            name.into()
        } else {
            format!("{prefix}{name}").into()
        }
    };
    Ok(User {
        id: UserId(get::<Uuid>(row, &c("id"))?),
        tenant_id: TenantId(get::<Uuid>(row, &c("tenant_id"))?),
        kind: get_parsed(row, &c("kind"), UserKind::parse)?,
        email: get(row, &c("email"))?,
        username: get(row, &c("username"))?,
        phone: get(row, &c("phone"))?,
        status: get_parsed(row, &c("status"), UserStatus::parse)?,
        password_hash: get(row, &c("password_hash"))?,
        password_origin: get(row, &c("password_origin"))?,
        password_changed_at: get_ts(row, &c("password_changed_at"))?,
        store_id: get::<Option<Uuid>>(row, &c("store_id"))?.map(StorefrontId),
        created_at: get_ts(row, &c("created_at"))?,
        updated_at: get_ts(row, &c("updated_at"))?,
    })
}

/// Inserts or replaces a user (every column but `created_at`).
pub(crate) async fn upsert_user(tx: &mut PgConnection, u: &User) -> StoreResult<()> {
    query(
        "INSERT INTO users (id, tenant_id, kind, email, email_norm, username, username_norm, phone, status,
                            password_hash, password_origin, store_id, created_at, updated_at,
                            password_changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, email = excluded.email,
             email_norm = excluded.email_norm, username = excluded.username,
             username_norm = excluded.username_norm, phone = excluded.phone, status = excluded.status,
             password_hash = excluded.password_hash, password_origin = excluded.password_origin,
             store_id = excluded.store_id, password_changed_at = excluded.password_changed_at,
             updated_at = excluded.updated_at",
    )
    .bind(u.id.0)
    .bind(u.tenant_id.0)
    .bind(u.kind.as_str())
    .bind(&u.email)
    .bind(u.email.as_deref().map(normalize_login))
    .bind(&u.username)
    .bind(u.username.as_deref().map(normalize_login))
    .bind(&u.phone)
    .bind(u.status.as_str())
    .bind(&u.password_hash)
    .bind(&u.password_origin)
    .bind(u.store_id.map(|s| s.0))
    .bind(u.created_at.0)
    .bind(u.updated_at.0)
    .bind(u.password_changed_at.0)
    .execute(tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn assign_profiles(
    tx: &mut PgConnection,
    user: UserId,
    profiles: &[ProfileId],
) -> StoreResult<()> {
    for p in profiles {
        query("INSERT INTO user_profiles (user_id, profile_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(user.0)
            .bind(p.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Users of a restore's page in one statement, one array per column, with their profile
/// assignments in another. The target is empty: plain inserts, no upsert.
pub(crate) async fn insert_users(
    tx: &mut PgConnection,
    users: &[User],
    profiles: &[(UserId, ProfileId)],
) -> StoreResult<()> {
    if !users.is_empty() {
        let texts = |f: fn(&User) -> Option<String>| users.iter().map(f).collect::<Vec<_>>();
        let times = |f: fn(&User) -> i64| users.iter().map(f).collect::<Vec<_>>();
        query(
            "INSERT INTO users (id, tenant_id, kind, email, email_norm, username, username_norm,
                                phone, status, password_hash, password_origin, store_id,
                                created_at, updated_at, password_changed_at)
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[],
                                  $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                                  $11::text[], $12::uuid[], $13::int8[], $14::int8[],
                                  $15::int8[])",
        )
        .bind(users.iter().map(|u| u.id.0).collect::<Vec<_>>())
        .bind(users.iter().map(|u| u.tenant_id.0).collect::<Vec<_>>())
        .bind(texts(|u| Some(u.kind.as_str().to_owned())))
        .bind(texts(|u| u.email.clone()))
        .bind(texts(|u| u.email.as_deref().map(normalize_login)))
        .bind(texts(|u| u.username.clone()))
        .bind(texts(|u| u.username.as_deref().map(normalize_login)))
        .bind(texts(|u| u.phone.clone()))
        .bind(texts(|u| Some(u.status.as_str().to_owned())))
        .bind(texts(|u| u.password_hash.clone()))
        .bind(texts(|u| u.password_origin.clone()))
        .bind(
            users
                .iter()
                .map(|u| u.store_id.map(|s| s.0))
                .collect::<Vec<_>>(),
        )
        .bind(times(|u| u.created_at.0))
        .bind(times(|u| u.updated_at.0))
        .bind(times(|u| u.password_changed_at.0))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    }
    if !profiles.is_empty() {
        query(
            "INSERT INTO user_profiles (user_id, profile_id)
             SELECT * FROM unnest($1::uuid[], $2::uuid[])",
        )
        .bind(profiles.iter().map(|(u, _)| u.0).collect::<Vec<_>>())
        .bind(profiles.iter().map(|(_, p)| p.0).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

impl PgStore {
    pub(crate) async fn insert_user(&self, user: &User, profiles: &[ProfileId]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let exists = query("SELECT 1 FROM users WHERE id = $1")
            .bind(user.id.0)
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
        let row = query("SELECT * FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
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
        static SQL: LazyLock<String> = LazyLock::new(|| user_by_login(1, 2, 3));
        let row = query(&SQL)
            .bind(tenant.0)
            .bind(kind.as_str())
            .bind(&login)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref()
            .map(|r| Ok((user_from(r)?, get::<Vec<String>>(r, "profile_names")?)))
            .transpose()
    }

    pub(crate) async fn list_users(
        &self,
        tenant: TenantId,
        kind: Option<UserKind>,
    ) -> StoreResult<Vec<User>> {
        let rows = query("SELECT * FROM users WHERE tenant_id = $1 AND ($2 IS NULL OR kind = $3) ORDER BY created_at, id")
            .bind(tenant.0)
            .bind(kind.map(UserKind::as_str))
            .bind(kind.map(UserKind::as_str))
            .fetch_all(&self.pool)
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
        let mut tx = self.begin().await?;
        let done = query(
            "UPDATE users SET password_hash = $1, updated_at = $2,
                 password_origin = CASE WHEN $4 IS NULL THEN NULL ELSE password_origin END,
                 password_changed_at = CASE WHEN $4 IS NULL THEN $2 ELSE password_changed_at END
             WHERE id = $3 AND ($4 IS NULL OR password_hash IS NOT DISTINCT FROM $4)",
        )
        .bind(hash)
        .bind(at.0)
        .bind(user.0)
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
        let done = query("UPDATE users SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(at.0)
            .bind(user.0)
            .execute(&self.pool)
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
             WHERE up.user_id = $1 ORDER BY p.name",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| get(r, "name")).collect()
    }

    pub(crate) async fn users_after(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> StoreResult<Vec<(User, Vec<ProfileId>)>> {
        const PROFILES: &str =
            "ARRAY(SELECT profile_id FROM user_profiles WHERE user_id = u.id ORDER BY profile_id)";
        // Two texts, as in `sessions_after`.
        let limit = i64::from(limit);
        let rows = match after {
            None => {
                query(&format!(
                    "SELECT u.*, {PROFILES} AS profile_ids FROM users u ORDER BY u.id LIMIT $1"
                ))
                .bind(limit)
                .fetch_all(&self.pool)
                .await
            }
            Some(id) => {
                query(&format!(
                    "SELECT u.*, {PROFILES} AS profile_ids FROM users u WHERE u.id > $1
                     ORDER BY u.id LIMIT $2"
                ))
                .bind(id.0)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let profiles = get::<Vec<Uuid>>(r, "profile_ids")?;
                Ok((user_from(r)?, profiles.into_iter().map(ProfileId).collect()))
            })
            .collect()
    }

    pub(crate) async fn user_profile_ids(&self, user: UserId) -> StoreResult<Vec<ProfileId>> {
        let rows =
            query("SELECT profile_id FROM user_profiles WHERE user_id = $1 ORDER BY profile_id")
                .bind(user.0)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        rows.iter()
            .map(|r| Ok(ProfileId(get::<Uuid>(r, "profile_id")?)))
            .collect()
    }

    pub(crate) async fn user_number(&self, user: UserId) -> StoreResult<i64> {
        let lookup = "SELECT number FROM user_numbers WHERE user_id = $1";
        let existing: Option<i64> = sqlx::query_scalar(lookup)
            .bind(user.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        if let Some(n) = existing {
            return Ok(n);
        }
        // First need: give one; a concurrent caller's insert wins and both read it back.
        query("INSERT INTO user_numbers (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING")
            .bind(user.0)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        sqlx::query_scalar(lookup)
            .bind(user.0)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)
    }

    pub(crate) async fn list_user_numbers(&self) -> StoreResult<Vec<(UserId, i64)>> {
        let rows = query("SELECT user_id, number FROM user_numbers ORDER BY number")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|row| Ok((UserId(get(row, "user_id")?), get(row, "number")?)))
            .collect()
    }

    pub(crate) async fn user_by_number(&self, number: i64) -> StoreResult<Option<UserId>> {
        let row = query("SELECT user_id FROM user_numbers WHERE number = $1")
            .bind(number)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        match row {
            Some(row) => Ok(Some(UserId(crate::codec::get::<uuid::Uuid>(
                &row, "user_id",
            )?))),
            None => Ok(None),
        }
    }
}

/// Numbers as they were given (`migrate-store`), then the sequence moved past the largest,
/// so the next user given one gets a new number.
pub(crate) async fn insert_user_numbers(
    tx: &mut PgConnection,
    numbers: &[(UserId, i64)],
) -> StoreResult<()> {
    query(
        "INSERT INTO user_numbers (user_id, number)
         SELECT * FROM UNNEST($1::uuid[], $2::int8[])",
    )
    .bind(numbers.iter().map(|(u, _)| u.0).collect::<Vec<_>>())
    .bind(numbers.iter().map(|(_, n)| *n).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    query(
        "SELECT setval(pg_get_serial_sequence('user_numbers', 'number'), m)
         FROM (SELECT max(number) AS m FROM user_numbers) AS top WHERE m IS NOT NULL",
    )
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    Ok(())
}
