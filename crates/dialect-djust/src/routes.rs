//! The DJUST routes. Each parses DJUST's request, calls the core, renders DJUST's answer.

use crate::error::{DjError, ErrorDto};
use crate::headers::{Dj, Json, OptionalJson, bearer, required};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use portcullis_core::Core;
use portcullis_core::service::{ForgotPassword, PasswordLogin};
use portcullis_core::token::TokenPair;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use zeroize::Zeroizing;

type S = State<Arc<Core>>;

/// DJUST's `AuthenticationResponseDto`.
#[derive(Serialize, ToSchema)]
pub struct AuthenticationResponseDto {
    token: TokenDto,
    user: UserDto,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenDto {
    access_token: String,
    /// Expiry of the access token, in epoch seconds.
    expire_at: i64,
    refresh_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UserDto {
    id: Option<String>,
}

/// The answer of a login or refresh; tokens must never be cached.
type Authentication = (
    [(axum::http::HeaderName, &'static str); 2],
    axum::Json<AuthenticationResponseDto>,
);

fn authentication(pair: TokenPair) -> Authentication {
    let no_store = [
        (axum::http::header::CACHE_CONTROL, "no-store"),
        (axum::http::header::PRAGMA, "no-cache"),
    ];
    let dto = AuthenticationResponseDto {
        token: TokenDto {
            access_token: pair.access_token,
            expire_at: pair.access_expires_at.secs(),
            refresh_token: pair.refresh_token,
        },
        user: UserDto {
            id: pair.user_id.map(|u| u.to_string()),
        },
    };
    (no_store, axum::Json(dto))
}

#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    username: Option<String>,
    #[schema(value_type = Option<String>, format = Password)]
    password: Option<Zeroizing<String>>,
}

/// AUTH-101 (and AUTH-100 with `dj-client: ACCOUNT`): ask for an access token.
#[utoipa::path(post, path = "/auth/token", tag = "djust", operation_id = "AUTH-101",
    params(
        ("dj-client" = String, Header, description = "OPERATOR, ACCOUNT or SUPPLIER"),
        ("dj-api-key" = String, Header, description = "API key of the client app"),
        ("dj-store" = Option<String>, Header, description = "Store code; default: the tenant's default store"),
        ("dj-store-view" = Option<String>, Header, description = "Store view of the store"),
        ("customer-account-id" = Option<String>, Header, description = "Accepted; buying accounts are not modelled"),
    ),
    request_body = TokenRequest,
    responses(
        (status = 200, body = AuthenticationResponseDto),
        (status = 400, description = "Bad dj-client, unknown store, malformed JSON", body = ErrorDto),
        (status = 401, description = "Bad credentials or dj-api-key", body = ErrorDto),
    ))]
pub async fn token(
    State(core): S,
    dj: Dj,
    Json(req): Json<TokenRequest>,
) -> Result<Authentication, DjError> {
    let login = required(req.username, "username")?;
    let password = req
        .password
        .filter(|p| !p.is_empty() && p.len() <= 4096)
        .ok_or_else(|| DjError::bad_request("missing_field", "password is required"))?;
    let pair = core
        .login_password(
            &dj.app,
            PasswordLogin {
                login,
                password,
                kind: Some(dj.kind),
                store: dj.store,
                store_view: dj.store_view,
                ctx: dj.ctx,
            },
        )
        .await?;
    Ok(authentication(pair))
}

#[derive(Deserialize, IntoParams)]
pub struct TokenQuery {
    /// The access token to check.
    token: Option<String>,
}

/// TOK-200: is the token valid? `false` for unknown, expired or revoked tokens, never 401.
#[utoipa::path(get, path = "/auth/is-token-valid", tag = "djust", operation_id = "TOK-200",
    params(TokenQuery,
        ("dj-client" = String, Header, description = "OPERATOR, ACCOUNT or SUPPLIER"),
        ("dj-api-key" = String, Header, description = "API key of the client app"),
    ),
    responses(
        (status = 200, description = "true or false", body = bool, content_type = "application/json"),
        (status = 400, description = "token missing, malformed query, bad dj-client", body = ErrorDto),
        (status = 401, description = "Bad dj-api-key", body = ErrorDto),
    ))]
pub async fn is_token_valid(
    State(core): S,
    dj: Dj,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<bool>, DjError> {
    // Not axum's `Query`: its rejection is plain text, and its decoder copies the token byte
    // by byte (a fifth of this route's CPU); this one borrows a query that needs no decoding.
    let q: TokenQuery = portcullis_form::from_query(query.as_deref())
        .map_err(|e| DjError::bad_request("malformed_query", format!("malformed query: {e}")))?;
    let token = q
        .token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| DjError::bad_request("missing_token", "the token parameter is required"))?;
    let dir = core.directory();
    let tenant = dir.tenant(dj.app.tenant_id).map(|t| t.slug.as_str());
    let valid = core
        .validate_access(&token)
        .is_ok_and(|c| Some(c.tenant.as_str()) == tenant);
    Ok(axum::Json(valid))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    refresh_token: Option<String>,
}

