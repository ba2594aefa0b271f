//! Who a token speaks for, and whether it may make a given request: the decision behind
//! `/v1/authorize` and forward-auth. In steady state nothing here queries the store: JWTs are
//! verified from the cache, opaque tokens from memory, profiles are compiled in the directory
//! and the profile names of opaque tokens' users are cached for a minute.

use super::Core;
use super::tokens::looks_like_jwt;
use crate::error::{CoreError, CoreResult};
use crate::ids::{SessionId, TenantId, UserId};
use crate::rights::{self, Decision};
use crate::user::User;
use std::sync::Arc;

/// The caller behind a valid access credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The user id, or the client id of a service token.
    pub subject: String,
    pub user: Option<UserId>,
    pub tenant_id: TenantId,
    /// The tenant's slug.
    pub tenant: String,
    /// The user kind, or `service`.
    pub kind: String,
    pub profiles: Vec<String>,
    pub client_id: String,
    pub session: SessionId,
}

impl Core {
    /// The identity behind an access credential of any API: a JWT access token (native,
    /// DJUST, Open Loyalty) or an opaque token (JRNI `Auth-Token`, JFW `Auth-Key`).
    pub async fn identify(&self, token: &str) -> CoreResult<Identity> {
        if looks_like_jwt(token) {
            let claims = self.validate_access(token)?;
            let dir = self.directory();
            let tenant = dir
                .tenant_by_slug(&claims.tenant)
                .ok_or(CoreError::InvalidToken("invalid token"))?;
            let session =
                SessionId::parse(&claims.sid).ok_or(CoreError::InvalidToken("invalid token"))?;
            return Ok(Identity {
                subject: claims.sub.clone(),
                user: UserId::parse(&claims.sub),
                tenant_id: tenant.id,
                tenant: claims.tenant.clone(),
                kind: claims.kind.clone(),
                profiles: claims.profiles.clone(),
                client_id: claims.client_id.clone(),
                session,
            });
        }
        let grant = self.validate_opaque(token).await?;
        self.identity_of(&grant).await
    }

    /// The identity behind a valid opaque token.
    pub(crate) async fn identity_of(&self, grant: &super::OpaqueGrant) -> CoreResult<Identity> {
        let s = &grant.session;
        let dir = self.directory();
        let tenant = dir
            .tenant(s.tenant_id)
            .ok_or(CoreError::InvalidToken("invalid token"))?;
        let client_id = dir
            .app(s.app_id)
            .map(|a| a.client_id.clone())
            .unwrap_or_default();
        let profiles = match s.user_id {
            Some(user) => self.cached_profiles(user).await?.as_ref().clone(),
            None => Vec::new(),
        };
        Ok(Identity {
            subject: s
                .user_id
                .map_or_else(|| client_id.clone(), |u| u.to_string()),
            user: s.user_id,
            tenant_id: s.tenant_id,
            tenant: tenant.slug.clone(),
            kind: s
                .kind
                .map_or(crate::token::SERVICE_KIND, |k| k.as_str())
                .to_owned(),
            profiles,
            client_id,
            session: s.id,
        })
    }

    /// Whether the holder of `token` may make the request `method path`.
    pub async fn authorize(
        &self,
        token: &str,
        method: &str,
        path: &str,
    ) -> CoreResult<(Identity, Decision)> {
        let identity = self.identify(token).await?;
        let decision = self.decide_for(&identity, method, path);
        Ok((identity, decision))
    }

    /// Whether `identity` may make the request `method path`, by its tenant's profiles.
    pub fn decide_for(&self, identity: &Identity, method: &str, path: &str) -> Decision {
        let dir = self.directory();
        let sets = dir.rule_sets(identity.tenant_id, &identity.profiles);
        rights::decide(sets, method, path)
    }

    /// [`Core::decide_for`]'s `allowed` alone, without writing out why.
    pub fn allows(&self, identity: &Identity, method: &str, path: &str) -> bool {
        let dir = self.directory();
        let sets = dir.rule_sets(identity.tenant_id, &identity.profiles);
        rights::allows(sets, method, path)
    }

    async fn cached_profiles(&self, user: UserId) -> CoreResult<Arc<Vec<String>>> {
        if let Some(p) = self.user_profiles.get(&user) {
            return Ok(p);
        }
        let u = self
            .store
            .get_user(user)
            .await?
            .ok_or(CoreError::InvalidToken("invalid token"))?;
        self.cached_profiles_of(&u).await
    }

    /// A user's profile names, from the cache the change feed keeps true (emptied whenever
    /// the directory, and so any profile assignment, changes).
    pub(crate) async fn cached_profiles_of(&self, user: &User) -> CoreResult<Arc<Vec<String>>> {
        if let Some(p) = self.user_profiles.get(&user.id) {
            return Ok(p);
        }
        let names = Arc::new(self.profiles_of(user).await?);
        self.user_profiles.insert(user.id, names.clone());
        Ok(names)
    }
}
