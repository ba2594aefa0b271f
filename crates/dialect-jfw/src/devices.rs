//! Devices: create (or update) by code, look up by code, link to a user, and a user's list
//! of devices with sign-out. Push tokens are written, never read back: they address a
//! person's phone, and the service that sends pushes reads them from the store.

use crate::JfwState;
use crate::envelope::{Answer, Envelope, ErrorEnvelope, JfwError};
use crate::request::{Authed, Json, MaybeAuthed};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use portcullis_core::device::{Device, DeviceReport};
use portcullis_core::ids::{DeviceId, UserId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

type S = State<Arc<JfwState>>;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceData {
    id: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    code: String,
    name: Option<String>,
    os_device: Option<String>,
    app_version_number: Option<String>,
    tags: Vec<String>,
    /// The user bound to the device (shown to that user only).
    user_id: Option<String>,
    /// Whether a live session is bound to the device (in a user's own list).
    #[serde(skip_serializing_if = "Option::is_none")]
    signed_in: Option<bool>,
    created_at: String,
    updated_at: String,
}

fn device_data(d: &Device, viewer: Option<UserId>) -> DeviceData {
    DeviceData {
        id: d.id.to_string(),
        kind: d.kind.clone(),
        code: d.code.clone(),
        name: d.name.clone(),
        os_device: d.os.clone(),
        app_version_number: d.app_version.clone(),
        tags: d.tags.clone(),
        user_id: d
            .user_id
            .filter(|u| Some(*u) == viewer)
            .map(|u| u.to_string()),
        signed_in: None,
        created_at: d.created_at.to_rfc3339(),
        updated_at: d.updated_at.to_rfc3339(),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateDevice {
    #[serde(rename = "type")]
    kind: Option<String>,
    code: Option<String>,
    name: Option<String>,
    os_device: Option<String>,
    app_version_number: Option<String>,
    /// Push token (Firebase), optional.
    token: Option<String>,
}

fn required(value: Option<String>, field: &str) -> Result<String, JfwError> {
    value.filter(|v| !v.trim().is_empty()).ok_or_else(|| {
        JfwError::field(field, "field_required", format!("The {field} is required."))
    })
}

/// Create a device, or update the brand's device with this code.
#[utoipa::path(post, path = "/api/v1/devices", tag = "jfw",
    request_body = CreateDevice,
    params(
        ("Brand-URL" = String, Header, description = "The brand (tenant)"),
        ("Auth-Key" = String, Header, description = "A user's auth key"),
    ),
    responses(
        (status = 201, description = "The device", body = Envelope<DeviceData>),
        (status = 404, description = "Unknown brand", body = ErrorEnvelope),
        (status = 400, description = "Missing or invalid field", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid Auth-Key", body = ErrorEnvelope),
        (status = 409, description = "The device is signed in by another user", body = ErrorEnvelope),
        (status = 429, description = "Too many requests", body = ErrorEnvelope),
    ))]
pub async fn create(
    State(state): S,
    authed: Authed,
    Json(body): Json<CreateDevice>,
) -> Result<Answer<DeviceData>, JfwError> {
    let brand = &authed.brand;
    let report = DeviceReport {
        kind: Some(required(body.kind, "type")?),
        code: required(body.code, "code")?,
        name: Some(required(body.name, "name")?),
        os: Some(required(body.os_device, "osDevice")?),
        app_version: Some(required(body.app_version_number, "appVersionNumber")?),
        push_token: body.token.filter(|t| !t.is_empty()),
        tags: None,
    };
    state
        .core
        .count_request(&brand.tenant, "jfw-devices", &brand.ctx)
        .await?;
    let device = state
        .core
        .record_device(brand.tenant.id, report, authed.grant.session.user_id, None)
        .await?;
    let viewer = authed.grant.session.user_id;
    Ok(Answer(StatusCode::CREATED, device_data(&device, viewer)))
}

/// The brand's device with this code.
#[utoipa::path(get, path = "/api/v1/devices/by-code/{code}", tag = "jfw",
    params(
        ("code" = String, Path, description = "The device code"),
        ("Brand-URL" = String, Header, description = "The brand (tenant)"),
        ("Auth-Key" = Option<String>, Header, description = "Optional; the device's user sees userId"),
    ),
    responses(
        (status = 200, description = "The device", body = Envelope<DeviceData>),
        (status = 400, description = "Missing Brand-URL, or a malformed body", body = ErrorEnvelope),
        (status = 401, description = "An invalid Auth-Key (it is optional)", body = ErrorEnvelope),
        (status = 404, description = "No device with this code", body = ErrorEnvelope),
        (status = 429, description = "Too many requests", body = ErrorEnvelope),
    ))]
