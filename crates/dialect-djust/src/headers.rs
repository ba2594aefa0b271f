//! DJUST's headers: `dj-client` (the kind of user), `dj-api-key` (the client app, hence the
//! tenant), `dj-store` and `dj-store-view`, `customer-account-id`, and `Authorization` in
//! both its plain and its quoted (`"Bearer …"`) forms.

use crate::error::DjError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use portcullis_core::Core;
use portcullis_core::app::ClientApp;
use portcullis_core::audit::RequestContext;
use portcullis_core::user::UserKind;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// What every DJUST route receives in its headers, checked: `dj-client` first (400), then
/// `dj-api-key` (401).
pub struct Dj {
    pub kind: UserKind,
    pub app: Arc<ClientApp>,
    pub store: Option<String>,
    pub store_view: Option<String>,
    pub ctx: RequestContext,
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

impl FromRequestParts<Arc<Core>> for Dj {
    type Rejection = DjError;

    async fn from_request_parts(parts: &mut Parts, core: &Arc<Core>) -> Result<Self, DjError> {
        let kind = match header_str(&parts.headers, "dj-client") {
            Some("OPERATOR") => UserKind::Operator,
            Some("ACCOUNT") => UserKind::Customer,
            Some("SUPPLIER") => UserKind::Supplier,
            Some(other) => {
                return Err(DjError::bad_request(
                    "invalid_dj_client",
                    format!("dj-client must be OPERATOR, ACCOUNT or SUPPLIER, not {other:?}"),
                ));
            }
            None => {
                return Err(DjError::bad_request(
                    "missing_dj_client",
                    "the dj-client header is required",
                ));
            }
        };
        let key = header_str(&parts.headers, "dj-api-key").ok_or_else(|| {
            DjError::unauthorized("missing_api_key", "the dj-api-key header is required")
        })?;
        let app = core.app_by_api_key(key)?;
        let ip = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let user_agent = header_str(&parts.headers, header::USER_AGENT.as_str())
            .map(|s| s.chars().take(256).collect());
        Ok(Dj {
            kind,
            app,
            store: header_str(&parts.headers, "dj-store").map(str::to_owned),
            store_view: header_str(&parts.headers, "dj-store-view").map(str::to_owned),
            ctx: RequestContext { ip, user_agent },
        })
    }
}

/// The bearer token, from `Authorization: Bearer x` or the seed's quoted `"Bearer x"`.
pub fn bearer(headers: &HeaderMap) -> Result<String, DjError> {
    let missing =
        || DjError::unauthorized("invalid_token", "a valid Bearer access token is required");
    let raw = header_str(headers, header::AUTHORIZATION.as_str()).ok_or_else(missing)?;
    let unquoted = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw)
        .trim();
    let (scheme, token) = unquoted.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    Ok(token.trim().to_owned())
}

/// A JSON body; malformed JSON or a wrong content type is a 400 in DJUST's shape. An empty
/// body reads as `T::default()` where the route allows it (`Option<Json>` handlers).
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = DjError;

    async fn from_request(req: Request, state: &S) -> Result<Self, DjError> {
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| {
                if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    DjError::new(
                        r.status(),
                        "body_too_large",
                        "the request body is too large",
                    )
                } else {
                    DjError::bad_request("malformed_body", r.body_text())
                }
            })?;
        serde_json::from_slice(&body)
            .map(Json)
            .map_err(|e| DjError::bad_request("malformed_json", format!("malformed JSON: {e}")))
    }
}

/// An optional JSON body: empty means `None`; anything else must be JSON.
pub struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = DjError;

    async fn from_request(req: Request, state: &S) -> Result<Self, DjError> {
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| {
                if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    DjError::new(
                        r.status(),
                        "body_too_large",
                        "the request body is too large",
                    )
                } else {
                    DjError::bad_request("malformed_body", r.body_text())
                }
            })?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        // `null` is no body too.
        serde_json::from_slice::<Option<T>>(&body)
            .map(OptionalJson)
            .map_err(|e| DjError::bad_request("malformed_json", format!("malformed JSON: {e}")))
    }
}

/// A required text field of a body.
pub fn required(value: Option<String>, name: &str) -> Result<String, DjError> {
    value
        .filter(|v| !v.is_empty() && v.len() <= 4096)
        .ok_or_else(|| DjError::bad_request("missing_field", format!("{name} is required")))
}
