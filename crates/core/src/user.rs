//! Users: their kinds, statuses and login identifiers. Identifiers are compared
//! case-insensitively: they are stored as given and looked up by their normalised form.

use crate::clock::Timestamp;
use crate::ids::{StorefrontId, TenantId, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a user is to the tenant. Each dialect names them its own way (see docs/dialects).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserKind {
    /// Platform operator or administrator (DJUST OPERATOR, JRNI Admin, Open Loyalty admin).
    #[serde(alias = "admin")]
    Operator,
    /// Customer or member (DJUST ACCOUNT, JRNI Member, Open Loyalty customer, JFW user).
    #[serde(alias = "member", alias = "account")]
    Customer,
    /// Supplier or seller (DJUST SUPPLIER, Open Loyalty seller).
    #[serde(alias = "seller")]
    Supplier,
    /// A guest without an account (JRNI Contact).
    #[serde(alias = "contact")]
    Guest,
}

impl UserKind {
    pub const ALL: [UserKind; 4] = [
        UserKind::Operator,
        UserKind::Customer,
        UserKind::Supplier,
        UserKind::Guest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UserKind::Operator => "operator",
            UserKind::Customer => "customer",
            UserKind::Supplier => "supplier",
            UserKind::Guest => "guest",
        }
    }

    /// Accepts the canonical names and the common aliases (`admin`, `member`, `account`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "operator" | "admin" => Some(UserKind::Operator),
            "customer" | "member" | "account" => Some(UserKind::Customer),
            "supplier" | "seller" => Some(UserKind::Supplier),
            "guest" | "contact" => Some(UserKind::Guest),
            _ => None,
        }
    }
}

impl fmt::Display for UserKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    Disabled,
    Locked,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
            UserStatus::Locked => "locked",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(UserStatus::Active),
            "disabled" => Some(UserStatus::Disabled),
            "locked" => Some(UserStatus::Locked),
            _ => None,
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub kind: UserKind,
    pub email: Option<String>,
    pub username: Option<String>,
    pub phone: Option<String>,
    pub status: UserStatus,
    /// PHC or modular-crypt string; `None` for users who cannot log in with a password.
    pub password_hash: Option<String>,
    /// SHA-256 (hex) of the hash a provisioning file gave, while the password is still that
    /// one (a rehash at login keeps it; a password change clears it). Lets a re-import of the
    /// same file recognise the password it set, even after the hash was upgraded.
    pub password_origin: Option<String>,
    /// When the current password was set (password expiry counts from here).
    pub password_changed_at: Timestamp,
    pub store_id: Option<StorefrontId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("kind", &self.kind)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl User {
    /// The name shown to humans and put in `username` claims: username, else e-mail.
    pub fn display_login(&self) -> &str {
        self.username
            .as_deref()
            .or(self.email.as_deref())
            .unwrap_or_default()
    }
}

/// Normalised form of a login identifier: trimmed and lower-cased (Unicode-aware).
pub fn normalize_login(s: &str) -> String {
    s.trim().to_lowercase()
}

/// Checks the shape of an e-mail address: one `@`, a non-empty local part, a dotted domain,
/// no spaces or control characters, at most 254 bytes. Deliverability is not our concern here.
pub fn parse_email(s: &str) -> Result<String, &'static str> {
    let s = s.trim();
    if s.is_empty() || s.len() > 254 {
        return Err("e-mail must be 1 to 254 characters");
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("e-mail must not contain spaces or control characters");
    }
    let Some((local, domain)) = s.rsplit_once('@') else {
        return Err("e-mail must contain @");
    };
    if local.is_empty()
        || domain.is_empty()
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains('@')
    {
        return Err("e-mail must look like name@example.com");
    }
    Ok(s.to_owned())
}

/// A phone number as people write them: an optional `+`, then 3 to 20 digits, possibly
/// grouped by spaces, dots, dashes or parentheses.
pub fn parse_phone(s: &str) -> Result<String, &'static str> {
    let s = s.trim();
    let body = s.strip_prefix('+').unwrap_or(s);
    let digits = body.bytes().filter(u8::is_ascii_digit).count();
    let allowed = body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'.' | b'-' | b'(' | b')'));
    if !allowed || !(3..=20).contains(&digits) || s.len() > 32 {
        return Err("phone must be digits, optionally with + and separators");
    }
    Ok(s.to_owned())
}

/// A username: 1 to 128 printable characters without spaces at the ends.
pub fn parse_username(s: &str) -> Result<String, &'static str> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 128 {
        return Err("username must be 1 to 128 characters");
    }
    if s.chars().any(char::is_control) {
        return Err("username must not contain control characters");
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_aliases() {
        assert_eq!(UserKind::parse("ADMIN"), Some(UserKind::Operator));
        assert_eq!(UserKind::parse("account"), Some(UserKind::Customer));
        assert_eq!(UserKind::parse("robot"), None);
        for k in UserKind::ALL {
            assert_eq!(UserKind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn emails() {
        assert!(parse_email("alice@example.com").is_ok());
        assert!(parse_email(" Alice@Example.com ").is_ok());
        for bad in [
            "",
            "alice",
            "@x.com",
            "a@",
            "a@x",
            "a b@x.com",
            "a@.com",
            "a@x.com.",
        ] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones() {
        for good in ["+33100000000", "+1 (555) 010-0000", "0612.34.56.78"] {
            assert!(parse_phone(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "call me",
            "+",
            "12",
            "+33 1 00 00 00 00 00 00 00 00 00 00 00",
        ] {
            assert!(parse_phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn login_normalisation_is_case_insensitive() {
        assert_eq!(normalize_login(" ÉLISE@Example.COM "), "élise@example.com");
    }
}
