//! Operator tasks: users, sessions and keys, as the CLI and the admin API need them.

use super::{AuditRecord, Core};
use crate::audit::{AuditEvent, AuditFilter, RequestContext};
use crate::error::{CoreError, CoreResult};
use crate::ids::{ProfileId, SessionId, TenantId, UserId};
use crate::policy::PolicyContext;
use crate::session::{Session, SessionFilter};
use crate::tenant::Tenant;
use crate::user::{
    User, UserKind, UserStatus, normalize_login, parse_email, parse_phone, parse_username,
};
use tracing::instrument;
use zeroize::Zeroizing;

pub struct NewUser {
    pub kind: UserKind,
    pub email: Option<String>,
    pub username: Option<String>,
    pub phone: Option<String>,
    pub password: Option<Zeroizing<String>>,
    pub store: Option<String>,
    pub profiles: Vec<String>,
}

impl Core {
    /// Audit events matching `filter`, newest first.
    pub async fn audit_events(&self, filter: &AuditFilter) -> CoreResult<Vec<AuditEvent>> {
        Ok(self.store.list_audit(filter).await?)
    }

    /// Check a new password against the tenant's policy; all violations in one error.
    pub fn check_password(
        &self,
        tenant: &Tenant,
        field: &str,
        password: &str,
        ctx: PolicyContext<'_>,
    ) -> CoreResult<()> {
        let violations = tenant.password_policy.check(password, ctx);
        if violations.is_empty() {
            Ok(())
        } else {
            Err(CoreError::WeakPassword {
                field: field.to_owned(),
                violations,
            })
        }
    }

    #[instrument(skip_all, fields(tenant = %tenant.slug))]
    pub async fn add_user(&self, tenant: &Tenant, new: NewUser) -> CoreResult<User> {
        let email = new
            .email
            .as_deref()
            .map(parse_email)
            .transpose()
            .map_err(|m| CoreError::field("email", "invalid_email", m))?;
        let username = new
            .username
            .as_deref()
            .map(parse_username)
            .transpose()
            .map_err(|m| CoreError::field("username", "invalid_username", m))?;
        let phone = new
            .phone
            .as_deref()
            .map(parse_phone)
            .transpose()
            .map_err(|m| CoreError::field("phone", "invalid_phone", m))?;
        if email.is_none() && username.is_none() {
            return Err(CoreError::invalid(
                "identifier_required",
                "a user needs an e-mail or a username",
            ));
        }
        let store_id = match new.store.as_deref() {
            Some(code) => self.resolve_store(tenant, Some(code), None)?.map(|s| s.id),
            None => None,
        };
        let profiles = self.profile_ids(tenant, &new.profiles).await?;
        let password_hash = match new.password {
            Some(pw) => {
                self.check_password(
                    tenant,
                    "password",
                    &pw,
                    PolicyContext {
                        email: email.as_deref(),
                        username: username.as_deref(),
                    },
                )?;
                Some(self.hasher.hash(pw).await?)
            }
            None => None,
        };
        let now = self.now();
        let user = User {
            id: UserId::new(),
            tenant_id: tenant.id,
            kind: new.kind,
            email,
            username,
            phone,
            status: UserStatus::Active,
            password_hash,
            password_origin: None,
            password_changed_at: now,
            store_id,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_user(&user, &profiles).await?;
        self.audit(AuditRecord {
            action: "user.created",
            tenant: Some(tenant.id),
            user: Some(user.id),
            ..Default::default()
        })
        .await;
        Ok(user)
    }

    pub(crate) async fn profile_ids(
        &self,
        tenant: &Tenant,
        names: &[String],
    ) -> CoreResult<Vec<ProfileId>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let known = self.store.list_profiles(tenant.id).await?;
        names
            .iter()
            .map(|n| {
                known
                    .iter()
                    .find(|p| &p.name == n)
                    .map(|p| p.id)
                    .ok_or_else(|| {
                        CoreError::field(
                            "profiles",
                            "unknown_profile",
                            format!("no profile named {n:?}"),
                        )
                    })
            })
            .collect()
    }

    /// The profiles a user has: their own and their kind's defaults in the tenant, sorted.
    pub async fn profiles_of(&self, user: &User) -> CoreResult<Vec<String>> {
        let names = self.store.user_profile_names(user.id).await?;
        Ok(self.with_default_profiles(user, names))
    }

    /// A user's own profile names with their kind's defaults in the tenant, sorted.
    pub(crate) fn with_default_profiles(&self, user: &User, mut names: Vec<String>) -> Vec<String> {
        if let Some(defaults) = self
            .directory()
            .tenant(user.tenant_id)
            .and_then(|t| t.default_profiles.get(&user.kind))
        {
            names.extend(defaults.iter().cloned());
        }
        names.sort();
        names.dedup();
        names
    }

    /// A user by id.
    pub async fn user(&self, id: UserId) -> CoreResult<User> {
        self.store
            .get_user(id)
            .await?
            .ok_or(CoreError::NotFound("user"))
    }

    pub async fn find_user(
        &self,
        tenant: &Tenant,
        kind: UserKind,
        login: &str,
    ) -> CoreResult<User> {
        self.store
            .find_user(tenant.id, kind, &normalize_login(login))
            .await?
            .ok_or(CoreError::NotFound("user"))
    }

