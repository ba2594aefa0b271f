//! The refresh grant: rotation at every use, a retry window that returns the same new pair,
//! and reuse detection that ends the whole session.

use super::login::{Subject, TokenOptions};
use super::{AuditRecord, Core};
use crate::app::{ClientApp, Grant};
use crate::audit::RequestContext;
use crate::error::{CoreError, CoreResult};
use crate::session::{
    RefreshLookup, RefreshRecord, RotateOutcome, Rotation, Session, SessionTouch,
};
use crate::token::{self, TokenPair};
use crate::user::UserStatus;
use tracing::instrument;

fn unknown() -> CoreError {
    CoreError::grant(
        "refresh_token_invalid",
        "the refresh token is invalid, expired or revoked",
    )
}

impl Core {
    pub async fn refresh(
        &self,
        app: &ClientApp,
        presented: &str,
        ctx: &RequestContext,
    ) -> CoreResult<TokenPair> {
        self.refresh_with(app, presented, ctx, TokenOptions::default())
            .await
    }

    /// A refresh whose new tokens follow `opts` (a dialect's lifetimes and claims).
    #[instrument(skip_all, fields(client_id = %app.client_id))]
    pub async fn refresh_with(
        &self,
        app: &ClientApp,
        presented: &str,
        ctx: &RequestContext,
        opts: TokenOptions<'_>,
    ) -> CoreResult<TokenPair> {
        if !app.allows(Grant::RefreshToken) {
            return Err(CoreError::UnauthorizedClient(
                "the client may not use the refresh_token grant".into(),
            ));
        }
        if presented.is_empty() || presented.len() > 512 {
            return Err(unknown());
        }
        let hash = token::refresh_key(presented);
        let RefreshLookup {
            record,
            session,
            user,
        } = self.refresh_reads.find(hash).await?.ok_or_else(unknown)?;
        let now = self.now();
        // Another app's token is treated as unknown: it says nothing about the other app.
        if session.app_id != app.id
            || session.revoked_at.is_some()
            || now >= session.absolute_expires_at
        {
            return Err(unknown());
        }
        if record.rotated_at.is_some() {
            return self.retry_or_reuse(presented, &record, &session, ctx).await;
        }
        if now >= record.expires_at {
            return Err(CoreError::grant(
                "refresh_token_expired",
                "the refresh token has expired",
            ));
        }

        let tenant = self.tenant(session.tenant_id)?;
        if !tenant.enabled {
            return Err(unknown());
        }
        if session.user_id.is_some() && user.is_none() {
            return Err(unknown());
        }
        if let Some(u) = &user
            && u.status != UserStatus::Active
        {
            return Err(CoreError::AccountInactive(
                if u.status == UserStatus::Locked {
                    "locked"
                } else {
                    "disabled"
                },
            ));
        }
        let profiles = match &user {
            Some(u) => self.cached_profiles_of(u).await?.to_vec(),
            None => Vec::new(),
        };
        let dir = self.directory();
        let store = session
            .store_id
            .and_then(|id| dir.store(tenant.id, id))
            .cloned();
        let subject = Subject {
            tenant: &tenant,
            app,
            user: user.as_ref(),
            profiles,
            opts,
        };
        let (access_token, access_expires_at, opaque) =
            self.issue_access(&subject, &session, store.as_ref(), now)?;
        let next_token = token::new_refresh_token(now);
        let next = RefreshRecord {
            hash: token::refresh_key(&next_token),
            session_id: session.id,
            issued_at: now,
            expires_at: now
                .plus(opts.refresh_ttl.unwrap_or(tenant.tokens.refresh_ttl))
                .min(session.absolute_expires_at),
            rotated_at: None,
            successor: None,
        };
        let pair = TokenPair {
            access_token,
            access_expires_at,
            refresh_token: Some(next_token),
            refresh_expires_at: Some(next.expires_at),
            session_id: session.id,
            user_id: session.user_id,
        };
        let sealed = token::seal_successor(presented, &pair)?;
        // Stored before the swap, so the pair a retry gets back always works; if another
        // call wins the swap, this token is never handed out and dies at its end.
        if let Some(record) = &opaque {
            self.store.add_opaque_token(record).await?;
        }
        let rotation = Rotation {
            old: hash,
            successor: sealed,
            touch: SessionTouch {
                last_used_at: now,
                idle_expires_at: next.expires_at,
            },
            next,
            // Written with the rotation, in the same transaction.
            audit: Some(self.audit_event(AuditRecord {
                action: "refresh.succeeded",
                tenant: Some(session.tenant_id),
                user: session.user_id,
                app: Some(session.app_id),
                session: Some(session.id),
                detail: String::new(),
                ctx: Some(ctx),
            })),
        };
        match self.rotations.rotate(rotation).await? {
            RotateOutcome::Rotated => {
                metrics::counter!("portcullis_refreshes_total").increment(1);
                if let Some(record) = opaque {
                    self.remember_opaque(record, session);
                }
                Ok(pair)
            }
            RotateOutcome::AlreadyRotated(winner) => {
                self.retry_or_reuse(presented, &winner, &session, ctx).await
            }
            RotateOutcome::NotFound => Err(unknown()),
        }
    }

    /// A token that was already rotated: within the window, the pair it was exchanged for;
    /// after it, a reuse that revokes the session.
    async fn retry_or_reuse(
        &self,
        presented: &str,
        record: &RefreshRecord,
        session: &Session,
        ctx: &RequestContext,
    ) -> CoreResult<TokenPair> {
        let tenant = self.tenant(session.tenant_id)?;
        let now = self.now();
        let within = record
            .rotated_at
            .is_some_and(|at| now.since(at) <= tenant.tokens.refresh_retry_window);
        if within && let Some(sealed) = &record.successor {
            return token::open_successor(presented, session.id, sealed);
        }
        self.store
            .revoke_session(session.id, now, "refresh_token_reused")
            .await?;
        self.mark_revoked(session.id);
        metrics::counter!("portcullis_refresh_reuse_total").increment(1);
        tracing::warn!(session = %session.id, "refresh token reused after rotation; session revoked");
        self.audit(AuditRecord {
            action: "refresh.reused",
            tenant: Some(session.tenant_id),
            user: session.user_id,
            app: Some(session.app_id),
            session: Some(session.id),
            detail: "session revoked".into(),
            ctx: Some(ctx),
        })
        .await;
        Err(CoreError::grant(
            "refresh_token_reused",
            "the refresh token was already used; the session is revoked",
        ))
    }
}
