//! The password lifecycle: reset by e-mailed link, change with the current password.

use super::login::Attempts;
use super::{AuditRecord, Core};
use crate::app::ClientApp;
use crate::audit::RequestContext;
use crate::error::{CoreError, CoreResult};
use crate::ids::{MessageId, SessionId, UserId};
use crate::outbox::{MailRequest, OutboxMessage, OutboxStatus};
use crate::policy::PolicyContext;
use crate::reset::ResetRecord;
use crate::secret::{self, SecretHash};
use crate::session::SessionFilter;
use crate::token::AccessClaims;
use crate::user::{UserKind, UserStatus, normalize_login, parse_email};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tracing::instrument;
use zeroize::Zeroizing;

pub(crate) const OUTBOX_PURPOSE: &str = "outbox-payload";
const RESET_KIND: &str = "password_reset";

/// A request for a reset link.
pub struct ForgotPassword {
    pub email: String,
    /// Where the link points; its host must be one of the app's redirect hosts.
    pub redirect_url: String,
    pub kind: Option<UserKind>,
    pub locale: Option<String>,
    pub ctx: RequestContext,
    /// Refuse a new request for the same address while one is pending (made within the
    /// tenant's reset lifetime and not completed) — Open Loyalty's rule. Tracked for every
    /// address asked about, known or not, so the answer says nothing about accounts.
    pub refuse_if_pending: bool,
    /// `email` may also be a username (Open Loyalty's admin reset); the e-mail then goes to
    /// the address on file.
    pub accept_username: bool,
}

/// The key of pending reset requests: kind and normalised address, hashed.
fn request_key(kind: UserKind, email: &str) -> SecretHash {
    SecretHash::of(&format!("{}:{}", kind.as_str(), normalize_login(email)))
}

fn invalid_token() -> CoreError {
    CoreError::grant("reset_token_invalid", "the reset token is invalid")
}

impl Core {
    /// Checks the request, then looks the account up and queues the e-mail in the background,
    /// so neither the answer nor its timing depends on whether the account exists.
    pub async fn forgot_password(
        self: &Arc<Self>,
        app: &ClientApp,
        req: ForgotPassword,
    ) -> CoreResult<()> {
        let email = match parse_email(&req.email) {
            Ok(e) => e,
            Err(_)
                if req.accept_username
                    && !req.email.trim().is_empty()
                    && req.email.len() <= 254 =>
            {
                req.email.trim().to_owned()
            }
            Err(m) => return Err(CoreError::field("email", "invalid_email", m)),
        };
        // URL parsing silently drops tabs and line breaks; a link that has them is refused
        // rather than quietly repaired.
        let link = Some(&req.redirect_url)
            .filter(|u| !u.chars().any(char::is_control) && u.len() <= 2048)
            .and_then(|u| url::Url::parse(u).ok())
            .filter(|u| matches!(u.scheme(), "https" | "http"))
            .ok_or_else(|| {
                CoreError::field(
                    "redirect_url",
                    "invalid_redirect_url",
                    "redirect_url must be an http(s) URL of at most 2048 characters without control characters",
                )
            })?;
        let host = link.host_str().unwrap_or_default().to_owned();
        if !app.redirect_allowed(&host) {
            return Err(CoreError::field(
                "redirect_url",
                "redirect_not_allowed",
                format!("the host {host:?} is not allowed for this client"),
            ));
        }
        let kind = match req.kind {
            Some(k) if app.kinds.contains(&k) => k,
            Some(k) => {
                return Err(CoreError::UnauthorizedClient(format!(
                    "the client may not serve {k} users"
                )));
            }
            None => app.default_kind().ok_or_else(|| {
                CoreError::UnauthorizedClient("the client serves no user kind".into())
            })?,
        };
        let locale = req
            .locale
            .filter(|l| {
                (2..=16).contains(&l.len())
                    && l.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            })
            .unwrap_or_else(|| "en".to_owned());
        if req.refuse_if_pending {
            let tenant = self.tenant(app.tenant_id)?;
            let now = self.now();
            let key = request_key(kind, &email);
            let live_since = now.minus(tenant.passwords.reset_ttl);
            if !self
                .store
                .mark_reset_request(tenant.id, &key, now, live_since)
                .await?
            {
                return Err(CoreError::Conflict(
                    "resetting password already requested".into(),
                ));
            }
        }
        let core = self.clone();
        let app = app.clone();
        self.background.spawn(async move {
            if let Err(e) = core
                .send_reset(&app, kind, &email, link, &locale, &req.ctx)
                .await
            {
                tracing::warn!(error = %e, "queueing a reset e-mail failed");
            }
        });
        Ok(())
    }

