//! Tenants, storefronts, apps, profiles and signing keys, and provisioning plans over them.

use crate::codec::{get, get_json, get_opt_ts, get_parsed, get_ts, json};
use crate::feed::record_change;
use crate::users::upsert_user;
use crate::{PgStore, db_err};
use portcullis_core::app::ClientApp;
use portcullis_core::ids::{AppId, ProfileId, StorefrontId, TenantId};
use portcullis_core::keys::StoredKey;
use portcullis_core::policy::PolicyLevel;
use portcullis_core::profile::Profile;
use portcullis_core::provisioning::ProvisionPlan;
use portcullis_core::secret::SecretHash;
use portcullis_core::session::ChangeKind;
use portcullis_core::tenant::{SigningAlg, Storefront, Tenant, TokenSettings};
use portcullis_core::{StoreError, StoreResult, Timestamp};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, query};
use uuid::Uuid;

/// The tenant fields kept together in the `settings` JSON column.
#[derive(Serialize, Deserialize)]
struct TenantSettings {
    brand_urls: Vec<String>,
    password_policy: PolicyLevel,
    signing_alg: SigningAlg,
    tokens: TokenSettings,
    #[serde(default)]
    passwords: portcullis_core::reset::PasswordRules,
    #[serde(default)]
    limits: portcullis_core::limits::LoginLimits,
    #[serde(default)]
    default_profiles: std::collections::BTreeMap<portcullis_core::user::UserKind, Vec<String>>,
}

fn tenant_from(row: &PgRow) -> StoreResult<Tenant> {
    let s: TenantSettings = get_json(row, "settings")?;
    Ok(Tenant {
        id: TenantId(get::<Uuid>(row, "id")?),
        slug: get(row, "slug")?,
        name: get(row, "name")?,
        brand_urls: s.brand_urls,
        password_policy: s.password_policy,
        signing_alg: s.signing_alg,
        tokens: s.tokens,
        passwords: s.passwords,
        limits: s.limits,
        default_profiles: s.default_profiles,
        enabled: get(row, "enabled")?,
        created_at: get_ts(row, "created_at")?,
    })
}

fn storefront_from(row: &PgRow) -> StoreResult<Storefront> {
    Ok(Storefront {
        id: StorefrontId(get::<Uuid>(row, "id")?),
        tenant_id: TenantId(get::<Uuid>(row, "tenant_id")?),
        code: get(row, "code")?,
        company_id: get(row, "company_id")?,
        name: get(row, "name")?,
        is_default: get(row, "is_default")?,
        views: get_json(row, "views")?,
    })
}

pub(crate) fn app_from(row: &PgRow) -> StoreResult<ClientApp> {
    let hash: Vec<u8> = get(row, "key_hash")?;
    Ok(ClientApp {
        id: AppId(get::<Uuid>(row, "id")?),
        tenant_id: TenantId(get::<Uuid>(row, "tenant_id")?),
        client_id: get(row, "client_id")?,
        name: get(row, "name")?,
        key_hash: SecretHash::from_slice(&hash)
            .ok_or_else(|| StoreError::Internal("bad key_hash".into()))?,
        kinds: get_json(row, "kinds")?,
        grants: get_json(row, "grants")?,
        redirect_hosts: get_json(row, "redirect_hosts")?,
        enabled: get(row, "enabled")?,
    })
}

fn profile_from(row: &PgRow) -> StoreResult<Profile> {
    Ok(Profile {
        id: ProfileId(get::<Uuid>(row, "id")?),
        tenant_id: TenantId(get::<Uuid>(row, "tenant_id")?),
        name: get(row, "name")?,
        rules: get_json(row, "rules")?,
    })
}

fn key_from(row: &PgRow) -> StoreResult<StoredKey> {
    Ok(StoredKey {
        kid: get(row, "kid")?,
        tenant_id: TenantId(get::<Uuid>(row, "tenant_id")?),
        alg: get_parsed(row, "alg", SigningAlg::parse)?,
        public_jwk: get(row, "public_jwk")?,
        private_sealed: get(row, "private_sealed")?,
        created_at: get_ts(row, "created_at")?,
        not_after: get_opt_ts(row, "not_after")?,
    })
}

