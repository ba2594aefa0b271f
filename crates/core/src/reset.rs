//! Password reset tokens and the tenant's rules for the password lifecycle.

use crate::clock::Timestamp;
use crate::ids::{AppId, TenantId, UserId};
use crate::secret::SecretHash;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A reset token, stored as its hash. It ends when used, when a newer one is issued, when
/// the password changes otherwise, or when it expires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResetRecord {
    pub hash: SecretHash,
    pub user_id: UserId,
    pub tenant_id: TenantId,
    pub app_id: AppId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    /// Superseded by a newer token or by a password change.
    pub voided_at: Option<Timestamp>,
}

/// Per-tenant rules of the password lifecycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordRules {
    /// How long a reset link works.
    #[serde(with = "humantime_serde")]
    pub reset_ttl: Duration,
    /// A reset ends every session of the user.
    pub revoke_sessions_on_reset: bool,
    /// A change ends every other session of the user.
    pub revoke_other_sessions_on_change: bool,
    /// Reset e-mails to one address: at most this many a minute...
    pub reset_mails_per_minute: u32,
    /// ...and this many a day. Requests beyond are answered the same, and send nothing.
    pub reset_mails_per_day: u32,
}

impl Default for PasswordRules {
    fn default() -> Self {
        Self {
            reset_ttl: Duration::from_secs(24 * 3600),
            revoke_sessions_on_reset: true,
            revoke_other_sessions_on_change: true,
            reset_mails_per_minute: 1,
            reset_mails_per_day: 5,
        }
    }
}