    #[instrument(skip_all, fields(client_id = %app.client_id))]
    async fn send_reset(
        &self,
        app: &ClientApp,
        kind: UserKind,
        email: &str,
        mut link: url::Url,
        locale: &str,
        ctx: &RequestContext,
    ) -> CoreResult<()> {
        let tenant = self.tenant(app.tenant_id)?;
        let wanted = normalize_login(email);
        let user = self.store.find_user(tenant.id, kind, &wanted).await?;
        // An address must be the user's e-mail (not someone's username); a username given as
        // such (accepted only where a dialect allows it) must be the user's username.
        let by_email = wanted.contains('@');
        let user = user.filter(|u| {
            let field = if by_email {
                u.email.as_deref()
            } else {
                u.username.as_deref()
            };
            field.map(normalize_login).as_deref() == Some(wanted.as_str())
        });
        let skip = |reason: &str, user: Option<UserId>| AuditRecord {
            action: "password.reset_not_sent",
            tenant: Some(tenant.id),
            user,
            app: Some(app.id),
            detail: reason.to_owned(),
            ctx: Some(ctx),
            ..Default::default()
        };
        let Some(user) = user else {
            self.audit(skip("no such account", None)).await;
            return Ok(());
        };
        if user.status != UserStatus::Active {
            self.audit(skip("account not active", Some(user.id))).await;
            return Ok(());
        }
        let now = self.now();
        let rules = &tenant.passwords;
        let limits = [
            (
                now.minus(Duration::from_secs(60)),
                rules.reset_mails_per_minute,
            ),
            (
                now.minus(Duration::from_secs(86_400)),
                rules.reset_mails_per_day,
            ),
        ];
        // Send to the address on file, as it was given at sign-up.
        let Some(address) = user.email.clone() else {
            self.audit(skip("no e-mail address on file", Some(user.id)))
                .await;
            return Ok(());
        };

        // UUID form, as the DJUST dialect expects: 122 random bits.
        let token = Zeroizing::new(uuid::Uuid::new_v4().to_string());
        link.query_pairs_mut().append_pair("token", &token);
        let vars = BTreeMap::from([
            ("link".to_owned(), link.to_string()),
            ("tenant_name".to_owned(), tenant.name.clone()),
            ("email".to_owned(), address.clone()),
            (
                "expires_in_hours".to_owned(),
                rules.reset_ttl.as_secs().div_ceil(3600).to_string(),
            ),
            (
                "expires_in".to_owned(),
                humantime_serde::re::humantime::format_duration(rules.reset_ttl).to_string(),
            ),
        ]);
        let mail = MailRequest {
            template: RESET_KIND.to_owned(),
            tenant: tenant.slug.clone(),
            locale: locale.to_owned(),
            to: address.clone(),
            vars,
        };
        let id = MessageId::new();
        let plain = Zeroizing::new(serde_json::to_vec(&mail).map_err(CoreError::internal)?);
        let payload = secret::seal(
            &self.master.purpose_key(OUTBOX_PURPOSE),
            id.0.as_bytes(),
            &plain,
        )
        .map_err(CoreError::internal)?;
        let reset = ResetRecord {
            hash: SecretHash::of(&token),
            user_id: user.id,
            tenant_id: tenant.id,
            app_id: app.id,
            created_at: now,
            expires_at: now.plus(rules.reset_ttl),
            used_at: None,
            voided_at: None,
        };
        let message = OutboxMessage {
            id,
            tenant_id: tenant.id,
            to: wanted,
            kind: RESET_KIND.to_owned(),
            payload: Some(payload),
            status: OutboxStatus::Pending,
            attempts: 0,
            next_attempt_at: now,
            lease_until: None,
            last_error: None,
            created_at: now,
            sent_at: None,
        };
        if !self.store.create_reset(&reset, &message, &limits).await? {
            self.audit(skip("throttled", Some(user.id))).await;
            return Ok(());
        }
        self.outbox_signal.notify_one();
        self.audit(AuditRecord {
            action: "password.reset_requested",
            tenant: Some(tenant.id),
            user: Some(user.id),
            app: Some(app.id),
            detail: format!("message {id}"),
            ctx: Some(ctx),
            ..Default::default()
        })
        .await;
        Ok(())
    }

