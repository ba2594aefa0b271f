//! Client authentication and the grants that open a session: password and client credentials.

use super::{AuditRecord, Core};
use crate::app::{ClientApp, Grant};
use crate::audit::RequestContext;
use crate::clock::Timestamp;
use crate::error::{CoreError, CoreResult};
use crate::ids::{SessionId, UserId};
use crate::limits::{counter_key, limit_source};
use crate::opaque::OpaqueRecord;
use crate::secret::{self, SecretHash};
use crate::session::{NewSession, RefreshRecord, Session};
use crate::store::LoginAttempt;
use crate::tenant::{Storefront, Tenant};
use crate::token::{self, AccessClaims, SERVICE_KIND, TokenPair};
use crate::user::{User, UserKind, UserStatus, normalize_login};
use std::sync::Arc;
use tracing::instrument;
use zeroize::Zeroizing;

/// What an account's attempts are counted for: logins (by the login name given, known or
/// not), or password changes (by user id). Apart, so that neither can exhaust the other.
#[derive(Clone, Copy)]
pub(crate) enum Attempts {
    Login,
    PasswordChange,
}

impl Attempts {
    fn scope(self) -> &'static str {
        match self {
            Attempts::Login => "account",
            Attempts::PasswordChange => "password-change",
        }
    }
}

fn account_key(what: Attempts, tenant: &Tenant, kind: UserKind, login: &str) -> SecretHash {
    counter_key(&[what.scope(), &tenant.id.to_string(), kind.as_str(), login])
}

/// The key of an (account, address) counter; the address as limits count it, so that
/// counting, clearing on success and unlocking all name the same counter.
fn account_ip_key(
    what: Attempts,
    tenant: &Tenant,
    kind: UserKind,
    login: &str,
    ip: &str,
) -> SecretHash {
    counter_key(&[
        what.scope(),
        "ip",
        &tenant.id.to_string(),
        kind.as_str(),
        login,
        &limit_source(ip),
    ])
}

/// The counters a password attempt counts, each with its limit and name, in this order and
/// no further than the first limit passed: the account's own count comes last, so one client
/// alone cannot lock the account.
fn attempt_hits(
    what: Attempts,
    tenant: &Tenant,
    kind: UserKind,
    login: &str,
    ctx: &RequestContext,
) -> Vec<(SecretHash, u32, &'static str)> {
    let limits = &tenant.limits;
    let mut hits = Vec::with_capacity(3);
    if let Some(ip) = ctx.ip.as_deref().map(limit_source) {
        hits.push((
            counter_key(&["ip", &tenant.id.to_string(), &ip]),
            limits.per_ip,
            "per_ip",
        ));
        hits.push((
            account_ip_key(what, tenant, kind, login, &ip),
            limits.per_account_ip,
            "per_account_ip",
        ));
    }
    hits.push((
        account_key(what, tenant, kind, login),
        limits.per_account,
        "per_account",
    ));
    hits
}

/// A user whose credentials were just checked.
pub struct Authenticated {
    pub tenant: Arc<Tenant>,
    pub user: User,
    pub store: Option<Storefront>,
    /// The user's profiles (their own and their kind's defaults).
    pub profiles: Vec<String>,
    /// The attempt counters this success ends, for the caller to clear with what it writes.
    pub counters: Vec<SecretHash>,
}

/// What a password login writes with its session: the end of its run of attempts and its
/// audit event (whose session the session fills in).
struct LoginEnd<'a> {
    counters: &'a [SecretHash],
    audit: AuditRecord<'a>,
}

/// A password login as every API asks for it.
pub struct PasswordLogin {
    /// E-mail or username.
    pub login: String,
    pub password: Zeroizing<String>,
    /// `None`: the app's default kind.
    pub kind: Option<UserKind>,
    /// Store code; `None`: the user's store, else the tenant's default.
    pub store: Option<String>,
    pub store_view: Option<String>,
    pub ctx: RequestContext,
}

