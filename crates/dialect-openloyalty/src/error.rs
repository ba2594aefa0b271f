//! Open Loyalty's error bodies: `{"code":401,"message":"Bad credentials"}` for
//! authentication, `{"error":"…"}` for requests, and the form-error body listing each
//! field's problems.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::CoreError;
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug)]
pub enum OlError {
    /// `{"code": status, "message": …}`.
    Code(StatusCode, &'static str),
    /// `{"error": …}`.
    Error(StatusCode, String),
    /// 400 with the form-error body: field → its messages (fields without errors listed empty).
    Form(BTreeMap<&'static str, Vec<String>>),
    Busy(u64),
    Limited(u64),
}

impl OlError {
    pub fn empty_field(name: &str) -> Self {
        OlError::Error(
            StatusCode::BAD_REQUEST,
            format!("field \"{name}\" should not be empty"),
        )
    }

    /// What a core error means on a JWT-protected route.
    pub fn from_token(e: CoreError) -> Self {
        match e {
            CoreError::InvalidToken("token expired") => {
                OlError::Code(StatusCode::UNAUTHORIZED, "Expired JWT Token")
            }
            CoreError::InvalidToken(_) => {
                OlError::Code(StatusCode::UNAUTHORIZED, "Invalid JWT Token")
            }
            other => other.into(),
        }
    }
}

impl From<CoreError> for OlError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::InvalidCredentials
            | CoreError::AccountInactive(_)
            | CoreError::PasswordExpired
            | CoreError::InvalidClient => {
                OlError::Code(StatusCode::UNAUTHORIZED, "Bad credentials")
            }
            CoreError::InvalidGrant { code, .. } if code.starts_with("refresh_token") => {
                OlError::Code(
                    StatusCode::UNAUTHORIZED,
                    "An authentication exception occurred.",
                )
            }
            CoreError::InvalidGrant { message, .. } => {
                OlError::Error(StatusCode::NOT_FOUND, message)
            }
            CoreError::InvalidToken(_) => {
                OlError::Code(StatusCode::UNAUTHORIZED, "Invalid JWT Token")
            }
            CoreError::InvalidRequest { message, .. } => {
                OlError::Error(StatusCode::BAD_REQUEST, message)
            }
            CoreError::WeakPassword { .. } => {
                OlError::Error(StatusCode::BAD_REQUEST, e.to_string())
            }
            CoreError::UnauthorizedClient(m) | CoreError::Forbidden(m) => {
                OlError::Error(StatusCode::FORBIDDEN, m)
            }
            CoreError::NotFound(what) => {
                OlError::Error(StatusCode::NOT_FOUND, format!("{what} not found"))
            }
            CoreError::Conflict(m) => OlError::Error(StatusCode::CONFLICT, m),
            CoreError::Busy { retry_after } => OlError::Busy(retry_after.as_secs().max(1)),
            CoreError::RateLimited { retry_after } => {
                OlError::Limited(retry_after.as_secs().max(1))
            }
            CoreError::Unavailable => OlError::Error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the service is unavailable".into(),
            ),
            CoreError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                OlError::Error(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
            }
        }
    }
}

impl IntoResponse for OlError {
    fn into_response(self) -> Response {
        match self {
            OlError::Code(status, message) => (
                status,
                axum::Json(json!({"code": status.as_u16(), "message": message})),
            )
                .into_response(),
            OlError::Error(status, error) => {
                (status, axum::Json(json!({"error": error}))).into_response()
            }
            OlError::Form(fields) => {
                let children: serde_json::Map<String, Value> = fields
                    .into_iter()
                    .map(|(name, errors)| {
                        let child = if errors.is_empty() {
                            json!({})
                        } else {
                            json!({"errors": errors})
                        };
                        (name.to_owned(), child)
                    })
                    .collect();
                (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({"form": {"children": children}, "errors": []})),
                )
                    .into_response()
            }
            OlError::Limited(secs) => {
                let body = json!({"code": 429, "message": "Too many login attempts, retry later."});
                let mut resp = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
                resp.headers_mut().insert(header::RETRY_AFTER, secs.into());
                resp
            }
            OlError::Busy(secs) => {
                let mut resp = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    axum::Json(json!({"code": 503, "message": "busy, retry later"})),
                )
                    .into_response();
                resp.headers_mut().insert(header::RETRY_AFTER, secs.into());
                resp
            }
        }
    }
}
