//! The native API's error shape, after RFC 6749 §5.2:
//!
//! ```json
//! {"error": "invalid_request", "error_description": "…", "code": "missing_parameter",
//!  "errors": [{"field": "grant_type", "code": "missing_parameter", "message": "…"}]}
//! ```
//!
//! `error` is the RFC's vocabulary; `code` is Portcullis's stable, more specific code.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::CoreError;
use portcullis_core::error::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// RFC 6749 error: `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_token`, `not_found`, `temporarily_unavailable`, `server_error`.
    pub error: &'static str,
    pub error_description: String,
    /// Stable Portcullis code, more specific than `error`.
    pub code: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

/// An error answer. Built from a `CoreError` or directly for HTTP-level problems.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    /// `WWW-Authenticate` challenge, for 401s.
    challenge: Option<&'static str>,
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        error: &'static str,
        code: &'static str,
        description: impl Into<String>,
    ) -> Self {
        Self {
            status,
            body: ErrorBody {
                error,
                error_description: description.into(),
                code,
                errors: Vec::new(),
            },
            challenge: None,
            retry_after: None,
        }
    }

    /// 400 `invalid_request` about one field.
    pub fn field(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            code,
            message.clone(),
        );
        e.body.errors.push(FieldProblem {
            field: field.to_owned(),
            code,
            message,
        });
        e
    }

    pub fn missing(field: &str) -> Self {
        Self::field(
            field,
            "missing_parameter",
            format!("the {field} parameter is required"),
        )
    }

    pub fn invalid_token(description: &str) -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "invalid_token",
            description,
        );
        e.challenge = Some("Bearer error=\"invalid_token\"");
        e
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        let code = e.code();
        let bad = StatusCode::BAD_REQUEST;
        match e {
            CoreError::InvalidRequest {
                message, fields, ..
            } => {
                let mut out = ApiError::new(bad, "invalid_request", code, message);
                out.body.errors = fields.into_iter().map(problem).collect();
                out
            }
            CoreError::WeakPassword { field, violations } => {
                let mut out = ApiError::new(
                    bad,
                    "invalid_request",
                    code,
                    "the password does not meet the policy",
                );
                out.body.errors = violations
                    .into_iter()
                    .map(|v| FieldProblem {
                        field: field.clone(),
                        code: v.code,
                        message: v.message,
                    })
                    .collect();
                out
            }
            CoreError::InvalidClient => {
                let mut out = ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    code,
                    "client authentication failed",
                );
                out.challenge = Some("Basic realm=\"portcullis\", charset=\"UTF-8\"");
                out
            }
            CoreError::UnauthorizedClient(msg) => {
                ApiError::new(bad, "unauthorized_client", code, msg)
            }
            CoreError::InvalidCredentials => {
                ApiError::new(bad, "invalid_grant", code, "invalid username or password")
            }
            CoreError::AccountInactive(_) | CoreError::PasswordExpired => {
                ApiError::new(bad, "invalid_grant", code, e.to_string())
            }
            CoreError::InvalidGrant { message, .. } => {
                ApiError::new(bad, "invalid_grant", code, message)
            }
            CoreError::InvalidToken(msg) => ApiError::invalid_token(msg),
            CoreError::Forbidden(msg) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", code, msg)
            }
            CoreError::NotFound(what) => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                code,
                format!("{what} not found"),
            ),
            CoreError::Conflict(msg) => ApiError::new(StatusCode::CONFLICT, "conflict", code, msg),
            CoreError::RateLimited { retry_after } => {
                let mut out = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    code,
                    "too many attempts, retry later",
                );
                out.retry_after = Some(retry_after.as_secs().max(1));
                out
            }
            CoreError::Busy { retry_after } => {
                let mut out = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    code,
                    "the server is busy, retry later",
                );
                out.retry_after = Some(retry_after.as_secs().max(1));
                out
            }
            CoreError::Unavailable => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                code,
                "the service is unavailable",
            ),
            CoreError::Internal(detail) => {
                // The detail goes to the log only.
                tracing::error!(%detail, "internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    code,
                    "internal error",
                )
            }
        }
    }
}

fn problem(f: FieldError) -> FieldProblem {
    FieldProblem {
        field: f.field,
        code: f.code,
        message: f.message,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body)).into_response();
        let headers = resp.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(c) = self.challenge {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// Answer for routes that do not exist.
pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no_such_route",
        "no such route",
    )
}