/// Who a new access token is for.
pub(crate) struct Subject<'a> {
    pub tenant: &'a Tenant,
    pub app: &'a ClientApp,
    pub user: Option<&'a User>,
    pub profiles: Vec<String>,
    pub opts: TokenOptions<'a>,
}

/// Claims a dialect adds to access tokens, computed for each token from its user and session.
pub type ExtraClaims =
    dyn Fn(Option<&User>, &Session) -> serde_json::Map<String, serde_json::Value> + Send + Sync;

/// How a dialect's tokens differ from the tenant's defaults.
#[derive(Clone, Copy, Default)]
pub struct TokenOptions<'a> {
    pub access_ttl: Option<std::time::Duration>,
    /// Refresh tokens end this long after they are issued (each refresh slides it).
    pub refresh_ttl: Option<std::time::Duration>,
    pub extra_claims: Option<&'a ExtraClaims>,
    /// Issue the access credential as an opaque token of this role, ending `access_ttl`
    /// after issue (JFW's auth key), rather than as a JWT.
    pub opaque_access: Option<&'a str>,
}

impl Core {
    /// Authenticate an app by client id and API key. Every failure is the same error.
    pub fn authenticate_client(&self, client_id: &str, secret: &str) -> CoreResult<Arc<ClientApp>> {
        let dir = self.directory();
        let presented = SecretHash::of(secret);
        let app = dir
            .app_by_client_id(client_id)
            .ok_or(CoreError::InvalidClient)?;
        let tenant_enabled = dir.tenant(app.tenant_id).is_some_and(|t| t.enabled);
        if !presented.ct_eq(&app.key_hash) || !app.enabled || !tenant_enabled {
            return Err(CoreError::InvalidClient);
        }
        Ok(app.clone())
    }

    /// Identify an app by its public client id alone (JRNI `App-Id`): the app names the
    /// tenant; users still prove who they are.
    pub fn app_by_client_id(&self, client_id: &str) -> CoreResult<Arc<ClientApp>> {
        let dir = self.directory();
        let app = dir
            .app_by_client_id(client_id)
            .ok_or(CoreError::InvalidClient)?;
        let tenant_enabled = dir.tenant(app.tenant_id).is_some_and(|t| t.enabled);
        if !app.enabled || !tenant_enabled {
            return Err(CoreError::InvalidClient);
        }
        Ok(app.clone())
    }

    /// Authenticate an app by its API key alone (dialects that send only the key).
    pub fn app_by_api_key(&self, key: &str) -> CoreResult<Arc<ClientApp>> {
        let dir = self.directory();
        let app = dir
            .app_by_key_hash(&SecretHash::of(key))
            .ok_or(CoreError::InvalidClient)?;
        let tenant_enabled = dir.tenant(app.tenant_id).is_some_and(|t| t.enabled);
        if !app.enabled || !tenant_enabled {
            return Err(CoreError::InvalidClient);
        }
        Ok(app.clone())
    }

    /// Resolve the store a login asks for: the named one, else the user's, else the default.
    pub(crate) fn resolve_store(
        &self,
        tenant: &Tenant,
        code: Option<&str>,
        user: Option<&User>,
    ) -> CoreResult<Option<Storefront>> {
        let dir = self.directory();
        if let Some(code) = code {
            return dir
                .store_by_code(tenant.id, code)
                .cloned()
                .map(Some)
                .ok_or_else(|| {
                    CoreError::field(
                        "store",
                        "unknown_store",
                        format!("no store with code {code:?}"),
                    )
                });
        }
        let own = user
            .and_then(|u| u.store_id)
            .and_then(|id| dir.store(tenant.id, id));
        Ok(own.or_else(|| dir.default_store(tenant.id)).cloned())
    }

