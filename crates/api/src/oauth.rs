//! OAuth 2.0 endpoints: token (RFC 6749), introspection (RFC 7662), revocation (RFC 7009).

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Authorization, Ctx, Form, basic_credentials};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::Core;
use portcullis_core::app::ClientApp;
use portcullis_core::service::Introspection;
use portcullis_core::service::PasswordLogin;
use portcullis_core::token::TokenPair;
use portcullis_core::user::UserKind;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::Arc;
use utoipa::ToSchema;
use zeroize::Zeroizing;

/// Longest value accepted for any single form parameter.
const MAX_PARAM: usize = 4096;

#[derive(Deserialize, ToSchema, Default)]
pub struct TokenRequest {
    /// `password`, `refresh_token` or `client_credentials`.
    grant_type: Option<String>,
    /// E-mail or username (password grant).
    username: Option<String>,
    #[schema(value_type = Option<String>, format = Password)]
    password: Option<Zeroizing<String>>,
    refresh_token: Option<String>,
    /// Client id, when not sent with HTTP Basic.
    client_id: Option<String>,
    /// The app's API key, when not sent with HTTP Basic.
    #[schema(value_type = Option<String>, format = Password)]
    client_secret: Option<Zeroizing<String>>,
    /// Accepted and ignored: rights come from the user's profiles.
    #[allow(dead_code)]
    // listed so the document shows it; clients that send it are not refused
    scope: Option<String>,
    /// Extension: the kind of user logging in (`customer`, `operator`, `supplier`, `guest`);
    /// defaults to the app's default kind.
    kind: Option<String>,
    /// Extension: store code; defaults to the user's store, then the tenant's default store.
    store: Option<String>,
    /// Extension: store view within the store.
    store_view: Option<String>,
}

/// RFC 6749 §5.1 successful token response.
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    access_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    /// Seconds until the refresh token expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_expires_in: Option<i64>,
}

fn token_response(core: &Core, pair: TokenPair) -> Response {
    let now = core.now();
    let body = TokenResponse {
        access_token: pair.access_token,
        token_type: "Bearer",
        expires_in: pair.access_expires_at.secs() - now.secs(),
        refresh_token: pair.refresh_token,
        refresh_expires_in: pair.refresh_expires_at.map(|t| t.secs() - now.secs()),
    };
    let mut resp = Json(body).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

pub(crate) fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, ApiError> {
    match value.as_deref() {
        None | Some("") => Err(ApiError::missing(name)),
        Some(v) if v.len() > MAX_PARAM => Err(ApiError::field(
            name,
            "parameter_too_long",
            format!("{name} is too long"),
        )),
        Some(v) => Ok(v),
    }
}

/// Authenticates the calling app by HTTP Basic or by `client_id` + `client_secret` in the body;
/// using both methods at once is refused (RFC 6749 §2.3).
pub(crate) fn authenticate(
    core: &Core,
    authorization: &Authorization,
    client_id: &Option<String>,
    client_secret: &Option<Zeroizing<String>>,
) -> Result<Arc<ClientApp>, ApiError> {
    if let Some((id, secret)) = basic_credentials(authorization.0.as_ref())? {
        if client_secret.is_some() || client_id.as_deref().is_some_and(|c| c != id) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "multiple_client_auth",
                "authenticate the client with HTTP Basic or with body parameters, not both",
            ));
        }
        return Ok(core.authenticate_client(&id, &secret)?);
    }
    match (client_id.as_deref(), client_secret.as_deref()) {
        (Some(id), Some(secret))
            if !id.is_empty() && id.len() <= MAX_PARAM && secret.len() <= MAX_PARAM =>
        {
            Ok(core.authenticate_client(id, secret)?)
        }
        _ => Err(portcullis_core::CoreError::InvalidClient.into()),
    }
}

/// Exchange credentials for tokens.
#[utoipa::path(
    post,
    path = "/oauth2/token",
    tag = "oauth2",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens issued", body = TokenResponse),
        (status = 400, description = "invalid_request, invalid_grant, unauthorized_client or unsupported_grant_type", body = ErrorBody),
        (status = 401, description = "invalid_client", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 503, description = "Busy: retry after the Retry-After delay", body = ErrorBody),
    ),
    security((), ("client_basic" = []))
)]
pub async fn token(
    State(core): State<AppState>,
    authorization: Authorization,
    Ctx(ctx): Ctx,
    Form(req): Form<TokenRequest>,
) -> Result<Response, ApiError> {
    let grant = required(&req.grant_type, "grant_type")?;
    let app = authenticate(&core, &authorization, &req.client_id, &req.client_secret)?;
    let pair = match grant {
        "password" => {
            let login = required(&req.username, "username")?.to_owned();
            let password = match req.password {
                Some(p) if !p.is_empty() && p.len() <= MAX_PARAM => p,
                Some(p) if p.len() > MAX_PARAM => {
                    return Err(ApiError::field(
                        "password",
                        "parameter_too_long",
                        "password is too long",
                    ));
                }
                _ => return Err(ApiError::missing("password")),
            };
            let kind = match req.kind.as_deref() {
                None | Some("") => None,
                Some(k) => Some(UserKind::parse(k).ok_or_else(|| {
                    ApiError::field(
                        "kind",
                        "unknown_kind",
                        "kind must be customer, operator, supplier or guest",
                    )
                })?),
            };
            let login = PasswordLogin {
                login,
                password,
                kind,
                store: req.store,
                store_view: req.store_view,
                ctx,
            };
            core.login_password(&app, login).await?
        }
        "refresh_token" => {
            let presented = required(&req.refresh_token, "refresh_token")?;
            core.refresh(&app, presented, &ctx).await?
        }
        "client_credentials" => core.login_client(&app, &ctx).await?,
        other => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "unsupported_grant_type",
                format!(
                    "grant_type {other:?} is not supported; use password, refresh_token or client_credentials"
                ),
            ));
        }
    };
    Ok(token_response(&core, pair))
}

