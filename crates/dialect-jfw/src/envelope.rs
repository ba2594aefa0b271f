//! JFW's envelope, on every answer of the dialect, errors included:
//! `{success, statusCode, message, data, errors}`, each error item carrying the request's
//! correlation id (also in the `X-Correlation-Id` header and in the server's log line).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::CoreError;
use serde::Serialize;
use utoipa::ToSchema;

tokio::task_local! {
    /// The correlation id of the request being served (set by the dialect's middleware).
    pub(crate) static CORRELATION_ID: String;
}

fn correlation_id() -> String {
    CORRELATION_ID.try_with(Clone::clone).unwrap_or_default()
}

/// The envelope around every answer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<T> {
    success: bool,
    status_code: u16,
    message: String,
    data: Option<T>,
    errors: Vec<ErrorItem>,
}

/// The envelope of a failed request: `success` false, `data` null, and the errors.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEnvelope {
    #[schema(example = false)]
    success: bool,
    #[schema(example = 401)]
    status_code: u16,
    #[schema(example = "The username or password incorrect.")]
    message: String,
    #[schema(value_type = Option<Object>)]
    data: Option<()>,
    errors: Vec<ErrorItem>,
}

/// One thing that went wrong.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorItem {
    /// Stable machine code, e.g. `invalid_credentials`.
    code: String,
    message: String,
    /// The field concerned, or more about the error.
    details: String,
    correlation_id: String,
}

/// A successful answer: `data` in the envelope, with its status.
pub struct Answer<T>(pub StatusCode, pub T);

pub const SUCCESS: &str = "The request was successful.";

impl<T: Serialize> IntoResponse for Answer<T> {
    fn into_response(self) -> Response {
        let body = Envelope {
            success: true,
            status_code: self.0.as_u16(),
            message: SUCCESS.to_owned(),
            data: Some(self.1),
            errors: Vec::new(),
        };
        (self.0, axum::Json(body)).into_response()
    }
}

/// A failed answer: status, message, and the error items.
#[derive(Debug)]
pub struct JfwError {
    status: StatusCode,
    message: String,
    items: Vec<(String, String, String)>,
    retry_after: Option<u64>,
}

pub const BAD_CREDENTIALS: &str = "The username or password incorrect.";
pub const RATE_LIMITED: &str = "API call exceeded rate limit due to too many requests.";
pub const MISSING_AUTH_KEY: &str = "The user is not authorized to access the requested resource. The request is missing the required Auth-Key header.";
pub const UNAUTHORIZED: &str = "The user is not authorized to access the requested resource.";

impl JfwError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            status,
            items: vec![(code.to_owned(), message.clone(), String::new())],
            message,
            retry_after: None,
        }
    }
    /// A 400 about one field.
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            status: StatusCode::BAD_REQUEST,
            items: vec![(code.to_owned(), message.clone(), field.to_owned())],
            message: "The request is invalid.".to_owned(),
            retry_after: None,
        }
    }
    pub fn unauthorized(code: &str, message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }
    /// A refusal by the HTTP framework before any handler ran.
    pub fn framework(status: StatusCode) -> Self {
        let (code, message) = match status {
            StatusCode::METHOD_NOT_ALLOWED => (
                "method_not_allowed",
                "The method is not allowed for the requested resource.",
            ),
            StatusCode::NOT_FOUND => ("not_found", "The requested resource was not found."),
            StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "The request body is too large."),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "The request body must be JSON (Content-Type: application/json).",
            ),
            _ => ("bad_request", "The request is invalid."),
        };
        JfwError::new(status, code, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("The {what} was not found."),
        )
    }
}

/// JFW's name of a core field.
fn jfw_field(core: &str) -> String {
    match core {
        "email" => "emailAddress",
        "phone" => "phoneNumber",
        "kind" => "type",
        "os" => "osDevice",
        "app_version" => "appVersionNumber",
        "push_token" => "token",
        other => other,
    }
    .to_owned()
}

impl From<CoreError> for JfwError {
    fn from(e: CoreError) -> Self {
        let code = e.code();
        match e {
            CoreError::InvalidRequest {
                message, fields, ..
            } => {
                if fields.is_empty() {
                    return JfwError::new(StatusCode::BAD_REQUEST, code, message);
                }
                JfwError {
                    status: StatusCode::BAD_REQUEST,
                    message: "The request is invalid.".to_owned(),
                    items: fields
                        .into_iter()
                        .map(|f| (f.code.to_owned(), f.message, jfw_field(&f.field)))
                        .collect(),
                    retry_after: None,
                }
            }
            CoreError::WeakPassword { field, violations } => JfwError {
                status: StatusCode::BAD_REQUEST,
                message: "The password does not meet the brand's password policy.".to_owned(),
                items: violations
                    .into_iter()
                    .map(|v| {
                        (
                            v.code.to_owned(),
                            format!("password {}", v.message),
                            field.clone(),
                        )
                    })
                    .collect(),
                retry_after: None,
            },
            CoreError::InvalidCredentials => JfwError::unauthorized(code, BAD_CREDENTIALS),
            CoreError::AccountInactive(_) => {
                JfwError::unauthorized(code, "The user account cannot sign in.")
            }
            CoreError::PasswordExpired => {
                JfwError::unauthorized(code, "The password has expired. Reset it to sign in again.")
            }
            CoreError::InvalidClient | CoreError::InvalidGrant { .. } => {
                JfwError::unauthorized(code, "The refresh auth key is invalid or has expired.")
            }
            CoreError::InvalidToken(_) => JfwError::unauthorized(code, UNAUTHORIZED),
            CoreError::UnauthorizedClient(m) | CoreError::Forbidden(m) => {
                JfwError::new(StatusCode::FORBIDDEN, code, m)
            }
            CoreError::NotFound(what) => JfwError::not_found(what),
            CoreError::Conflict(m) => JfwError::new(StatusCode::CONFLICT, code, m),
            CoreError::RateLimited { retry_after } => JfwError {
                retry_after: Some(retry_after.as_secs().max(1)),
                ..JfwError::new(StatusCode::TOO_MANY_REQUESTS, code, RATE_LIMITED)
            },
            CoreError::Busy { retry_after } => JfwError {
                retry_after: Some(retry_after.as_secs().max(1)),
                ..JfwError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    code,
                    "The server is busy. Retry later.",
                )
            },
            CoreError::Unavailable => JfwError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                code,
                "The service is unavailable. Retry later.",
            ),
            CoreError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                JfwError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    code,
                    "An internal error occurred.",
                )
            }
        }
    }
}

impl IntoResponse for JfwError {
    fn into_response(self) -> Response {
        let cid = correlation_id();
        let body = ErrorEnvelope {
            success: false,
            status_code: self.status.as_u16(),
            message: self.message,
            data: None,
            errors: self
                .items
                .into_iter()
                .map(|(code, message, details)| ErrorItem {
                    code,
                    message,
                    details,
                    correlation_id: cid.clone(),
                })
                .collect(),
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, secs.into());
        }
        resp
    }
}
