//! Tenants (platform customers) and their stores, token lifetimes and signing algorithm.

use crate::clock::Timestamp;
use crate::ids::{StorefrontId, TenantId};
use crate::policy::PolicyLevel;
use crate::user::UserKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// A platform customer: a DJUST tenant, a JRNI company group, an Open Loyalty instance, a JFW brand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    /// Unique, stable, used by the CLI and the settings.
    pub slug: String,
    pub name: String,
    /// JFW `Brand-URL` values that select this tenant; stored lower-cased.
    pub brand_urls: Vec<String>,
    pub password_policy: PolicyLevel,
    pub signing_alg: SigningAlg,
    pub tokens: TokenSettings,
    pub passwords: crate::reset::PasswordRules,
    pub limits: crate::limits::LoginLimits,
    /// Profiles every user of a kind has, beside their own.
    pub default_profiles: BTreeMap<UserKind, Vec<String>>,
    pub enabled: bool,
    pub created_at: Timestamp,
}

/// A store of a tenant: DJUST `dj-store`, Open Loyalty `storeCode`, JRNI company.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Storefront {
    pub id: StorefrontId,
    pub tenant_id: TenantId,
    pub code: String,
    pub company_id: Option<i64>,
    pub name: String,
    pub is_default: bool,
    /// DJUST `dj-store-view` values.
    pub views: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum SigningAlg {
    #[default]
    EdDSA,
    RS256,
    ES256,
}

impl SigningAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::EdDSA => "EdDSA",
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "EdDSA" => Some(SigningAlg::EdDSA),
            "RS256" => Some(SigningAlg::RS256),
            "ES256" => Some(SigningAlg::ES256),
            _ => None,
        }
    }
}

/// Lifetimes of the credentials a tenant issues. Dialects may override them with their own
/// rules; the native API uses these.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    #[serde(with = "humantime_serde")]
    pub access_ttl: Duration,
    /// Per user kind overrides of `access_ttl`.
    #[serde(with = "kind_durations")]
    pub access_ttl_by_kind: BTreeMap<UserKind, Duration>,
    #[serde(with = "humantime_serde")]
    pub refresh_ttl: Duration,
    /// A refresh token presented again within this window returns the same new pair.
    #[serde(with = "humantime_serde")]
    pub refresh_retry_window: Duration,
    /// A session ends this long after login, however often it is refreshed.
    #[serde(with = "humantime_serde")]
    pub session_max_age: Duration,
    /// The `aud` claim of access tokens; empty means the tenant's slug.
    pub audience: String,
    /// Opaque tokens (JRNI `Auth-Token`) end this long after their last use.
    #[serde(with = "humantime_serde")]
    pub opaque_idle_ttl: Duration,
    /// Guest (basket) opaque tokens end this long after their last use.
    #[serde(with = "humantime_serde")]
    pub guest_idle_ttl: Duration,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            access_ttl: Duration::from_secs(600),
            access_ttl_by_kind: BTreeMap::new(),
            refresh_ttl: Duration::from_secs(2 * 3600),
            refresh_retry_window: Duration::from_secs(10),
            session_max_age: Duration::from_secs(30 * 24 * 3600),
            audience: String::new(),
            opaque_idle_ttl: Duration::from_secs(24 * 3600),
            guest_idle_ttl: Duration::from_secs(15 * 60),
        }
    }
}

impl TokenSettings {
    pub fn access_ttl_for(&self, kind: Option<UserKind>) -> Duration {
        kind.and_then(|k| self.access_ttl_by_kind.get(&k).copied())
            .unwrap_or(self.access_ttl)
    }
    /// The longest an access token of this tenant can live.
    pub fn max_access_ttl(&self) -> Duration {
        self.access_ttl_by_kind
            .values()
            .copied()
            .fold(self.access_ttl, Duration::max)
    }
}

mod kind_durations {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        m: &BTreeMap<UserKind, Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let as_text: BTreeMap<UserKind, String> = m
            .iter()
            .map(|(k, v)| {
                (
                    *k,
                    humantime_serde::re::humantime::format_duration(*v).to_string(),
                )
            })
            .collect();
        as_text.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<UserKind, Duration>, D::Error> {
        let raw = BTreeMap::<UserKind, String>::deserialize(d)?;
        raw.into_iter()
            .map(|(k, v)| {
                humantime_serde::re::humantime::parse_duration(&v)
                    .map(|d| (k, d))
                    .map_err(serde::de::Error::custom)
            })
            .collect()
    }
}

impl Tenant {
    pub fn audience(&self) -> &str {
        if self.tokens.audience.is_empty() {
            &self.slug
        } else {
            &self.tokens.audience
        }
    }
}

/// The host part of a brand URL, as brand URLs are stored: lower case, without scheme,
/// port, path or trailing dot.
pub fn brand_host(url: &str) -> String {
    let url = url.trim().to_ascii_lowercase();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(&url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once(':').map_or(authority, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            authority
        }
    });
    host.trim_end_matches('.').to_owned()
}

/// A slug: lower-case letters, digits and `-`, 1 to 63 characters.
pub fn valid_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::brand_host;

    #[test]
    fn brand_urls_are_reduced_to_their_host() {
        for (given, host) in [
            ("acme.example.com", "acme.example.com"),
            (" https://acme.example.com/ ", "acme.example.com"),
            ("http://acme.example.com/shop?x=1", "acme.example.com"),
            ("acme.example.com.", "acme.example.com"),
            ("HTTPS://Acme.Example.com:8443/x", "acme.example.com"),
            ("acme.example.com:8080", "acme.example.com"),
            ("", ""),
        ] {
            assert_eq!(brand_host(given), host, "{given:?}");
        }
    }
}
