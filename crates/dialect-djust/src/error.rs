//! DJUST's error shape:
//! `{"code":"…","message":"…","errors":[{"code":"…","message":"…","detail":"…"}],"warnings":[]}`.
//! Clients read `message`, else `errors[0].message`. Codes are Portcullis's stable codes in
//! DJUST's upper-case style.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_core::CoreError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDto {
    code: String,
    message: String,
    errors: Vec<ErrorItem>,
    warnings: Vec<ErrorItem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorItem {
    code: String,
    message: String,
    detail: String,
}

#[derive(Debug)]
pub struct DjError {
    status: StatusCode,
    body: ErrorDto,
    retry_after: Option<u64>,
}

fn upper(code: &str) -> String {
    code.to_ascii_uppercase()
}

impl DjError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let item = ErrorItem {
            code: upper(code),
            message: message.clone(),
            detail: String::new(),
        };
        Self {
            status,
            body: ErrorDto {
                code: upper(code),
                message,
                errors: vec![item],
                warnings: Vec::new(),
            },
            retry_after: None,
        }
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }
}

impl From<CoreError> for DjError {
    fn from(e: CoreError) -> Self {
        let code = e.code();
        match e {
            CoreError::InvalidRequest {
                message, fields, ..
            } if fields.is_empty() => DjError::bad_request(code, message),
            CoreError::InvalidRequest {
                message, fields, ..
            } => {
                let mut out = DjError::bad_request(code, message);
                out.body.errors = fields
                    .into_iter()
                    .map(|f| ErrorItem {
                        code: upper(f.code),
                        message: f.message,
                        detail: f.field,
                    })
                    .collect();
                out
            }
            CoreError::WeakPassword { field, violations } => {
                let mut out = DjError::bad_request(code, "the password does not meet the policy");
                out.body.errors = violations
                    .into_iter()
                    .map(|v| ErrorItem {
                        code: upper(v.code),
                        message: v.message,
                        detail: field.clone(),
                    })
                    .collect();
                out
            }
            CoreError::InvalidClient => {
                DjError::unauthorized("invalid_api_key", "unknown or disabled dj-api-key")
            }
            CoreError::UnauthorizedClient(m) => DjError::bad_request(code, m),
            CoreError::InvalidCredentials => DjError::unauthorized(code, "bad credentials"),
            CoreError::AccountInactive(_) | CoreError::PasswordExpired => {
                DjError::unauthorized(code, e.to_string())
            }
            // Refresh tokens: 401; reset tokens: 400 (the table of docs/dialects/djust.md).
            CoreError::InvalidGrant { code, message } if code.starts_with("reset_token") => {
                DjError::bad_request(code, message)
            }
            CoreError::InvalidGrant { code, message } => DjError::unauthorized(code, message),
            CoreError::InvalidToken(m) => DjError::unauthorized(code, m),
            CoreError::Forbidden(m) => DjError::new(StatusCode::FORBIDDEN, code, m),
            CoreError::NotFound(what) => {
                DjError::new(StatusCode::NOT_FOUND, code, format!("{what} not found"))
            }
            CoreError::Conflict(m) => DjError::new(StatusCode::CONFLICT, code, m),
            CoreError::RateLimited { retry_after } => {
                let mut out = DjError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    code,
                    "too many attempts, retry later",
                );
                out.retry_after = Some(retry_after.as_secs().max(1));
                out
            }
            CoreError::Busy { retry_after } => {
                let mut out = DjError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    code,
                    "the server is busy, retry later",
                );
                out.retry_after = Some(retry_after.as_secs().max(1));
                out
            }
            CoreError::Unavailable => DjError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                code,
                "the service is unavailable",
            ),
            CoreError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                DjError::new(StatusCode::INTERNAL_SERVER_ERROR, code, "internal error")
            }
        }
    }
}

impl IntoResponse for DjError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}
