//! The signed-in user's devices: which are signed in, and signing one out (which ends its
//! session and unbinds its push token). Devices are recorded by the dialects that report them
//! (JFW's `X-Device-*` headers).

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Bearer, Ctx};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use portcullis_core::CoreError;
use portcullis_core::ids::{DeviceId, UserId};
use serde::Serialize;
use utoipa::ToSchema;

/// A device of the user. Its push token is never shown.
#[derive(Serialize, ToSchema)]
pub struct DeviceInfo {
    id: String,
    code: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    os: Option<String>,
    app_version: Option<String>,
    /// Whether a live session is bound to the device.
    signed_in: bool,
    /// When the device was last reported (RFC 3339).
    updated_at: String,
}

fn user_of(core: &AppState, token: &str) -> Result<UserId, ApiError> {
    let claims = core.validate_access(token)?;
    Ok(UserId::parse(&claims.sub).ok_or(CoreError::InvalidToken("the token has no user"))?)
}

/// The devices of the user behind the access token.
#[utoipa::path(
    get,
    path = "/v1/devices",
    tag = "session",
    responses(
        (status = 200, description = "The user's devices, most recent first", body = Vec<DeviceInfo>),
        (status = 401, description = "Missing, invalid, expired or revoked token, or a service token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_devices(
    State(core): State<AppState>,
    Bearer(token): Bearer,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let user = user_of(&core, &token)?;
    let views = core.user_devices(user).await?;
    let no_store = [(axum::http::header::CACHE_CONTROL, "no-store")];
    Ok((
        no_store,
        Json(
            views
                .into_iter()
                .map(|v| DeviceInfo {
                    id: v.device.id.to_string(),
                    code: v.device.code,
                    kind: v.device.kind,
                    name: v.device.name,
                    os: v.device.os,
                    app_version: v.device.app_version,
                    signed_in: v.session.is_some(),
                    updated_at: v.device.updated_at.to_rfc3339(),
                })
                .collect::<Vec<_>>(),
        ),
    ))
}

/// Sign one of the user's devices out: its session ends and its push token is unbound.
#[utoipa::path(
    delete,
    path = "/v1/devices/{id}",
    tag = "session",
    params(("id" = String, Path, description = "The device's id")),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Missing, invalid, expired or revoked token", body = ErrorBody),
        (status = 404, description = "Not a device of this user", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn sign_out_device(
    State(core): State<AppState>,
    Ctx(ctx): Ctx,
    Bearer(token): Bearer,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = user_of(&core, &token)?;
    let device = DeviceId::parse(&id).ok_or(CoreError::NotFound("device"))?;
    core.revoke_device_session(user, device, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}
