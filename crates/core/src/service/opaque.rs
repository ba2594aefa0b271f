//! Opaque tokens with a sliding lifetime. Each node keeps the tokens it has seen in memory
//! and writes their last use back at most once a minute, so a busy token costs no database
//! write per request. A token never outlives its window on the node that saw its last use;
//! another node may see a last use up to a minute old and so end it up to a minute early,
//! never late: before refusing it for inactivity, a node re-reads the stored last use.

use super::login::{Authenticated, PasswordLogin, Subject};
use super::{AuditRecord, Core};
use crate::app::ClientApp;
use crate::audit::RequestContext;
use crate::error::{CoreError, CoreResult};
use crate::ids::SessionId;
use crate::opaque::OpaqueRecord;
use crate::secret::{self, SecretHash};
use crate::session::Session;
use crate::tenant::Storefront;
use crate::user::User;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the last use of a token is written back at most.
pub const TOUCH_GRANULARITY: Duration = Duration::from_secs(60);

/// A token this node has seen, with the last use it knows of.
pub(crate) struct OpaqueState {
    record: OpaqueRecord,
    session: Session,
    /// Last use written to the store.
    flushed: crate::Timestamp,
}

/// A valid opaque token: its record (last use updated) and session.
#[derive(Clone, Debug)]
pub struct OpaqueGrant {
    pub record: OpaqueRecord,
    pub session: Session,
}

pub(crate) fn new_cache() -> moka::sync::Cache<SecretHash, Arc<Mutex<OpaqueState>>> {
    // Idle entries are dropped, so a session's stored state is re-read now and then.
    moka::sync::Cache::builder()
        .max_capacity(200_000)
        .time_to_idle(Duration::from_secs(300))
        .build()
}

fn invalid() -> CoreError {
    CoreError::InvalidToken("invalid, expired or revoked token")
}

impl Core {
    /// Opens a session for `subject` with an opaque token of `role` that ends `idle_ttl`
    /// after its last use (and at the tenant's session maximum age in any case).
    pub(crate) async fn open_opaque_session(
        &self,
        subject: &Subject<'_>,
        store: Option<&Storefront>,
        role: &str,
        idle_ttl: Duration,
        ctx: &RequestContext,
    ) -> CoreResult<(String, Session)> {
        let (token, session, record) =
            self.new_opaque_session(subject, store, role, idle_ttl, ctx)?;
        self.store.create_opaque_session(&session, &record).await?;
        self.remember_opaque(record, session.clone());
        Ok((token, session))
    }

    /// A session and its token, not yet stored.
    pub(crate) fn new_opaque_session(
        &self,
        subject: &Subject<'_>,
        store: Option<&Storefront>,
        role: &str,
        idle_ttl: Duration,
        ctx: &RequestContext,
    ) -> CoreResult<(String, Session, OpaqueRecord)> {
        let now = self.now();
        let session = Session {
            id: SessionId::new(),
            tenant_id: subject.tenant.id,
            user_id: subject.user.map(|u| u.id),
            kind: subject.user.map(|u| u.kind),
            app_id: subject.app.id,
            store_id: store.map(|s| s.id),
            store_view: None,
            device_id: None,
            created_at: now,
            last_used_at: now,
            idle_expires_at: now.plus(idle_ttl),
            absolute_expires_at: now.plus(subject.tenant.tokens.session_max_age),
            revoked_at: None,
            revoked_reason: None,
            ip: ctx.ip.clone(),
        };
        let token = secret::random_token(32);
        let record = OpaqueRecord {
            hash: SecretHash::of(&token),
            session_id: session.id,
            role: role.to_owned(),
            created_at: now,
            last_used_at: now,
            idle_ttl,
            sliding: true,
        };
        Ok((token, session, record))
    }

    /// Keeps a token this node just issued, so its first use needs no query.
    pub(crate) fn remember_opaque(&self, record: OpaqueRecord, session: Session) {
        let flushed = record.last_used_at;
        self.opaque.insert(
            record.hash,
            Arc::new(Mutex::new(OpaqueState {
                record,
                session,
                flushed,
            })),
        );
    }

