//! Routes for the holder of an access token: who am I, and log me out.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Bearer, Ctx};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

/// OpenID Connect-style claims about the user.
#[derive(Serialize, ToSchema)]
pub struct UserInfo {
    sub: String,
    /// Tenant slug.
    tenant: String,
    /// User kind: `customer`, `operator`, `supplier` or `guest`.
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    store: Option<String>,
    profiles: Vec<String>,
}

/// The user behind the access token.
#[utoipa::path(
    method(get, post),
    path = "/oauth2/userinfo",
    tag = "session",
    responses(
        (status = 200, description = "The user", body = UserInfo),
        (status = 401, description = "Missing, invalid, expired or revoked token, or a service token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn userinfo(
    State(core): State<AppState>,
    Bearer(token): Bearer,
) -> Result<Json<UserInfo>, ApiError> {
    let claims = core.validate_access(&token)?;
    let (user, profiles) = core.userinfo(&claims).await?;
    Ok(Json(UserInfo {
        sub: user.id.to_string(),
        tenant: claims.tenant.clone(),
        kind: user.kind.as_str().to_owned(),
        email: user.email,
        preferred_username: user.username,
        phone_number: user.phone,
        store: claims.store.clone(),
        profiles,
    }))
}

/// End the session of the access token: its refresh token stops working and its access
/// tokens are refused from now on.
#[utoipa::path(
    post,
    path = "/v1/logout",
    tag = "session",
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "Missing, invalid, expired or revoked token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn logout(
    State(core): State<AppState>,
    Ctx(ctx): Ctx,
    Bearer(token): Bearer,
) -> Result<StatusCode, ApiError> {
    let claims = core.validate_access(&token)?;
    core.logout(&claims, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}
