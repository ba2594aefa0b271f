//! JRNI's error bodies: `{"error":"401 Unauthorized"}` and the like. Details go to the log
//! and the audit trail, not to the client.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::CoreError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Status code and reason, e.g. `401 Unauthorized`.
    error: String,
    /// What was wrong with the request (400 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

#[derive(Debug)]
pub struct JrniError {
    status: StatusCode,
    message: Option<String>,
    retry_after: Option<u64>,
}

impl JrniError {
    pub fn status(status: StatusCode) -> Self {
        Self {
            status,
            message: None,
            retry_after: None,
        }
    }
    pub fn status_code(&self) -> StatusCode {
        self.status
    }
    pub fn unauthorized() -> Self {
        Self::status(StatusCode::UNAUTHORIZED)
    }
    pub fn forbidden() -> Self {
        Self::status(StatusCode::FORBIDDEN)
    }
    pub fn not_found() -> Self {
        Self::status(StatusCode::NOT_FOUND)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: Some(message.into()),
            retry_after: None,
        }
    }
}

impl From<CoreError> for JrniError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::InvalidRequest { message, .. } => JrniError::bad_request(message),
            CoreError::WeakPassword { .. } => JrniError::bad_request(e.to_string()),
            CoreError::InvalidClient
            | CoreError::InvalidCredentials
            | CoreError::AccountInactive(_)
            | CoreError::PasswordExpired
            | CoreError::InvalidGrant { .. }
            | CoreError::InvalidToken(_) => JrniError::unauthorized(),
            CoreError::UnauthorizedClient(_) | CoreError::Forbidden(_) => JrniError::forbidden(),
            CoreError::NotFound(_) => JrniError::not_found(),
            CoreError::Conflict(_) => JrniError::status(StatusCode::CONFLICT),
            CoreError::RateLimited { retry_after } => JrniError {
                retry_after: Some(retry_after.as_secs().max(1)),
                ..JrniError::status(StatusCode::TOO_MANY_REQUESTS)
            },
            CoreError::Busy { retry_after } => JrniError {
                retry_after: Some(retry_after.as_secs().max(1)),
                ..JrniError::status(StatusCode::SERVICE_UNAVAILABLE)
            },
            CoreError::Unavailable => JrniError::status(StatusCode::SERVICE_UNAVAILABLE),
            CoreError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                JrniError::status(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

impl IntoResponse for JrniError {
    fn into_response(self) -> Response {
        let reason = self.status.canonical_reason().unwrap_or("Error");
        let body = ErrorBody {
            error: format!("{} {reason}", self.status.as_u16()),
            message: self.message,
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, secs.into());
        }
        resp
    }
}