/// AUTH-102: a new token pair from a refresh token (rotated at every use).
#[utoipa::path(post, path = "/auth/refresh-token", tag = "djust", operation_id = "AUTH-102",
    params(
        ("dj-client" = String, Header, description = "OPERATOR, ACCOUNT or SUPPLIER"),
        ("dj-api-key" = String, Header, description = "API key of the client app"),
    ),
    request_body = RefreshRequest,
    responses(
        (status = 200, body = AuthenticationResponseDto),
        (status = 400, description = "Bad dj-client, malformed JSON", body = ErrorDto),
        (status = 401, description = "Unknown, expired or reused refresh token; bad dj-api-key", body = ErrorDto),
    ))]
pub async fn refresh_token(
    State(core): S,
    dj: Dj,
    Json(req): Json<RefreshRequest>,
) -> Result<Authentication, DjError> {
    let token = required(req.refresh_token, "refreshToken")?;
    Ok(authentication(
        core.refresh(&dj.app, &token, &dj.ctx).await?,
    ))
}

/// AUTH-103: log out. The access token and its refresh token stop working at once.
#[utoipa::path(post, path = "/auth/revoke-token", tag = "djust", operation_id = "AUTH-103",
    params(
        ("dj-client" = String, Header, description = "OPERATOR, ACCOUNT or SUPPLIER"),
        ("dj-api-key" = String, Header, description = "API key of the client app"),
        ("Authorization" = String, Header, description = "Bearer <accessToken>, or \"Bearer <accessToken>\""),
    ),
    request_body(content = Option<RefreshRequest>, description = "Optional: another refresh token to revoke"),
    responses(
        (status = 200, description = "Revoked; empty body"),
        (status = 400, description = "Bad dj-client, malformed JSON", body = ErrorDto),
        (status = 401, description = "No valid Bearer token", body = ErrorDto),
    ))]
pub async fn revoke_token(
    State(core): S,
    dj: Dj,
    headers: HeaderMap,
    OptionalJson(extra): OptionalJson<RefreshRequest>,
) -> Result<StatusCode, DjError> {
    let token = bearer(&headers)?;
    let claims = core.validate_access(&token)?;
    // Only the tenant's own tokens: an app cannot log out another tenant's users.
    let tenant = core
        .directory()
        .tenant(dj.app.tenant_id)
        .map(|t| t.slug.clone())
        .unwrap_or_default();
    if claims.tenant != tenant {
        return Err(DjError::unauthorized(
            "invalid_token",
            "a valid Bearer access token is required",
        ));
    }
    let extra = extra.unwrap_or_default();
    core.logout(&claims, &dj.ctx).await?;
    if let Some(refresh) = extra.refresh_token.filter(|t| !t.is_empty()) {
        core.revoke_token(&dj.app, &refresh, &dj.ctx).await?;
    }
    Ok(StatusCode::OK)
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetEmailRequest {
    email: Option<String>,
    /// The reset page; the token is added to it. Its host must be allowed for the app.
    redirect_url: Option<String>,
}

/// PWD-101: send a reset link. 200 for unknown e-mails too, and no mail goes to them.
#[utoipa::path(post, path = "/auth/send-reset-password-email", tag = "djust", operation_id = "PWD-101",
    params(
        ("dj-client" = String, Header, description = "OPERATOR, ACCOUNT or SUPPLIER"),
        ("dj-api-key" = String, Header, description = "API key of the client app"),
    ),
    request_body = ResetEmailRequest,
    responses(
        (status = 200, description = "Accepted"),
        (status = 400, description = "Malformed JSON, bad e-mail, redirectUrl not allowed", body = ErrorDto),
        (status = 401, description = "Bad dj-api-key", body = ErrorDto),
    ))]
pub async fn send_reset_password_email(
    State(core): S,
    dj: Dj,
    Json(req): Json<ResetEmailRequest>,
) -> Result<StatusCode, DjError> {
    let email = required(req.email, "email")?;
    let redirect_url = required(req.redirect_url, "redirectUrl")?;
    core.forgot_password(
        &dj.app,
        ForgotPassword {
            email,
            redirect_url,
            kind: Some(dj.kind),
            locale: None,
            ctx: dj.ctx,
            refuse_if_pending: false,
            accept_username: false,
        },
    )
    .await?;
    Ok(StatusCode::OK)
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetPasswordRequest {
    #[schema(value_type = Option<String>, format = Password)]
    new_password: Option<Zeroizing<String>>,
    /// The UUID from the e-mailed link.
    reset_password_token: Option<String>,
}

/// PWD-102: set a new password with the e-mailed token.
#[utoipa::path(post, path = "/auth/reset-password", tag = "djust", operation_id = "PWD-102",
    params(
        ("dj-client" = String, Header, description = "OPERATOR, ACCOUNT or SUPPLIER"),
        ("dj-api-key" = String, Header, description = "API key of the client app"),
    ),
    request_body = ResetPasswordRequest,
    responses(
        (status = 200, description = "Password changed"),
        (status = 400, description = "Weak password; unknown, used or expired token; malformed JSON", body = ErrorDto),
        (status = 401, description = "Bad dj-api-key", body = ErrorDto),
    ))]
pub async fn reset_password(
    State(core): S,
    dj: Dj,
    Json(req): Json<ResetPasswordRequest>,
) -> Result<StatusCode, DjError> {
    let token = required(req.reset_password_token, "resetPasswordToken")?;
    let password = req
        .new_password
        .filter(|p| !p.is_empty() && p.len() <= 4096)
        .ok_or_else(|| DjError::bad_request("missing_field", "newPassword is required"))?;
    core.reset_password(&dj.app, &token, password, &dj.ctx)
        .await?;
    Ok(StatusCode::OK)
}