pub async fn by_code(
    State(state): S,
    Path(code): Path<String>,
    authed: MaybeAuthed,
) -> Result<Answer<DeviceData>, JfwError> {
    let brand = &authed.brand;
    state
        .core
        .count_request(&brand.tenant, "jfw-devices", &brand.ctx)
        .await?;
    let device = state.core.device_by_code(brand.tenant.id, &code).await?;
    let viewer = authed.grant.and_then(|g| g.session.user_id);
    Ok(Answer(StatusCode::OK, device_data(&device, viewer)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkDevice {
    /// Push token (Firebase).
    token: Option<String>,
    /// Accepted for compatibility; the device is bound to the session of the `Auth-Key`.
    session: Option<String>,
    tags: Option<Vec<String>>,
    /// Accepted for compatibility.
    user_device_status: Option<serde_json::Value>,
}

/// The path's user, who must be the caller: any other user is "not found".
fn own_user(authed: &Authed, user_id: &str) -> Result<UserId, JfwError> {
    let me = authed.grant.session.user_id;
    match UserId::parse(user_id) {
        Some(id) if Some(id) == me => Ok(id),
        _ => Err(JfwError::not_found("user")),
    }
}

fn device_id(id: &str) -> Result<DeviceId, JfwError> {
    DeviceId::parse(id).ok_or_else(|| JfwError::not_found("device"))
}

/// Link a device to the signed-in user (and their session), with its push token.
#[utoipa::path(post, path = "/api/v1/users/{userId}/devices/{deviceId}", tag = "jfw",
    request_body = LinkDevice,
    params(
        ("userId" = String, Path, description = "The signed-in user's id"),
        ("deviceId" = String, Path, description = "The device's id"),
        ("Brand-URL" = String, Header, description = "The brand (tenant)"),
        ("Auth-Key" = String, Header, description = "The user's auth key"),
    ),
    responses(
        (status = 201, description = "Linked; data is true", body = Envelope<bool>),
        (status = 400, description = "Missing Brand-URL, or a malformed body", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid Auth-Key", body = ErrorEnvelope),
        (status = 404, description = "Unknown user or device", body = ErrorEnvelope),
        (status = 409, description = "The device is signed in by another user", body = ErrorEnvelope),
    ))]
pub async fn link(
    State(state): S,
    Path((user_id, device)): Path<(String, String)>,
    authed: Authed,
    Json(body): Json<LinkDevice>,
) -> Result<Answer<bool>, JfwError> {
    own_user(&authed, &user_id)?;
    let device = device_id(&device)?;
    let _ = (body.session, body.user_device_status);
    state
        .core
        .link_device(
            &authed.grant.session,
            device,
            body.token.filter(|t| !t.is_empty()),
            body.tags,
        )
        .await?;
    Ok(Answer(StatusCode::CREATED, true))
}

/// The signed-in user's devices, each with whether a live session is bound to it.
#[utoipa::path(get, path = "/api/v1/users/{userId}/devices", tag = "jfw",
    params(
        ("userId" = String, Path, description = "The signed-in user's id"),
        ("Brand-URL" = String, Header, description = "The brand (tenant)"),
        ("Auth-Key" = String, Header, description = "The user's auth key"),
    ),
    responses(
        (status = 200, description = "The devices", body = Envelope<Vec<DeviceData>>),
        (status = 400, description = "Missing Brand-URL, or a malformed body", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid Auth-Key", body = ErrorEnvelope),
        (status = 404, description = "Not the signed-in user", body = ErrorEnvelope),
    ))]
pub async fn list(
    State(state): S,
    Path(user_id): Path<String>,
    authed: Authed,
) -> Result<Answer<Vec<DeviceData>>, JfwError> {
    let user = own_user(&authed, &user_id)?;
    let views = state.core.user_devices(user).await?;
    let data = views
        .iter()
        .map(|v| DeviceData {
            signed_in: Some(v.session.is_some()),
            ..device_data(&v.device, Some(user))
        })
        .collect();
    Ok(Answer(StatusCode::OK, data))
}

/// Sign one of the user's devices out: its session ends and its push token is unbound.
#[utoipa::path(delete, path = "/api/v1/users/{userId}/devices/{deviceId}", tag = "jfw",
    params(
        ("userId" = String, Path, description = "The signed-in user's id"),
        ("deviceId" = String, Path, description = "The device's id"),
        ("Brand-URL" = String, Header, description = "The brand (tenant)"),
        ("Auth-Key" = String, Header, description = "The user's auth key"),
    ),
    responses(
        (status = 200, description = "Signed out; data is true", body = Envelope<bool>),
        (status = 400, description = "Missing Brand-URL, or a malformed body", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid Auth-Key", body = ErrorEnvelope),
        (status = 404, description = "Unknown device, or not the signed-in user", body = ErrorEnvelope),
    ))]
pub async fn sign_out(
    State(state): S,
    Path((user_id, device)): Path<(String, String)>,
    authed: Authed,
) -> Result<Answer<bool>, JfwError> {
    let user = own_user(&authed, &user_id)?;
    let device = device_id(&device)?;
    state
        .core
        .revoke_device_session(user, device, &authed.brand.ctx)
        .await?;
    Ok(Answer(StatusCode::OK, true))
}
