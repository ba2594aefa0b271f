//! Client apps: how a tenant's software identifies itself (OAuth client, DJUST `dj-api-key`,
//! JRNI `App-Id`). The API key is stored only as a SHA-256 hash.

use crate::ids::{AppId, TenantId};
use crate::secret::SecretHash;
use crate::user::UserKind;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientApp {
    pub id: AppId,
    pub tenant_id: TenantId,
    /// Public identifier: OAuth `client_id`, JRNI `App-Id`. Unique across tenants.
    pub client_id: String,
    pub name: String,
    /// SHA-256 of the API key (the OAuth `client_secret`, DJUST `dj-api-key`).
    pub key_hash: SecretHash,
    /// The user kinds this app may log in.
    pub kinds: Vec<UserKind>,
    pub grants: Vec<Grant>,
    /// Hosts allowed in password-reset links.
    pub redirect_hosts: Vec<String>,
    pub enabled: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    Password,
    RefreshToken,
    ClientCredentials,
}

impl Grant {
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::Password => "password",
            Grant::RefreshToken => "refresh_token",
            Grant::ClientCredentials => "client_credentials",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "password" => Some(Grant::Password),
            "refresh_token" => Some(Grant::RefreshToken),
            "client_credentials" => Some(Grant::ClientCredentials),
            _ => None,
        }
    }
}

impl ClientApp {
    pub fn allows(&self, grant: Grant) -> bool {
        self.grants.contains(&grant)
    }

    /// The kind a password login means when the request names none: the only kind the app
    /// allows, else `customer` if allowed, else the first listed.
    pub fn default_kind(&self) -> Option<UserKind> {
        if self.kinds.contains(&UserKind::Customer) && self.kinds.len() > 1 {
            return Some(UserKind::Customer);
        }
        self.kinds.first().copied()
    }

    pub fn redirect_allowed(&self, host: &str) -> bool {
        self.redirect_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host))
    }
}