    /// Set a new password (policy checked) and end the user's sessions.
    #[instrument(skip_all, fields(user = %user.id))]
    pub async fn set_password(
        &self,
        tenant: &Tenant,
        user: &User,
        password: Zeroizing<String>,
        actor: &str,
    ) -> CoreResult<()> {
        self.check_password(
            tenant,
            "password",
            &password,
            PolicyContext {
                email: user.email.as_deref(),
                username: user.username.as_deref(),
            },
        )?;
        let hash = self.hasher.hash(password).await?;
        self.store
            .set_password_hash(user.id, &hash, None, self.now())
            .await?;
        self.end_user_sessions(user, "password_changed").await?;
        self.audit(AuditRecord {
            action: "password.changed",
            tenant: Some(tenant.id),
            user: Some(user.id),
            detail: format!("by {actor}"),
            ..Default::default()
        })
        .await;
        Ok(())
    }

    /// Disable a user and end their sessions.
    pub async fn set_user_status(
        &self,
        user: &User,
        status: UserStatus,
        actor: &str,
    ) -> CoreResult<()> {
        self.store
            .set_user_status(user.id, status, self.now())
            .await?;
        if status != UserStatus::Active {
            self.end_user_sessions(user, "user_disabled").await?;
        }
        self.audit(AuditRecord {
            action: "user.status_changed",
            tenant: Some(user.tenant_id),
            user: Some(user.id),
            detail: format!("{} by {actor}", status.as_str()),
            ..Default::default()
        })
        .await;
        Ok(())
    }

    pub(crate) async fn end_user_sessions(&self, user: &User, reason: &str) -> CoreResult<()> {
        for sid in self
            .store
            .revoke_user_sessions(user.id, self.now(), reason)
            .await?
        {
            self.mark_revoked(sid);
        }
        Ok(())
    }

    /// The user with an integer id, within `tenant` and of `kind`.
    pub async fn user_by_number(
        &self,
        tenant: TenantId,
        kind: UserKind,
        number: i64,
    ) -> CoreResult<Option<User>> {
        let Some(id) = self.store.user_by_number(number).await? else {
            return Ok(None);
        };
        let user = self.store.get_user(id).await?;
        Ok(user.filter(|u| u.tenant_id == tenant && u.kind == kind))
    }

    /// The user's integer id (for APIs whose clients expect integers), given on first need.
    pub async fn user_number(&self, user: &User) -> CoreResult<i64> {
        Ok(self.store.user_number(user.id).await?)
    }

    pub async fn list_users(
        &self,
        tenant: &Tenant,
        kind: Option<UserKind>,
    ) -> CoreResult<Vec<User>> {
        Ok(self.store.list_users(tenant.id, kind).await?)
    }

    pub async fn list_sessions(&self, filter: &SessionFilter) -> CoreResult<Vec<Session>> {
        Ok(self.store.list_sessions(filter).await?)
    }

    pub async fn revoke_session_by_operator(&self, sid: SessionId, actor: &str) -> CoreResult<()> {
        let session = self
            .store
            .get_session(sid)
            .await?
            .ok_or(CoreError::NotFound("session"))?;
        if session.revoked_at.is_some() {
            return Err(CoreError::Conflict("the session is already revoked".into()));
        }
        self.revoke_session(
            sid,
            &format!("revoked by {actor}"),
            &RequestContext::default(),
        )
        .await
    }

    /// Rotates the key of every enabled tenant whose current key is older than `max_age`;
    /// returns the new key ids. Keys are re-read first, so a rotation another node just made
    /// is seen and not repeated (two nodes rotating at the same instant make two keys, both
    /// published: harmless).
    pub async fn rotate_due_keys(&self, max_age: std::time::Duration) -> CoreResult<Vec<String>> {
        let now = self.now();
        let due = |core: &Self| -> Vec<std::sync::Arc<Tenant>> {
            let ring = core.keys.load();
            core.directory()
                .tenants()
                .filter(|t| t.enabled)
                .filter(|t| {
                    ring.current(t.id)
                        .is_some_and(|k| now >= k.created_at.plus(max_age))
                })
                .cloned()
                .collect()
        };
        if due(self).is_empty() {
            return Ok(Vec::new());
        }
        self.reload_keys().await?;
        let mut rotated = Vec::new();
        for tenant in due(self) {
            let kid = self.rotate_key(&tenant).await?;
            tracing::info!(tenant = %tenant.slug, %kid, "signing key rotated on schedule");
            rotated.push(kid);
        }
        Ok(rotated)
    }

    /// Give the tenant a new current signing key. The previous one keeps verifying (and stays
    /// in the JWKS) until every token it signed has expired.
    pub async fn rotate_key(&self, tenant: &Tenant) -> CoreResult<String> {
        let kid = self.add_key(tenant).await?;
        self.reload_keys().await?;
        self.audit(AuditRecord {
            action: "key.rotated",
            tenant: Some(tenant.id),
            detail: kid.clone(),
            ..Default::default()
        })
        .await;
        Ok(kid)
    }
}
