//! The core's one error type. Every variant has a stable machine code (`code()`); each API
//! renders it in its own shape and status. Internal details stay in the log, never in answers.

use crate::policy::Violation;
use crate::store::StoreError;
use std::time::Duration;

pub type CoreResult<T, E = CoreError> = std::result::Result<T, E>;

/// One problem with one input field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The request is malformed or names something that does not exist (unknown store, kind
    /// not allowed). `code` is specific and stable.
    #[error("{message}")]
    InvalidRequest {
        code: &'static str,
        message: String,
        fields: Vec<FieldError>,
    },
    /// A new password breaks the tenant's policy; every violation is listed.
    #[error("the password does not meet the policy")]
    WeakPassword {
        field: String,
        violations: Vec<Violation>,
    },
    /// Unknown client, wrong secret or disabled app.
    #[error("client authentication failed")]
    InvalidClient,
    /// The app is not allowed this grant or user kind.
    #[error("{0}")]
    UnauthorizedClient(String),
    /// Wrong identifier or password. Deliberately says nothing about which.
    #[error("invalid username or password")]
    InvalidCredentials,
    /// The password was right but the account may not log in.
    #[error("the account is {0}")]
    AccountInactive(&'static str),
    /// The password was right but is older than the tenant's policy allows; the user must
    /// set a new one (by a reset link).
    #[error("the password has expired and must be reset")]
    PasswordExpired,
    /// A refresh token, reset token or grant that is unknown, expired, spent or reused.
    #[error("{message}")]
    InvalidGrant { code: &'static str, message: String },
    /// A missing, malformed, expired or revoked access token.
    #[error("{0}")]
    InvalidToken(&'static str),
    /// Authenticated, but not allowed this (another's basket, another company).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts (per client IP or per account); the caller may retry after the delay.
    #[error("too many attempts, retry later")]
    RateLimited { retry_after: Duration },
    /// Too many password hashes are running; the caller should retry after the delay.
    #[error("the server is busy, retry later")]
    Busy { retry_after: Duration },
    /// The store is unreachable.
    #[error("the service is unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
}

impl CoreError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        CoreError::InvalidRequest {
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn field(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        let message = message.into();
        CoreError::InvalidRequest {
            code,
            message: message.clone(),
            fields: vec![FieldError {
                field: field.to_owned(),
                code,
                message,
            }],
        }
    }

    pub fn grant(code: &'static str, message: impl Into<String>) -> Self {
        CoreError::InvalidGrant {
            code,
            message: message.into(),
        }
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        CoreError::Internal(e.to_string())
    }

    /// The stable machine code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::InvalidRequest { code, .. } => code,
            CoreError::WeakPassword { .. } => "weak_password",
            CoreError::InvalidClient => "invalid_client",
            CoreError::UnauthorizedClient(_) => "unauthorized_client",
            CoreError::InvalidCredentials => "invalid_credentials",
            CoreError::AccountInactive("disabled") => "account_disabled",
            CoreError::AccountInactive(_) => "account_locked",
            CoreError::PasswordExpired => "password_expired",
            CoreError::InvalidGrant { code, .. } => code,
            CoreError::InvalidToken(_) => "invalid_token",
            CoreError::Forbidden(_) => "forbidden",
            CoreError::NotFound(_) => "not_found",
            CoreError::Conflict(_) => "conflict",
            CoreError::RateLimited { .. } => "rate_limited",
            CoreError::Busy { .. } => "busy",
            CoreError::Unavailable => "unavailable",
            CoreError::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => CoreError::Conflict(what),
            StoreError::NotFound(what) => CoreError::NotFound(what),
            StoreError::Unavailable(_) => CoreError::Unavailable,
            StoreError::Internal(msg) => CoreError::Internal(msg),
        }
    }
}