    /// Logs a user in with an opaque token of `role` (JRNI), ending after the tenant's
    /// `opaque_idle_ttl` of inactivity.
    /// With `own_store_only`, a user attached to a store may open a session only there
    /// (a JRNI administrator logs in to their own company).
    pub async fn login_opaque(
        &self,
        app: &ClientApp,
        req: PasswordLogin,
        role: &str,
        own_store_only: bool,
    ) -> CoreResult<(String, Session, User)> {
        let Authenticated {
            tenant,
            user,
            store,
            profiles,
            counters,
        } = self.authenticate_user(app, &req).await?;
        self.store.clear_counters(&counters).await?;
        if own_store_only
            && user.store_id.is_some()
            && user.store_id != store.as_ref().map(|s| s.id)
        {
            return Err(CoreError::UnauthorizedClient(
                "the user does not belong to this store".into(),
            ));
        }
        let subject = Subject {
            tenant: &tenant,
            app,
            user: Some(&user),
            profiles,
            opts: Default::default(),
        };
        let idle = tenant.tokens.opaque_idle_ttl;
        let (token, session) = self
            .open_opaque_session(&subject, store.as_ref(), role, idle, &req.ctx)
            .await?;
        self.audit(AuditRecord {
            action: "login.succeeded",
            tenant: Some(tenant.id),
            user: Some(user.id),
            app: Some(app.id),
            session: Some(session.id),
            detail: format!("opaque token, role {role}"),
            ctx: Some(&req.ctx),
        })
        .await;
        Ok((token, session, user))
    }

    /// Checks an opaque token and, if it slides, records its use.
    pub async fn validate_opaque(&self, token: &str) -> CoreResult<OpaqueGrant> {
        self.validate_opaque_in(token, None).await
    }

    /// As `validate_opaque`, refusing (before recording any use) a token of another tenant
    /// than `tenant`: asking about another tenant's token must not keep it alive.
    pub(crate) async fn validate_opaque_in(
        &self,
        token: &str,
        tenant: Option<crate::ids::TenantId>,
    ) -> CoreResult<OpaqueGrant> {
        if token.is_empty() || token.len() > 128 {
            return Err(invalid());
        }
        let hash = SecretHash::of(token);
        let now = self.now();
        let state = match self.opaque.get(&hash) {
            Some(s) => s,
            None => {
                let loaded = self.load_opaque(&hash).await?.ok_or_else(invalid)?;
                let s = Arc::new(Mutex::new(loaded));
                self.opaque.insert(hash, s.clone());
                s
            }
        };
        let stale = {
            let s = state.lock().unwrap_or_else(|e| e.into_inner());
            s.record.sliding && now >= s.record.expires_at()
        };
        if stale {
            // Another node may have seen a later use: ask the store before refusing.
            let fresh = self.load_opaque(&hash).await?.ok_or_else(invalid)?;
            let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
            if fresh.record.last_used_at > s.record.last_used_at {
                *s = fresh;
            }
        }
        let (grant, flush) = {
            let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
            let revoked =
                s.session.revoked_at.is_some() || self.validator.is_revoked(&s.session.id);
            // A disabled app or tenant ends its tokens, as it does its JWTs.
            let dir = self.directory();
            let enabled = dir.app(s.session.app_id).is_some_and(|a| a.enabled)
                && dir.tenant(s.session.tenant_id).is_some_and(|t| t.enabled);
            let foreign = tenant.is_some_and(|t| t != s.session.tenant_id);
            if foreign {
                return Err(invalid());
            }
            if revoked
                || !enabled
                || now >= s.record.expires_at()
                || now >= s.session.absolute_expires_at
            {
                drop(s);
                self.opaque.invalidate(&hash);
                return Err(invalid());
            }
            if !s.record.sliding {
                return Ok(OpaqueGrant {
                    record: s.record.clone(),
                    session: s.session.clone(),
                });
            }
            s.record.last_used_at = now;
            let flush = now.since(s.flushed) >= TOUCH_GRANULARITY;
            if flush {
                s.flushed = now;
            }
            (
                OpaqueGrant {
                    record: s.record.clone(),
                    session: s.session.clone(),
                },
                flush,
            )
        };
        if flush && let Err(e) = self.store.touch_opaque(&hash, now).await {
            // The token stays valid here; the next use tries again.
            tracing::warn!(error = %e, "recording a token's last use failed");
            state.lock().unwrap_or_else(|e| e.into_inner()).flushed = grant.record.created_at;
        }
        Ok(grant)
    }

    async fn load_opaque(&self, hash: &SecretHash) -> CoreResult<Option<OpaqueState>> {
        let Some(record) = self.store.find_opaque(hash).await? else {
            return Ok(None);
        };
        let Some(session) = self.store.get_session(record.session_id).await? else {
            return Ok(None);
        };
        Ok(Some(OpaqueState {
            flushed: record.last_used_at,
            record,
            session,
        }))
    }

    /// Ends the session of an opaque token (logout).
    pub async fn logout_opaque(&self, grant: &OpaqueGrant, ctx: &RequestContext) -> CoreResult<()> {
        self.revoke_session(grant.session.id, "logout", ctx).await?;
        self.opaque.invalidate(&grant.record.hash);
        self.audit(AuditRecord {
            action: "logout",
            tenant: Some(grant.session.tenant_id),
            user: grant.session.user_id,
            app: Some(grant.session.app_id),
            session: Some(grant.session.id),
            ctx: Some(ctx),
            ..Default::default()
        })
        .await;
        Ok(())
    }
}
