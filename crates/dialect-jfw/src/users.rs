//! Authentication (`/users/auth`), refresh, registration and logout. A successful
//! authenticate or refresh with `X-Device-*` headers records the device and binds it to the
//! user and the session.

use crate::envelope::{Answer, Envelope, ErrorEnvelope, JfwError};
use crate::request::{Authed, Brand, DeviceHeaders, Json};
use crate::{JfwState, ROLE};
use axum::extract::State;
use axum::http::StatusCode;
use portcullis_core::service::{NewUser, PasswordLogin, TokenOptions};
use portcullis_core::token::TokenPair;
use portcullis_core::user::{User, UserKind};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;
use zeroize::Zeroizing;

type S = State<Arc<JfwState>>;

/// JFW's UserAuthentication: the username or the e-mail address, and the password.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthRequest {
    /// Username or e-mail address.
    #[schema(example = "john.doe")]
    username: Option<String>,
    /// E-mail address (used when `username` is absent).
    email_address: Option<String>,
    #[schema(value_type = String, format = Password)]
    password: Option<Zeroizing<String>>,
}

/// The signed-in user and their keys.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthData {
    id: String,
    username: Option<String>,
    email_address: Option<String>,
    phone_number: Option<String>,
    /// Opaque key for the `Auth-Key` header.
    auth_key: String,
    /// Opaque key for `/users/auth/refresh-auth-key`; a new one at every refresh.
    refresh_auth_key: Option<String>,
    /// When `authKey` ends (ISO-8601, UTC).
    #[schema(example = "2025-10-19T04:20:20.628Z")]
    expires_in: String,
}

fn auth_data(user: &User, pair: TokenPair) -> AuthData {
    AuthData {
        id: user.id.to_string(),
        username: user.username.clone(),
        email_address: user.email.clone(),
        phone_number: user.phone.clone(),
        auth_key: pair.access_token,
        refresh_auth_key: pair.refresh_token,
        expires_in: pair.access_expires_at.to_rfc3339(),
    }
}

fn options(state: &JfwState) -> TokenOptions<'static> {
    TokenOptions {
        access_ttl: Some(state.settings.auth_key_ttl),
        refresh_ttl: Some(state.settings.refresh_ttl),
        opaque_access: Some(ROLE),
        ..Default::default()
    }
}

/// The answer to a sign-in or refresh: the user and their keys. The device of the headers
/// is recorded and bound to the user and session; the keys are already issued, so a device
/// the headers describe badly, or one in use by another user, is logged and left alone.
async fn signed_in(
    state: &JfwState,
    brand: &Brand,
    device: DeviceHeaders,
    pair: TokenPair,
) -> Result<Answer<AuthData>, JfwError> {
    let user_id = pair.user_id.ok_or_else(|| JfwError::not_found("user"))?;
    let user = state.core.user(user_id).await?;
    if let Some(report) = device.0
        && let Err(e) = state
            .core
            .record_device(
                brand.tenant.id,
                report,
                Some(user_id),
                Some(pair.session_id),
            )
            .await
    {
        tracing::warn!(error = %e, "device headers not recorded");
    }
    Ok(Answer(StatusCode::OK, auth_data(&user, pair)))
}

/// Authenticate with a username (or e-mail address) and password.
#[utoipa::path(post, path = "/api/v1/users/auth", tag = "jfw",
    request_body = AuthRequest,
    params(
        ("Brand-URL" = String, Header, description = "The brand (tenant)"),
        ("X-Device-Code" = Option<String>, Header, description = "Records the device (with X-Device-Token, X-Device-Name, X-App-Version-Number, X-Os-Device)"),
    ),
    responses(
        (status = 200, description = "Signed in", body = Envelope<AuthData>),
        (status = 400, description = "Missing field or Brand-URL", body = ErrorEnvelope),
        (status = 401, description = "The username or password incorrect.", body = ErrorEnvelope),
        (status = 404, description = "Unknown brand", body = ErrorEnvelope),
        (status = 429, description = "API call exceeded rate limit due to too many requests.", body = ErrorEnvelope),
    ))]
pub async fn authenticate(
    State(state): S,
    brand: Brand,
    device: DeviceHeaders,
    Json(body): Json<AuthRequest>,
) -> Result<Answer<AuthData>, JfwError> {
    let login = body
        .username
        .filter(|s| !s.trim().is_empty())
        .or(body.email_address.filter(|s| !s.trim().is_empty()))
        .ok_or_else(|| {
            JfwError::field("username", "username_required", "The username is required.")
        })?;
    let password = body.password.filter(|p| !p.is_empty()).ok_or_else(|| {
        JfwError::field("password", "password_required", "The password is required.")
    })?;
    let req = PasswordLogin {
        login,
        password,
        kind: Some(UserKind::Customer),
        store: None,
        store_view: None,
        ctx: brand.ctx.clone(),
    };
    let pair = state
        .core
        .login_password_with(&brand.app, req, options(&state))
        .await?;
    signed_in(&state, &brand, device, pair).await
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    #[schema(value_type = String)]
    refresh_auth_key: Option<Zeroizing<String>>,
}

