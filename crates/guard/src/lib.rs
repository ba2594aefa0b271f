//! `portcullis-guard`: protect a Rust HTTP service with Portcullis access tokens, without a
//! call to Portcullis per request.
//!
//! [`Guard`] verifies JWT access tokens against the keys Portcullis publishes at
//! `/.well-known/jwks.json` (fetched once, cached, fetched again when a token names a key id
//! it has not seen), checks issuer, audience and expiry, and optionally decides the request
//! against per-route rules of the caller's profiles ([`portcullis_rights`], the engine
//! Portcullis itself uses). [`GuardLayer`] does this in front of any tower service (axum,
//! tonic, hyper) and puts the caller's [`Identity`] in the request's extensions.
//!
//! Offline verification cannot see a logout before the token expires (10 minutes by
//! default); routes that must can ask Portcullis (`/v1/forward-auth`, introspection).
//!
//! May depend on: portcullis-rights, jsonwebtoken, reqwest, tower, http. Not the core.

mod identity;
mod keys;
mod layer;

pub use identity::Identity;
pub use layer::{GuardLayer, GuardService};
/// The rule types, to describe profiles to [`GuardBuilder::profile`].
pub use portcullis_rights::{Decision, Right, RouteRule};

use jsonwebtoken::{Algorithm, Validation};
use portcullis_rights::{RuleSet, allows, decide};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardError {
    /// No bearer token in the request.
    Missing,
    /// Malformed, badly signed, expired, or for another issuer or audience.
    Invalid(String),
    /// A valid token whose profiles do not allow this request.
    Forbidden(String),
    /// The keys could not be fetched.
    Unavailable(String),
}

impl std::fmt::Display for GuardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GuardError::Missing => f.write_str("an access token is required"),
            GuardError::Invalid(why) => write!(f, "invalid token: {why}"),
            GuardError::Forbidden(why) => write!(f, "forbidden: {why}"),
            GuardError::Unavailable(why) => write!(f, "keys unavailable: {why}"),
        }
    }
}

impl std::error::Error for GuardError {}

/// Verifies tokens and decides requests. Cheap to clone; share one per service.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<Inner>,
}

struct Inner {
    keys: keys::KeySource,
    issuer: Option<String>,
    audience: String,
    /// Compiled rules by profile name; `None`: authentication only.
    rules: Option<HashMap<String, RuleSet>>,
}

/// Builds a [`Guard`].
pub struct GuardBuilder {
    jwks_url: String,
    issuer: Option<String>,
    audience: String,
    rules: Option<HashMap<String, RuleSet>>,
    refetch_after: Duration,
}

impl Guard {
    /// A guard trusting the keys at `jwks_url`, e.g.
    /// `https://auth.example.com/.well-known/jwks.json`, for tokens of one tenant: `audience`
    /// is the tenant's audience (its slug unless configured otherwise). Required, because the
    /// keys verify every tenant's tokens and profile names mean something only in theirs.
    pub fn builder(jwks_url: impl Into<String>, audience: impl Into<String>) -> GuardBuilder {
        GuardBuilder {
            jwks_url: jwks_url.into(),
            issuer: None,
            audience: audience.into(),
            rules: None,
            refetch_after: Duration::from_secs(1),
        }
    }

    /// Verifies a bearer token and returns who it speaks for.
    pub async fn verify(&self, token: &str) -> Result<Identity, GuardError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| GuardError::Invalid(e.to_string()))?;
        if !matches!(
            header.alg,
            Algorithm::EdDSA | Algorithm::RS256 | Algorithm::ES256
        ) {
            return Err(GuardError::Invalid(format!(
                "algorithm {:?} not accepted",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| GuardError::Invalid("the token names no key".into()))?;
        let key = self.inner.keys.key(&kid).await?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = 0;
        match &self.inner.issuer {
            Some(iss) => validation.set_issuer(&[iss]),
            None => validation.iss = None,
        }
        validation.set_audience(&[&self.inner.audience]);
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
            .map_err(|e| GuardError::Invalid(e.to_string()))?;
        Identity::from_claims(data.claims)
    }

    /// Whether `identity` may make `method path`, by the rules this guard was given; without
    /// rules every verified caller may.
    pub fn decide(&self, identity: &Identity, method: &str, path: &str) -> Option<Decision> {
        Some(decide(self.rule_sets(identity)?, method, path))
    }

    /// The compiled profiles of `identity`, or `None` when this guard was given no rules.
    fn rule_sets<'a>(
        &'a self,
        identity: &'a Identity,
    ) -> Option<impl Iterator<Item = &'a RuleSet>> {
        let rules = self.inner.rules.as_ref()?;
        Some(identity.profiles.iter().filter_map(|p| rules.get(p)))
    }

    /// Verifies and decides a request: what [`GuardLayer`] does.
    pub async fn check(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
    ) -> Result<Identity, GuardError> {
        let identity = self.verify(token.ok_or(GuardError::Missing)?).await?;
        // The reason is written out only for a denial: most requests pass.
        if let Some(sets) = self.rule_sets(&identity)
            && !allows(sets, method, path)
            && let Some(d) = self.decide(&identity, method, path)
        {
            return Err(GuardError::Forbidden(d.reason));
        }
        Ok(identity)
    }

    /// A tower layer that guards every request of the service it wraps.
    pub fn layer(&self) -> GuardLayer {
        GuardLayer::new(self.clone())
    }
}

impl GuardBuilder {
    /// Only tokens with this `iss` (Portcullis's issuer URL).
    pub fn issuer(mut self, iss: impl Into<String>) -> Self {
        self.issuer = Some(iss.into());
        self
    }
    /// Decide requests by these profiles' rules (the same rules as in Portcullis's
    /// provisioning file). Callers without a matching profile are refused.
    pub fn profile(mut self, name: &str, rules: &[RouteRule]) -> Self {
        self.rules
            .get_or_insert_with(HashMap::new)
            .insert(name.to_owned(), RuleSet::new(name, rules));
        self
    }
    /// The shortest time between two fetches of the keys for unknown key ids (1 s), so
    /// tokens with made-up key ids cannot make the guard hammer Portcullis.
    pub fn refetch_after(mut self, d: Duration) -> Self {
        self.refetch_after = d;
        self
    }
    pub fn build(self) -> Guard {
        Guard {
            inner: Arc::new(Inner {
                keys: keys::KeySource::new(self.jwks_url, self.refetch_after),
                issuer: self.issuer,
                audience: self.audience,
                rules: self.rules,
            }),
        }
    }
}
