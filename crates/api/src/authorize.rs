//! Decisions for resource servers: `POST /v1/authorize` answers whether a token may make a
//! request and why; `GET /v1/forward-auth` answers a reverse proxy's subrequest (nginx
//! `auth_request`, Traefik `forwardAuth`, Caddy `forward_auth`) with 200 and the caller's
//! identity in headers, 401 without a valid token, 403 without the right.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Json;
use axum::Extension;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::service::Identity;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// Which headers name the original request. Only the family the proxy sets itself may be
/// read: a client can send the other one, and most proxies pass it on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OriginalHeaders {
    /// `X-Original-Method` and `X-Original-URI` (nginx `auth_request`).
    Original,
    /// `X-Forwarded-Method` and `X-Forwarded-Uri` (Traefik `forwardAuth`, Caddy
    /// `forward_auth`).
    Forwarded,
}

/// Settings of forward-auth.
#[derive(Clone, Debug)]
pub struct ForwardAuthSettings {
    /// The cookie that may carry the access token; empty: none is read.
    pub cookie: String,
    pub headers: OriginalHeaders,
}

impl Default for ForwardAuthSettings {
    fn default() -> Self {
        Self {
            cookie: "portcullis_token".to_owned(),
            headers: OriginalHeaders::Original,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct AuthorizeRequest {
    /// An access credential of any API: JWT access token, JRNI `Auth-Token`, JFW `Auth-Key`.
    token: String,
    /// The HTTP method of the request to decide, e.g. `GET`.
    method: String,
    /// Its path (a query string is ignored), e.g. `/v1/orders/42`.
    path: String,
}

/// The decision and who it is about.
#[derive(Serialize, ToSchema)]
pub struct AuthorizeResponse {
    allowed: bool,
    /// Whether the token is valid at all.
    active: bool,
    /// Why, in words.
    reason: String,
    /// The highest right the caller's profiles give on this route: `none`, `read`, `read-write`.
    #[serde(skip_serializing_if = "Option::is_none")]
    right: Option<&'static str>,
    /// The profile and rule that decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    profiles: Option<Vec<String>>,
}

fn checked_method(m: &str) -> Result<String, ApiError> {
    let m = m.trim().to_ascii_uppercase();
    portcullis_core::profile::validate_method(&m)
        .map_err(|e| ApiError::field("method", "invalid_method", e))?;
    Ok(m)
}

/// Decide whether the holder of a token may make a request.
#[utoipa::path(
    post,
    path = "/v1/authorize",
    tag = "authorization",
    request_body = AuthorizeRequest,
    responses(
        (status = 200, description = "The decision (an invalid token is `active: false`, not allowed)", body = AuthorizeResponse),
        (status = 400, description = "Malformed body, method or path", body = ErrorBody),
    )
)]
pub async fn authorize(
    State(core): State<AppState>,
    Json(req): Json<AuthorizeRequest>,
) -> Result<axum::Json<AuthorizeResponse>, ApiError> {
    let method = checked_method(&req.method)?;
    if !req.path.starts_with('/') || req.path.len() > 4096 {
        return Err(ApiError::field(
            "path",
            "invalid_path",
            "the path must be absolute and at most 4096 bytes",
        ));
    }
    let (identity, decision) = match core.authorize(req.token.trim(), &method, &req.path).await {
        Ok(found) => found,
        Err(portcullis_core::CoreError::InvalidToken(why)) => {
            return Ok(axum::Json(AuthorizeResponse {
                allowed: false,
                active: false,
                reason: why.to_owned(),
                right: None,
                profile: None,
                rule: None,
                sub: None,
                tenant: None,
                kind: None,
                profiles: None,
            }));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(axum::Json(AuthorizeResponse {
        allowed: decision.allowed,
        active: true,
        reason: decision.reason,
        right: Some(decision.right.as_str()),
        profile: decision.profile,
        rule: decision.rule,
        sub: Some(identity.subject),
        tenant: Some(identity.tenant),
        kind: Some(identity.kind),
        profiles: Some(identity.profiles),
    }))
}

// Header names as constants: a `&str` name is parsed and validated at every lookup or
// insert, which was ~5 % of a forward-auth's instructions.
const AUTH_TOKEN: HeaderName = HeaderName::from_static("auth-token");
const AUTH_KEY: HeaderName = HeaderName::from_static("auth-key");
const X_ORIGINAL_METHOD: HeaderName = HeaderName::from_static("x-original-method");
const X_ORIGINAL_URI: HeaderName = HeaderName::from_static("x-original-uri");
const X_FORWARDED_METHOD: HeaderName = HeaderName::from_static("x-forwarded-method");
const X_FORWARDED_URI: HeaderName = HeaderName::from_static("x-forwarded-uri");
const X_AUTH_USER: HeaderName = HeaderName::from_static("x-auth-user");
const X_AUTH_TENANT: HeaderName = HeaderName::from_static("x-auth-tenant");
const X_AUTH_KIND: HeaderName = HeaderName::from_static("x-auth-kind");
const X_AUTH_PROFILES: HeaderName = HeaderName::from_static("x-auth-profiles");
const X_AUTH_REASON: HeaderName = HeaderName::from_static("x-auth-reason");

fn header(headers: &HeaderMap, name: HeaderName) -> Option<&str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The token of a proxied request: `Authorization: Bearer`, `Auth-Token` (JRNI), `Auth-Key`
/// (JFW), or the configured cookie.
fn token_of<'a>(headers: &'a HeaderMap, cookie: &str) -> Option<&'a str> {
    if let Some(v) = header(headers, header::AUTHORIZATION) {
        let (scheme, token) = v.split_once(' ').unwrap_or((v, ""));
        if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() {
            return Some(token.trim());
        }
    }
    header(headers, AUTH_TOKEN)
        .or_else(|| header(headers, AUTH_KEY))
        .or_else(|| {
            if cookie.is_empty() {
                return None;
            }
            headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .filter_map(|pair| pair.trim().split_once('='))
                .find(|(name, value)| *name == cookie && !value.trim().is_empty())
                .map(|(_, value)| value.trim())
        })
}

/// The original request, as the proxy reports it in the configured family of headers.
fn original(headers: &HeaderMap, family: OriginalHeaders) -> (Option<&str>, Option<&str>) {
    let (method, uri) = match family {
        OriginalHeaders::Original => (X_ORIGINAL_METHOD, X_ORIGINAL_URI),
        OriginalHeaders::Forwarded => (X_FORWARDED_METHOD, X_FORWARDED_URI),
    };
    (header(headers, method), header(headers, uri))
}

fn identity_headers(resp: &mut Response, id: &Identity) {
    let h = resp.headers_mut();
    let mut put = |name: HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    put(X_AUTH_USER, &id.subject);
    put(X_AUTH_TENANT, &id.tenant);
    put(X_AUTH_KIND, &id.kind);
    put(X_AUTH_PROFILES, &id.profiles.join(","));
}

fn denied(reason: &str) -> Response {
    let mut resp =
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", "forbidden", reason).into_response();
    if let Ok(v) = HeaderValue::from_str(reason) {
        resp.headers_mut().insert(X_AUTH_REASON, v);
    }
    resp
}

/// A reverse proxy's subrequest: may the original request through?
#[utoipa::path(
    get,
    path = "/v1/forward-auth",
    tag = "authorization",
    params(
        ("X-Original-Method" = Option<String>, Header, description = "The original method (nginx), required. With `[http] forward_auth_headers = \"forwarded\"`: X-Forwarded-Method (Traefik, Caddy) instead"),
        ("X-Original-URI" = Option<String>, Header, description = "The original URI (nginx), required. With `[http] forward_auth_headers = \"forwarded\"`: X-Forwarded-Uri (Traefik, Caddy) instead"),
        ("Auth-Token" = Option<String>, Header, description = "A JRNI token; or Auth-Key (JFW), Authorization: Bearer, or the portcullis_token cookie"),
    ),
    responses(
        (status = 200, description = "Allowed; X-Auth-User, X-Auth-Tenant, X-Auth-Kind and X-Auth-Profiles name the caller"),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Valid token without the right, or no original URI; X-Auth-Reason says why", body = ErrorBody),
    ),
    security((), ("bearer" = []))
)]
pub async fn forward_auth(
    State(core): State<AppState>,
    Extension(settings): Extension<Arc<ForwardAuthSettings>>,
    // The request itself rather than a `HeaderMap`, which axum would copy.
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let headers = &parts.headers;
    let Some(token) = token_of(headers, &settings.cookie) else {
        return ApiError::invalid_token("an access token is required").into_response();
    };
    // Who first: an invalid token is 401 whatever the proxy sent.
    let identity = match core.identify(token).await {
        Ok(identity) => identity,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (method, uri) = original(headers, settings.headers);
    // A proxy that does not say what it forwards gets no blanket yes, and no guessed method:
    // without it a read right would let writes through.
    let (Some(method), Some(uri)) = (method, uri) else {
        let missing = match (settings.headers, uri.is_none()) {
            (OriginalHeaders::Original, true) => "the proxy sent no X-Original-URI",
            (OriginalHeaders::Original, false) => "the proxy sent no X-Original-Method",
            (OriginalHeaders::Forwarded, true) => "the proxy sent no X-Forwarded-Uri",
            (OriginalHeaders::Forwarded, false) => "the proxy sent no X-Forwarded-Method",
        };
        return denied(missing);
    };
    let method = match checked_method(method) {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    // Most requests pass: the reason is written out only for a denial.
    let mut resp = if core.allows(&identity, &method, uri) {
        StatusCode::OK.into_response()
    } else {
        denied(&core.decide_for(&identity, &method, uri).reason)
    };
    identity_headers(&mut resp, &identity);
    resp
}