#[derive(Deserialize, ToSchema)]
pub struct TokenOnlyRequest {
    /// The access or refresh token.
    token: Option<String>,
    /// `access_token` or `refresh_token`; a hint only.
    token_type_hint: Option<String>,
    client_id: Option<String>,
    #[schema(value_type = Option<String>, format = Password)]
    client_secret: Option<Zeroizing<String>>,
}

/// RFC 7662 answer. Only `active` is present for inactive tokens.
// Borrows from what the core found: validation is the hottest path, and copying a dozen
// strings per answer showed in its profile.
#[derive(Serialize, ToSchema, Default)]
pub struct IntrospectionResponse<'a> {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<Cow<'a, str>>,
    /// Session id.
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<Cow<'a, str>>,
    /// Tenant slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    store: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    store_view: Option<Cow<'a, str>>,
    /// User kind, or `service` for client_credentials tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    profiles: Option<Cow<'a, [String]>>,
}

impl<'a> From<&'a Introspection> for IntrospectionResponse<'a> {
    fn from(found: &'a Introspection) -> Self {
        let b = |s: &'a String| Some(Cow::Borrowed(s.as_str()));
        match found {
            Introspection::Access(c) => IntrospectionResponse {
                active: true,
                token_type: Some("Bearer"),
                client_id: b(&c.client_id),
                sub: b(&c.sub),
                aud: b(&c.aud),
                iss: b(&c.iss),
                exp: Some(c.exp),
                iat: Some(c.iat),
                jti: b(&c.jti),
                sid: b(&c.sid),
                tenant: b(&c.tenant),
                store: c.store.as_ref().and_then(b),
                store_view: c.store_view.as_ref().and_then(b),
                kind: b(&c.kind),
                profiles: Some(Cow::Borrowed(&c.profiles)),
            },
            Introspection::Refresh {
                record,
                session,
                client_id,
                tenant,
            } => IntrospectionResponse {
                active: true,
                token_type: Some("refresh_token"),
                client_id: b(client_id),
                sub: session.user_id.map(|u| Cow::Owned(u.to_string())),
                exp: Some(record.expires_at.secs()),
                iat: Some(record.issued_at.secs()),
                sid: Some(Cow::Owned(session.id.to_string())),
                tenant: b(tenant),
                store_view: session.store_view.as_ref().and_then(b),
                kind: session.kind.map(|k| Cow::Borrowed(k.as_str())),
                ..Default::default()
            },
            Introspection::Opaque {
                identity,
                expires_at,
            } => IntrospectionResponse {
                active: true,
                token_type: Some("access_token"),
                client_id: b(&identity.client_id),
                sub: b(&identity.subject),
                exp: Some(expires_at.secs()),
                sid: Some(Cow::Owned(identity.session.to_string())),
                tenant: b(&identity.tenant),
                kind: b(&identity.kind),
                profiles: Some(Cow::Borrowed(&identity.profiles)),
                ..Default::default()
            },
        }
    }
}

/// Is this token active? For resource servers and gateways (RFC 7662).
#[utoipa::path(
    post,
    path = "/oauth2/introspect",
    tag = "oauth2",
    request_body(content = TokenOnlyRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "`active: false` for expired, revoked, malformed or other tenants' tokens", body = IntrospectionResponse),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "invalid_client", body = ErrorBody),
    ),
    security((), ("client_basic" = []))
)]
pub async fn introspect(
    State(core): State<AppState>,
    authorization: Authorization,
    Form(req): Form<TokenOnlyRequest>,
) -> Result<Response, ApiError> {
    let app = authenticate(&core, &authorization, &req.client_id, &req.client_secret)?;
    let token = required(&req.token, "token")?;
    let _hint = req.token_type_hint; // both kinds are recognised by shape
    let found = core.introspect(&app, token).await?;
    let body = found
        .as_ref()
        .map(IntrospectionResponse::from)
        .unwrap_or_default();
    let mut resp = Json(body).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// Revoke a token and the session behind it (RFC 7009). Unknown tokens also get 200.
#[utoipa::path(
    post,
    path = "/oauth2/revoke",
    tag = "oauth2",
    request_body(content = TokenOnlyRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke"),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "invalid_client", body = ErrorBody),
    ),
    security((), ("client_basic" = []))
)]
pub async fn revoke(
    State(core): State<AppState>,
    authorization: Authorization,
    Ctx(ctx): Ctx,
    Form(req): Form<TokenOnlyRequest>,
) -> Result<StatusCode, ApiError> {
    let app = authenticate(&core, &authorization, &req.client_id, &req.client_secret)?;
    let token = required(&req.token, "token")?;
    core.revoke_token(&app, token, &ctx).await?;
    Ok(StatusCode::OK)
}
