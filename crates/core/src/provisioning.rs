//! The provisioning file (version 1, docs/provisioning.md) as data, and the plan that applying
//! it produces. Parsing TOML or JSON text is the caller's job; this is the shape.

use crate::app::{ClientApp, Grant};
use crate::ids::{ProfileId, UserId};
use crate::keys::StoredKey;
use crate::policy::PolicyLevel;
use crate::profile::{Profile, RouteRule};
use crate::tenant::{SigningAlg, Storefront, Tenant, TokenSettings};
use crate::user::{User, UserKind, UserStatus};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisioningDoc {
    pub version: u32,
    #[serde(default)]
    pub tenants: Vec<TenantDoc>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantDoc {
    pub slug: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub brand_urls: Vec<String>,
    #[serde(default)]
    pub password_policy: PolicyLevel,
    #[serde(default)]
    pub signing_alg: SigningAlg,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub tokens: TokenSettings,
    #[serde(default)]
    pub passwords: crate::reset::PasswordRules,
    #[serde(default)]
    pub limits: crate::limits::LoginLimits,
    /// Profiles every user of a kind has, beside their own: `customer = ["buyer"]`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub default_profiles: std::collections::BTreeMap<crate::user::UserKind, Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<StoreDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<AppDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<ProfileDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserDoc>,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreDoc {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<i64>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub default: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppDoc {
    pub client_id: String,
    #[serde(default)]
    pub name: String,
    /// In clear in the file, hashed in the store; never exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    pub kinds: Vec<UserKind>,
    #[serde(default = "default_grants")]
    pub grants: Vec<Grant>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect_hosts: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn default_grants() -> Vec<Grant> {
    vec![Grant::Password, Grant::RefreshToken]
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileDoc {
    pub name: String,
    #[serde(default)]
    pub rules: Vec<RouteRule>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserDoc {
    pub kind: UserKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// A clear password, checked against the tenant's policy. Never exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// An imported hash (argon2, bcrypt, pbkdf2-sha256). Never exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<UserStatus>,
    /// Absent: assignments left as they are. Present: replaced by this list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiles: Option<Vec<String>>,
}

impl std::fmt::Debug for ProvisionPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvisionPlan")
            .field("tenants", &self.tenants.len())
            .field("stores", &self.storefronts.len())
            .field("apps", &self.apps.len())
            .field("profiles", &self.profiles.len())
            .field("users", &self.users.len())
            .field("keys", &self.keys.len())
            .finish()
    }
}

/// Everything an import writes, each record complete. Stores upsert by id in one transaction.
#[derive(Clone, Default)]
pub struct ProvisionPlan {
    pub tenants: Vec<Tenant>,
    pub storefronts: Vec<Storefront>,
    pub apps: Vec<ClientApp>,
    pub profiles: Vec<Profile>,
    pub users: Vec<User>,
    /// Users whose profile assignments are replaced by these.
    pub user_profiles: Vec<(UserId, Vec<ProfileId>)>,
    /// New signing keys (new tenants, changed algorithms); each becomes its tenant's current.
    pub keys: Vec<StoredKey>,
    /// When the keys these replace stop verifying.
    pub retire_previous_keys_at: crate::clock::Timestamp,
}

impl ProvisionPlan {
    pub fn is_empty(&self) -> bool {
        self.tenants.is_empty()
            && self.storefronts.is_empty()
            && self.apps.is_empty()
            && self.profiles.is_empty()
            && self.users.is_empty()
            && self.user_profiles.is_empty()
            && self.keys.is_empty()
    }
}