    /// Sets a new password with a reset token: the token is spent, older ones end, and (by
    /// the tenant's rule) every session of the user ends.
    #[instrument(skip_all, fields(client_id = %app.client_id))]
    pub async fn reset_password(
        &self,
        app: &ClientApp,
        token: &str,
        new_password: Zeroizing<String>,
        ctx: &RequestContext,
    ) -> CoreResult<()> {
        if uuid::Uuid::parse_str(token).is_err() {
            return Err(invalid_token());
        }
        let hash = SecretHash::of(token);
        let record = self
            .store
            .find_reset(&hash)
            .await?
            .ok_or_else(invalid_token)?;
        if record.tenant_id != app.tenant_id {
            return Err(invalid_token());
        }
        if record.used_at.is_some() {
            return Err(CoreError::grant(
                "reset_token_used",
                "the reset token was already used",
            ));
        }
        if record.voided_at.is_some() {
            return Err(CoreError::grant(
                "reset_token_superseded",
                "a newer reset link was sent, or the password was changed since",
            ));
        }
        let now = self.now();
        if now >= record.expires_at {
            return Err(CoreError::grant(
                "reset_token_expired",
                "the reset token has expired",
            ));
        }
        let tenant = self.tenant(record.tenant_id)?;
        let user = self
            .store
            .get_user(record.user_id)
            .await?
            .ok_or_else(invalid_token)?;
        if user.status != UserStatus::Active {
            // A link sent before the account was disabled or locked must not reopen it.
            return Err(invalid_token());
        }
        let policy_ctx = PolicyContext {
            email: user.email.as_deref(),
            username: user.username.as_deref(),
        };
        self.check_password(&tenant, "new_password", &new_password, policy_ctx)?;
        let new_hash = self.hasher.hash(new_password).await?;
        if !self
            .store
            .complete_reset(&hash, &new_hash, self.now())
            .await?
        {
            return Err(CoreError::grant(
                "reset_token_used",
                "the reset token was already used",
            ));
        }
        if let Some(email) = &user.email {
            // A completed reset ends the pending request, so the next one is accepted.
            self.store
                .clear_reset_request(tenant.id, &request_key(user.kind, email))
                .await?;
        }
        if tenant.passwords.revoke_sessions_on_reset {
            self.end_user_sessions(&user, "password_reset").await?;
        }
        self.audit(AuditRecord {
            action: "password.reset",
            tenant: Some(tenant.id),
            user: Some(user.id),
            app: Some(app.id),
            ctx: Some(ctx),
            ..Default::default()
        })
        .await;
        Ok(())
    }

    /// Changes the password of the token's user, who must give the current one. By the
    /// tenant's rule, the user's other sessions end; this one goes on.
    #[instrument(skip_all)]
    pub async fn change_password(
        &self,
        claims: &AccessClaims,
        current: Zeroizing<String>,
        new_password: Zeroizing<String>,
        ctx: &RequestContext,
    ) -> CoreResult<()> {
        let no_user = || CoreError::InvalidToken("the token has no user");
        let id = UserId::parse(&claims.sub).ok_or_else(no_user)?;
        let user = self.store.get_user(id).await?.ok_or_else(no_user)?;
        let tenant = self.tenant(user.tenant_id)?;
        // Guesses of the current password count like login attempts (per address, per
        // account), so a stolen access token cannot be used to brute-force the password.
        let user_id = user.id.to_string();
        self.count_attempt(
            Attempts::PasswordChange,
            &tenant,
            user.kind,
            &user_id,
            Some(user.id),
            ctx,
        )
        .await?;
        let verified = self
            .hasher
            .verify(user.password_hash.clone(), current)
            .await?;
        if !(verified.matched && user.password_hash.is_some()) {
            self.audit(AuditRecord {
                action: "password.change_failed",
                tenant: Some(tenant.id),
                user: Some(user.id),
                detail: "wrong current password".into(),
                ctx: Some(ctx),
                ..Default::default()
            })
            .await;
            return Err(CoreError::field(
                "current_password",
                "wrong_password",
                "the current password is wrong",
            ));
        }
        let policy_ctx = PolicyContext {
            email: user.email.as_deref(),
            username: user.username.as_deref(),
        };
        self.check_password(&tenant, "new_password", &new_password, policy_ctx)?;
        let new_hash = self.hasher.hash(new_password).await?;
        self.store
            .set_password_hash(user.id, &new_hash, None, self.now())
            .await?;
        if tenant.passwords.revoke_other_sessions_on_change {
            let current = SessionId::parse(&claims.sid);
            let live = SessionFilter {
                user_id: Some(user.id),
                live_at: Some(self.now()),
                limit: u32::MAX,
                ..Default::default()
            };
            for s in self.store.list_sessions(&live).await? {
                if Some(s.id) != current {
                    self.revoke_session(s.id, "password_changed", ctx).await?;
                }
            }
        }
        self.audit(AuditRecord {
            action: "password.changed",
            tenant: Some(tenant.id),
            user: Some(user.id),
            detail: "by the user".into(),
            ctx: Some(ctx),
            ..Default::default()
        })
        .await;
        Ok(())
    }
}