/// Exchange a refresh auth key for new keys (the old refresh key is spent).
#[utoipa::path(post, path = "/api/v1/users/auth/refresh-auth-key", tag = "jfw",
    request_body = RefreshRequest,
    params(("Brand-URL" = String, Header, description = "The brand (tenant)")),
    responses(
        (status = 200, description = "New keys", body = Envelope<AuthData>),
        (status = 404, description = "Unknown brand", body = ErrorEnvelope),
        (status = 400, description = "Missing refreshAuthKey", body = ErrorEnvelope),
        (status = 401, description = "Unknown, expired, revoked or reused refresh key", body = ErrorEnvelope),
    ))]
pub async fn refresh(
    State(state): S,
    brand: Brand,
    device: DeviceHeaders,
    Json(body): Json<RefreshRequest>,
) -> Result<Answer<AuthData>, JfwError> {
    let presented = body
        .refresh_auth_key
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            JfwError::field(
                "refreshAuthKey",
                "refresh_auth_key_required",
                "The refreshAuthKey is required.",
            )
        })?;
    let pair = state
        .core
        .refresh_with(&brand.app, &presented, &brand.ctx, options(&state))
        .await?;
    signed_in(&state, &brand, device, pair).await
}

/// JFW's registration form. Names are accepted but not kept (Portcullis holds identities,
/// not profiles).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterRequest {
    username: Option<String>,
    phone_number: Option<String>,
    #[schema(value_type = String, format = Password)]
    password: Option<Zeroizing<String>>,
    email_address: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

/// Register a user (a customer) of the brand.
#[utoipa::path(post, path = "/api/v1/users/register", tag = "jfw",
    request_body = RegisterRequest,
    params(("Brand-URL" = String, Header, description = "The brand (tenant)")),
    responses(
        (status = 201, description = "Registered; data is the new user's id", body = Envelope<String>),
        (status = 404, description = "Unknown brand", body = ErrorEnvelope),
        (status = 400, description = "Missing or invalid field, or a password the brand's policy refuses", body = ErrorEnvelope),
        (status = 409, description = "The username or e-mail address is taken", body = ErrorEnvelope),
        (status = 429, description = "Too many requests", body = ErrorEnvelope),
    ))]
pub async fn register(
    State(state): S,
    brand: Brand,
    Json(body): Json<RegisterRequest>,
) -> Result<Answer<String>, JfwError> {
    let nonempty = |s: Option<String>| s.filter(|v| !v.trim().is_empty());
    let username = nonempty(body.username);
    let email = nonempty(body.email_address);
    if username.is_none() && email.is_none() {
        return Err(JfwError::field(
            "username",
            "username_required",
            "The username or the email address is required.",
        ));
    }
    let password = body.password.filter(|p| !p.is_empty()).ok_or_else(|| {
        JfwError::field("password", "password_required", "The password is required.")
    })?;
    let _ = (body.first_name, body.last_name);
    state
        .core
        .count_request(&brand.tenant, "jfw-register", &brand.ctx)
        .await?;
    let new = NewUser {
        kind: UserKind::Customer,
        email,
        username,
        phone: nonempty(body.phone_number),
        password: Some(password),
        store: None,
        profiles: Vec::new(),
    };
    let user = state
        .core
        .add_user(&brand.tenant, new)
        .await
        .map_err(|e| match e {
            portcullis_core::CoreError::Conflict(_) => JfwError::new(
                StatusCode::CONFLICT,
                "user_exists",
                "A user with this username or email address already exists.",
            ),
            other => other.into(),
        })?;
    Ok(Answer(StatusCode::CREATED, user.id.to_string()))
}

/// End the session of the `Auth-Key`: the key, its refresh key, and the push token of the
/// session's device.
#[utoipa::path(post, path = "/api/v1/users/logout", tag = "jfw",
    params(
        ("Brand-URL" = String, Header, description = "The brand (tenant)"),
        ("Auth-Key" = String, Header, description = "The auth key to end"),
    ),
    responses(
        (status = 200, description = "Signed out; data is true", body = Envelope<bool>),
        (status = 400, description = "Missing Brand-URL, or a malformed body", body = ErrorEnvelope),
        (status = 404, description = "Unknown brand", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid Auth-Key", body = ErrorEnvelope),
    ))]
pub async fn logout(State(state): S, authed: Authed) -> Result<Answer<bool>, JfwError> {
    state
        .core
        .logout_opaque(&authed.grant, &authed.brand.ctx)
        .await?;
    Ok(Answer(StatusCode::OK, true))
}