impl PgStore {
    pub(crate) async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        let rows = query("SELECT * FROM tenants ORDER BY slug")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(tenant_from).collect()
    }

    pub(crate) async fn list_storefronts(&self) -> StoreResult<Vec<Storefront>> {
        let rows = query("SELECT * FROM storefronts ORDER BY tenant_id, code")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(storefront_from).collect()
    }

    pub(crate) async fn list_apps(&self) -> StoreResult<Vec<ClientApp>> {
        let rows = query("SELECT * FROM apps ORDER BY client_id")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(app_from).collect()
    }

    pub(crate) async fn list_profiles(&self, tenant: TenantId) -> StoreResult<Vec<Profile>> {
        let rows = query("SELECT * FROM profiles WHERE tenant_id = $1 ORDER BY name")
            .bind(tenant.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(profile_from).collect()
    }

    pub(crate) async fn find_app_by_client_id(
        &self,
        client_id: &str,
    ) -> StoreResult<Option<ClientApp>> {
        let row = query("SELECT * FROM apps WHERE client_id = $1")
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(app_from).transpose()
    }

    pub(crate) async fn find_app_by_key_hash(
        &self,
        hash: &SecretHash,
    ) -> StoreResult<Option<ClientApp>> {
        let row = query("SELECT * FROM apps WHERE key_hash = $1")
            .bind(hash.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(app_from).transpose()
    }

    pub(crate) async fn list_signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        let rows = query("SELECT * FROM signing_keys ORDER BY tenant_id, created_at")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(key_from).collect()
    }

    pub(crate) async fn add_signing_key(
        &self,
        key: &StoredKey,
        retire_previous_at: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        insert_key(&mut tx, key, retire_previous_at).await?;
        record_change(&mut tx, key.created_at, &ChangeKind::KeysChanged).await?;
        tx.commit().await.map_err(db_err)
    }

    pub(crate) async fn apply_provisioning(&self, plan: &ProvisionPlan) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for t in &plan.tenants {
            upsert_tenant(&mut tx, t).await?;
        }
        for s in &plan.storefronts {
            upsert_storefront(&mut tx, s).await?;
        }
        for a in &plan.apps {
            upsert_app(&mut tx, a).await?;
        }
        for p in &plan.profiles {
            upsert_profile(&mut tx, p).await?;
        }
        for u in &plan.users {
            upsert_user(&mut tx, u).await?;
        }
        for (user, profiles) in &plan.user_profiles {
            query("DELETE FROM user_profiles WHERE user_id = $1")
                .bind(user.0)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            crate::users::assign_profiles(&mut tx, *user, profiles).await?;
        }
        let now = plan
            .keys
            .first()
            .map(|k| k.created_at)
            .unwrap_or(plan.retire_previous_keys_at);
        for k in &plan.keys {
            insert_key(&mut tx, k, plan.retire_previous_keys_at).await?;
        }
        if !plan.keys.is_empty() {
            record_change(&mut tx, now, &ChangeKind::KeysChanged).await?;
        }
        record_change(&mut tx, now, &ChangeKind::DirectoryChanged).await?;
        tx.commit().await.map_err(db_err)
    }
}

pub(crate) async fn upsert_tenant(tx: &mut PgConnection, t: &Tenant) -> StoreResult<()> {
    let settings = TenantSettings {
        brand_urls: t.brand_urls.clone(),
        password_policy: t.password_policy,
        signing_alg: t.signing_alg,
        tokens: t.tokens.clone(),
        passwords: t.passwords.clone(),
        limits: t.limits.clone(),
        default_profiles: t.default_profiles.clone(),
    };
    query(
        "INSERT INTO tenants (id, slug, name, settings, enabled, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET slug = excluded.slug, name = excluded.name,
             settings = excluded.settings, enabled = excluded.enabled",
    )
    .bind(t.id.0)
    .bind(&t.slug)
    .bind(&t.name)
    .bind(json(&settings)?)
    .bind(t.enabled)
    .bind(t.created_at.0)
    .execute(tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn upsert_storefront(tx: &mut PgConnection, s: &Storefront) -> StoreResult<()> {
    query(
        "INSERT INTO storefronts (id, tenant_id, code, company_id, name, is_default, views) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET code = excluded.code, company_id = excluded.company_id,
             name = excluded.name, is_default = excluded.is_default, views = excluded.views",
    )
    .bind(s.id.0)
    .bind(s.tenant_id.0)
    .bind(&s.code)
    .bind(s.company_id)
    .bind(&s.name)
    .bind(s.is_default)
    .bind(json(&s.views)?)
    .execute(tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn upsert_app(tx: &mut PgConnection, a: &ClientApp) -> StoreResult<()> {
    query(
        "INSERT INTO apps (id, tenant_id, client_id, name, key_hash, kinds, grants, redirect_hosts, enabled)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (id) DO UPDATE SET client_id = excluded.client_id, name = excluded.name,
             key_hash = excluded.key_hash, kinds = excluded.kinds, grants = excluded.grants,
             redirect_hosts = excluded.redirect_hosts, enabled = excluded.enabled",
    )
    .bind(a.id.0)
    .bind(a.tenant_id.0)
    .bind(&a.client_id)
    .bind(&a.name)
    .bind(a.key_hash.as_bytes().as_slice())
    .bind(json(&a.kinds)?)
    .bind(json(&a.grants)?)
    .bind(json(&a.redirect_hosts)?)
    .bind(a.enabled)
    .execute(tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Inserts `key` as its tenant's current key and retires the previous current one.
async fn insert_key(
    tx: &mut PgConnection,
    key: &StoredKey,
    retire_previous_at: Timestamp,
) -> StoreResult<()> {
    query("UPDATE signing_keys SET not_after = $1 WHERE tenant_id = $2 AND not_after IS NULL")
        .bind(retire_previous_at.0)
        .bind(key.tenant_id.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    insert_key_row(tx, key).await
}

/// Inserts a key row as it is, retiring nothing.
pub(crate) async fn insert_key_row(tx: &mut PgConnection, key: &StoredKey) -> StoreResult<()> {
    query(
        "INSERT INTO signing_keys (kid, tenant_id, alg, public_jwk, private_sealed, created_at, not_after)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&key.kid)
    .bind(key.tenant_id.0)
    .bind(key.alg.as_str())
    .bind(&key.public_jwk)
    .bind(&key.private_sealed)
    .bind(key.created_at.0)
    .bind(key.not_after.map(|t| t.0))
    .execute(tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn upsert_profile(tx: &mut PgConnection, p: &Profile) -> StoreResult<()> {
    query(
        "INSERT INTO profiles (id, tenant_id, name, rules) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, rules = excluded.rules",
    )
    .bind(p.id.0)
    .bind(p.tenant_id.0)
    .bind(&p.name)
    .bind(json(&p.rules)?)
    .execute(tx)
    .await
    .map_err(db_err)?;
    Ok(())
}