    /// Counts a password attempt against the client IP's and the account's limits, before
    /// any password is checked; refuses it beyond either.
    pub(crate) async fn count_attempt(
        &self,
        what: Attempts,
        tenant: &Tenant,
        kind: UserKind,
        login: &str,
        user: Option<UserId>,
        ctx: &RequestContext,
    ) -> CoreResult<()> {
        let hits = attempt_hits(what, tenant, kind, login, ctx);
        let keys: Vec<_> = hits.iter().map(|(key, limit, _)| (*key, *limit)).collect();
        let counts = self
            .store
            .hit_counters(&keys, tenant.limits.window_start(self.now()))
            .await?;
        self.check_counts(tenant, user, ctx, &hits, &counts).await
    }

    /// Refuses an attempt whose counts went beyond a limit. `user`: the account the attempt
    /// names, when it exists, for the audit trail.
    async fn check_counts(
        &self,
        tenant: &Tenant,
        user: Option<UserId>,
        ctx: &RequestContext,
        hits: &[(SecretHash, u32, &'static str)],
        counts: &[u32],
    ) -> CoreResult<()> {
        for ((_, limit, name), n) in hits.iter().zip(counts) {
            if n > limit {
                return Err(self.refuse_login(tenant, user, ctx, name, *n, *limit).await);
            }
        }
        Ok(())
    }

    /// The answer to an attempt over a limit. The first refusal of a window is audited (a
    /// lockout); the rest are only counted, so a flood of attempts is not a flood of writes.
    async fn refuse_login(
        &self,
        tenant: &Tenant,
        user: Option<UserId>,
        ctx: &RequestContext,
        what: &'static str,
        attempts: u32,
        limit: u32,
    ) -> CoreError {
        metrics::counter!("portcullis_login_limited_total", "limit" => what).increment(1);
        tracing::info!(tenant = %tenant.slug, limit = what, "login attempt refused by a limit");
        if attempts == limit.saturating_add(1) {
            self.audit(AuditRecord {
                action: "login.limited",
                tenant: Some(tenant.id),
                user,
                detail: format!("{what}: more than {limit} attempts in this window"),
                ctx: Some(ctx),
                ..Default::default()
            })
            .await;
        }
        CoreError::RateLimited {
            retry_after: tenant.limits.retry_after(self.now()),
        }
    }

    /// Counts a request to a rate-limited route (`scope`) against the client IP's limit.
    pub async fn count_request(
        &self,
        tenant: &Tenant,
        scope: &str,
        ctx: &RequestContext,
    ) -> CoreResult<()> {
        let Some(ip) = &ctx.ip else { return Ok(()) };
        let limits = &tenant.limits;
        let now = self.now();
        let key = counter_key(&[scope, &tenant.id.to_string(), &limit_source(ip)]);
        let counts = self
            .store
            .hit_counters(&[(key, limits.per_ip)], limits.window_start(now))
            .await?;
        if counts.first().is_some_and(|n| *n > limits.per_ip) {
            tracing::info!(tenant = %tenant.slug, scope, "request refused by the per-IP limit");
            return Err(CoreError::RateLimited {
                retry_after: limits.retry_after(now),
            });
        }
        Ok(())
    }

    /// The tenant a JFW `Brand-URL` names (`https://Shop.example.com/` is `shop.example.com`)
    /// and the app its users log in through: `preferred` (a client id) if it belongs to the
    /// tenant, else the first of its apps (by client id) that logs customers in by password.
    pub fn brand(
        &self,
        brand_url: &str,
        preferred: Option<&str>,
    ) -> CoreResult<(Arc<Tenant>, Arc<ClientApp>)> {
        let host = crate::tenant::brand_host(brand_url);
        let dir = self.directory();
        let tenant = dir
            .tenant_by_brand_url(&host)
            .filter(|t| t.enabled)
            .ok_or(CoreError::NotFound("brand"))?;
        let apps = dir.apps_of(tenant.id);
        let app = apps
            .iter()
            .find(|a| Some(a.client_id.as_str()) == preferred)
            .or_else(|| {
                apps.iter()
                    .find(|a| a.kinds.contains(&UserKind::Customer) && a.allows(Grant::Password))
            })
            .ok_or_else(|| {
                CoreError::UnauthorizedClient("the brand has no app for user logins".into())
            })?;
        Ok((tenant.clone(), Arc::clone(app)))
    }

    /// Opens an account again before its window ends (an operator's unlock), and with `ip`
    /// ends the throttle on it from that address too.
    pub async fn unlock_login(
        &self,
        tenant: &Tenant,
        kind: UserKind,
        login: &str,
        ip: Option<&str>,
    ) -> CoreResult<()> {
        let login = normalize_login(login);
        // Counters exist for unknown names too, but an operator naming one has made a typo.
        let user = self
            .store
            .find_user(tenant.id, kind, &login)
            .await?
            .ok_or(CoreError::NotFound("user"))?;
        // Counters are keyed by the address as limits count it (an IPv6 address by its /64).
        let ip: Option<std::net::IpAddr> = ip
            .map(|ip| {
                ip.trim().parse().map_err(|_| {
                    CoreError::field("ip", "invalid_ip", format!("{ip:?} is not an IP address"))
                })
            })
            .transpose()?;
        let mut keys = vec![
            account_key(Attempts::Login, tenant, kind, &login),
            account_key(Attempts::PasswordChange, tenant, kind, &user.id.to_string()),
        ];
        if let Some(ip) = ip {
            keys.push(account_ip_key(
                Attempts::Login,
                tenant,
                kind,
                &login,
                &ip.to_string(),
            ));
        }
        self.store.clear_counters(&keys).await?;
        self.audit(AuditRecord {
            action: "login.unlocked",
            tenant: Some(tenant.id),
            user: Some(user.id),
            detail: ip.map_or_else(
                || "by an operator".to_owned(),
                |ip| format!("by an operator, and from {ip}"),
            ),
            ..Default::default()
        })
        .await;
        Ok(())
    }

    /// Checks a user's credentials for `app`: kind allowed, store known, password right,
    /// account active. A hash in an old format is upgraded on the way. Every failure is
    /// audited; wrong login and wrong password are the same error.
    pub async fn authenticate_user(
        &self,
        app: &ClientApp,
        req: &PasswordLogin,
    ) -> CoreResult<Authenticated> {
        let tenant = self.tenant(app.tenant_id)?;
        let kind = match req.kind {
            Some(k) if app.kinds.contains(&k) => k,
            Some(k) => {
                return Err(CoreError::UnauthorizedClient(format!(
                    "the client may not log in {k} users"
                )));
            }
            None => app.default_kind().ok_or_else(|| {
                CoreError::UnauthorizedClient("the client may log in no user kind".into())
            })?,
        };
        let login = normalize_login(&req.login);
        if login.is_empty() || req.password.is_empty() {
            return Err(CoreError::invalid(
                "invalid_request",
                "username and password are required",
            ));
        }
        // Check a named store before any hashing, so a typo is not reported as bad credentials.
        if let Some(code) = req.store.as_deref() {
            self.resolve_store(&tenant, Some(code), None)?;
        }
        // The attempt is counted and its account read in one store call: one round trip.
        let hits = attempt_hits(Attempts::Login, &tenant, kind, &login, &req.ctx);
        let keys: Vec<_> = hits.iter().map(|(key, limit, _)| (*key, *limit)).collect();
        let (counts, found) = self
            .store
            .count_login_attempt(&LoginAttempt {
                hits: &keys,
                window_start: tenant.limits.window_start(self.now()),
                tenant: tenant.id,
                kind,
                login: &login,
            })
            .await?;
        let named = found.as_ref().map(|(user, _)| user.id);
        self.check_counts(&tenant, named, &req.ctx, &hits, &counts)
            .await?;
        let (user, profiles) = match found {
            Some((user, profiles)) => (Some(user), profiles),
            None => (None, Vec::new()),
        };
        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        let had_hash = stored.is_some();
        let verified = self
            .hasher
            .verify(stored.clone(), req.password.clone())
            .await?;
        let audit_fail = |reason: &str| AuditRecord {
            action: "login.failed",
            tenant: Some(tenant.id),
            user: user.as_ref().map(|u| u.id),
            app: Some(app.id),
            detail: reason.to_owned(),
            ctx: Some(&req.ctx),
            ..Default::default()
        };
        let Some(user) = user.as_ref().filter(|_| verified.matched && had_hash) else {
            metrics::counter!("portcullis_logins_total", "result" => "failure").increment(1);
            let reason = if user.is_some() {
                "wrong password"
            } else {
                "unknown user"
            };
            self.audit(audit_fail(reason)).await;
            return Err(CoreError::InvalidCredentials);
        };
        if user.status != UserStatus::Active {
            let result = if user.status == UserStatus::Disabled {
                "disabled"
            } else {
                "locked"
            };
            metrics::counter!("portcullis_logins_total", "result" => result).increment(1);
        }
        match user.status {
            UserStatus::Active => {}
            UserStatus::Disabled => {
                self.audit(audit_fail("account disabled")).await;
                return Err(CoreError::AccountInactive("disabled"));
            }
            UserStatus::Locked => {
                self.audit(audit_fail("account locked")).await;
                return Err(CoreError::AccountInactive("locked"));
            }
        }
        // A success ends the run of attempts on this account: cleared with the session the
        // caller opens, or here if the login stops short of one.
        let mut keys = vec![account_key(Attempts::Login, &tenant, kind, &login)];
        if let Some(ip) = &req.ctx.ip {
            keys.push(account_ip_key(Attempts::Login, &tenant, kind, &login, ip));
        }
        if let Some(max_age) = tenant.password_policy.max_age()
            && self.now() >= user.password_changed_at.plus(max_age)
        {
            self.store.clear_counters(&keys).await?;
            metrics::counter!("portcullis_logins_total", "result" => "expired").increment(1);
            self.audit(audit_fail("password expired")).await;
            return Err(CoreError::PasswordExpired);
        }
        metrics::counter!("portcullis_logins_total", "result" => "success").increment(1);
        if verified.needs_rehash {
            self.rehash(user, stored.as_deref(), req.password.clone())
                .await;
        }
        let store = match self.login_store(&tenant, req, user) {
            Ok(store) => store,
            Err(e) => {
                self.store.clear_counters(&keys).await?;
                return Err(e);
            }
        };
        Ok(Authenticated {
            tenant,
            user: user.clone(),
            store,
            profiles: self.with_default_profiles(user, profiles),
            counters: keys,
        })
    }

    /// The store (and view) a successful login asks for.
    fn login_store(
        &self,
        tenant: &Tenant,
        req: &PasswordLogin,
        user: &User,
    ) -> CoreResult<Option<Storefront>> {
        let store = self.resolve_store(tenant, req.store.as_deref(), Some(user))?;
        if let (Some(view), Some(s)) = (req.store_view.as_deref(), store.as_ref())
            && !s.views.iter().any(|v| v == view)
        {
            return Err(CoreError::field(
                "store_view",
                "unknown_store_view",
                format!("store {} has no view {view:?}", s.code),
            ));
        }
        Ok(store)
    }

    pub async fn login_password(
        &self,
        app: &ClientApp,
        req: PasswordLogin,
    ) -> CoreResult<TokenPair> {
        self.login_password_with(app, req, TokenOptions::default())
            .await
    }

    /// A password login whose tokens follow `opts` (a dialect's lifetimes and claims).
    #[instrument(skip_all, fields(client_id = %app.client_id))]
    pub async fn login_password_with(
        &self,
        app: &ClientApp,
        req: PasswordLogin,
        opts: TokenOptions<'_>,
    ) -> CoreResult<TokenPair> {
        if !app.allows(Grant::Password) {
            return Err(CoreError::UnauthorizedClient(
                "the client may not use the password grant".into(),
            ));
        }
        let Authenticated {
            tenant,
            user,
            store,
            profiles,
            counters,
        } = self.authenticate_user(app, &req).await?;
        let user = &user;
        let subject = Subject {
            tenant: &tenant,
            app,
            user: Some(user),
            profiles,
            opts,
        };
        let login = LoginEnd {
            counters: &counters,
            audit: AuditRecord {
                action: "login.succeeded",
                tenant: Some(tenant.id),
                user: Some(user.id),
                app: Some(app.id),
                ctx: Some(&req.ctx),
                ..Default::default()
            },
        };
        self.open_session(
            &subject,
            store.as_ref(),
            req.store_view,
            &req.ctx,
            app.allows(Grant::RefreshToken),
            Some(login),
        )
        .await
    }

    /// Bring an imported or outdated hash to the current argon2id parameters. A failure is
    /// logged: the login itself has succeeded.
    async fn rehash(&self, user: &User, old: Option<&str>, password: Zeroizing<String>) {
        let result = async {
            let new = self.hasher.hash(password).await?;
            Ok::<_, CoreError>(
                self.store
                    .set_password_hash(user.id, &new, old, self.now())
                    .await?,
            )
        }
        .await;
        match result {
            Ok(true) => tracing::info!(user = %user.id, "password rehashed to current parameters"),
            Ok(false) => {
                tracing::info!(user = %user.id, "password changed meanwhile; rehash skipped")
            }
            Err(e) => tracing::warn!(user = %user.id, error = %e, "rehash failed"),
        }
    }

    /// The client-credentials grant: a service session for the app itself, no refresh token.
    #[instrument(skip_all, fields(client_id = %app.client_id))]
    pub async fn login_client(
        &self,
        app: &ClientApp,
        ctx: &RequestContext,
    ) -> CoreResult<TokenPair> {
        if !app.allows(Grant::ClientCredentials) {
            return Err(CoreError::UnauthorizedClient(
                "the client may not use the client_credentials grant".into(),
            ));
        }
        let tenant = self.tenant(app.tenant_id)?;
        let store = self.directory().default_store(tenant.id).cloned();
        let subject = Subject {
            tenant: &tenant,
            app,
            user: None,
            profiles: Vec::new(),
            opts: Default::default(),
        };
        self.open_session(&subject, store.as_ref(), None, ctx, false, None)
            .await
    }

    /// Create a session and its first credentials; for a password login, end its run of
    /// attempts and audit it in the same write.
    async fn open_session(
        &self,
        subject: &Subject<'_>,
        store: Option<&Storefront>,
        store_view: Option<String>,
        ctx: &RequestContext,
        with_refresh: bool,
        login: Option<LoginEnd<'_>>,
    ) -> CoreResult<TokenPair> {
        let now = self.now();
        let tokens = &subject.tenant.tokens;
        let mut session = Session {
            id: SessionId::new(),
            tenant_id: subject.tenant.id,
            user_id: subject.user.map(|u| u.id),
            kind: subject.user.map(|u| u.kind),
            app_id: subject.app.id,
            store_id: store.map(|s| s.id),
            store_view,
            device_id: None,
            created_at: now,
            last_used_at: now,
            idle_expires_at: now,
            absolute_expires_at: now.plus(tokens.session_max_age),
            revoked_at: None,
            revoked_reason: None,
            ip: ctx.ip.clone(),
        };
        let (access_token, access_expires_at, opaque) =
            self.issue_access(subject, &session, store, now)?;
        let refresh = with_refresh.then(|| {
            let token = token::new_refresh_token(now);
            let expires_at = now
                .plus(subject.opts.refresh_ttl.unwrap_or(tokens.refresh_ttl))
                .min(session.absolute_expires_at);
            let record = RefreshRecord {
                hash: token::refresh_key(&token),
                session_id: session.id,
                issued_at: now,
                expires_at,
                rotated_at: None,
                successor: None,
            };
            (token, record)
        });
        session.idle_expires_at = refresh
            .as_ref()
            .map_or(access_expires_at, |(_, r)| r.expires_at);
        let (counters, audit) = match login {
            Some(LoginEnd { counters, audit }) => {
                let audit = AuditRecord {
                    session: Some(session.id),
                    ..audit
                };
                (counters, vec![self.audit_event(audit)])
            }
            None => (&[][..], Vec::new()),
        };
        self.store
            .create_session(&NewSession {
                session: &session,
                refresh: refresh.as_ref().map(|(_, r)| r),
                clear_counters: counters,
                audit: &audit,
            })
            .await?;
        if let Some(record) = opaque {
            self.store.add_opaque_token(&record).await?;
            self.remember_opaque(record, session.clone());
        }
        Ok(TokenPair {
            access_token,
            access_expires_at,
            refresh_expires_at: refresh.as_ref().map(|(_, r)| r.expires_at),
            refresh_token: refresh.map(|(t, _)| t),
            session_id: session.id,
            user_id: session.user_id,
        })
    }

    /// The access credential `subject.opts` asks for: a signed JWT, or an opaque token with
    /// its record (to store before the token is handed out).
    pub(crate) fn issue_access(
        &self,
        subject: &Subject<'_>,
        session: &Session,
        store: Option<&Storefront>,
        now: Timestamp,
    ) -> CoreResult<(String, Timestamp, Option<OpaqueRecord>)> {
        let Some(role) = subject.opts.opaque_access else {
            let (jwt, exp) = self.sign_access(subject, session, store, now)?;
            return Ok((jwt, exp, None));
        };
        let ttl = subject
            .opts
            .access_ttl
            .unwrap_or_else(|| subject.tenant.tokens.access_ttl_for(session.kind));
        let exp = now.plus(ttl).min(session.absolute_expires_at);
        let token = secret::random_token(32);
        let record = OpaqueRecord {
            hash: SecretHash::of(&token),
            session_id: session.id,
            role: role.to_owned(),
            created_at: now,
            last_used_at: now,
            idle_ttl: exp.since(now),
            sliding: false,
        };
        Ok((token, exp, Some(record)))
    }

    /// Sign an access token for `session`, valid for the tenant's lifetime for its kind and
    /// never past the session's end.
    pub(crate) fn sign_access(
        &self,
        subject: &Subject<'_>,
        session: &Session,
        store: Option<&Storefront>,
        now: Timestamp,
    ) -> CoreResult<(String, Timestamp)> {
        let tenant = subject.tenant;
        let ttl = subject
            .opts
            .access_ttl
            .unwrap_or_else(|| tenant.tokens.access_ttl_for(session.kind));
        let exp = now.plus(ttl).min(session.absolute_expires_at);
        let claims = AccessClaims {
            iss: self.settings.issuer.clone(),
            sub: subject
                .user
                .map_or_else(|| subject.app.client_id.clone(), |u| u.id.to_string()),
            aud: tenant.audience().to_owned(),
            exp: exp.secs(),
            iat: now.secs(),
            jti: secret::random_token(16),
            sid: session.id.to_string(),
            client_id: subject.app.client_id.clone(),
            tenant: tenant.slug.clone(),
            store: store.map(|s| s.code.clone()),
            store_view: session.store_view.clone(),
            kind: session.kind.map_or(SERVICE_KIND, |k| k.as_str()).to_owned(),
            profiles: subject.profiles.clone(),
            extra: subject
                .opts
                .extra_claims
                .map(|f| f(subject.user, session))
                .unwrap_or_default(),
        };
        let ring = self.keys.load();
        let key = ring.current(tenant.id).ok_or_else(|| {
            CoreError::Internal(format!("tenant {} has no signing key", tenant.slug))
        })?;
        Ok((key.sign_jwt(&claims)?, Timestamp::from_secs(claims.exp)))
    }
}
