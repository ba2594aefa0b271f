//! What every JFW request carries: `Brand-URL` (the tenant), `Auth-Key` on protected
//! routes, the `X-Device-*` headers, and JSON bodies. Header names are matched without
//! case, with JFW's aliases `BrandUrl` and `AuthKey`.

use crate::JfwState;
use crate::envelope::{JfwError, MISSING_AUTH_KEY, UNAUTHORIZED};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use portcullis_core::app::ClientApp;
use portcullis_core::audit::RequestContext;
use portcullis_core::device::DeviceReport;
use portcullis_core::service::OpaqueGrant;
use portcullis_core::tenant::Tenant;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use std::sync::Arc;

fn header_str<'a>(headers: &'a HeaderMap, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    })
}

/// The brand (tenant) of a request and the app its users log in through.
pub struct Brand {
    pub tenant: Arc<Tenant>,
    pub app: Arc<ClientApp>,
    pub ctx: RequestContext,
}

impl FromRequestParts<Arc<JfwState>> for Brand {
    type Rejection = JfwError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<JfwState>,
    ) -> Result<Self, JfwError> {
        let url = header_str(&parts.headers, &["brand-url", "brandurl"]).ok_or_else(|| {
            JfwError::field(
                "Brand-URL",
                "brand_url_required",
                "The Brand-URL header is required.",
            )
        })?;
        let (tenant, app) = state.core.brand(url, state.settings.client_id.as_deref())?;
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let user_agent = header_str(&parts.headers, &[header::USER_AGENT.as_str()])
            .map(|s| s.chars().take(256).collect());
        Ok(Brand {
            tenant,
            app,
            ctx: RequestContext { ip, user_agent },
        })
    }
}

/// A request with a valid `Auth-Key` of the brand's tenant, else 401.
pub struct Authed {
    pub brand: Brand,
    pub grant: OpaqueGrant,
}

impl FromRequestParts<Arc<JfwState>> for Authed {
    type Rejection = JfwError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<JfwState>,
    ) -> Result<Self, JfwError> {
        let brand = Brand::from_request_parts(parts, state).await?;
        let key = header_str(&parts.headers, &["auth-key", "authkey"])
            .ok_or_else(|| JfwError::unauthorized("auth_key_required", MISSING_AUTH_KEY))?;
        let grant = state.core.validate_opaque(key).await?;
        // Another tenant's key, or a JRNI token: not a key of this brand.
        if grant.session.tenant_id != brand.tenant.id || grant.record.role != crate::ROLE {
            return Err(JfwError::unauthorized("invalid_token", UNAUTHORIZED));
        }
        Ok(Authed { brand, grant })
    }
}

/// An `Auth-Key` if the request has one: present means it must be valid.
pub struct MaybeAuthed {
    pub brand: Brand,
    pub grant: Option<OpaqueGrant>,
}

impl FromRequestParts<Arc<JfwState>> for MaybeAuthed {
    type Rejection = JfwError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<JfwState>,
    ) -> Result<Self, JfwError> {
        if header_str(&parts.headers, &["auth-key", "authkey"]).is_none() {
            let brand = Brand::from_request_parts(parts, state).await?;
            return Ok(MaybeAuthed { brand, grant: None });
        }
        let Authed { brand, grant } = Authed::from_request_parts(parts, state).await?;
        Ok(MaybeAuthed {
            brand,
            grant: Some(grant),
        })
    }
}

/// The device the `X-Device-*` headers describe, if `X-Device-Code` is there. Missing
/// headers are no error.
pub struct DeviceHeaders(pub Option<DeviceReport>);

impl<S: Send + Sync> FromRequestParts<S> for DeviceHeaders {
    type Rejection = JfwError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, JfwError> {
        let h = &parts.headers;
        let Some(code) = header_str(h, &["x-device-code"]) else {
            return Ok(DeviceHeaders(None));
        };
        let get = |name: &str| header_str(h, &[name]).map(str::to_owned);
        Ok(DeviceHeaders(Some(DeviceReport {
            code: code.to_owned(),
            push_token: get("x-device-token"),
            name: get("x-device-name"),
            app_version: get("x-app-version-number"),
            os: get("x-os-device"),
            ..Default::default()
        })))
    }
}

/// A JSON body; malformed JSON is a 400 in the envelope.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = JfwError;

    async fn from_request(req: Request, state: &S) -> Result<Self, JfwError> {
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| {
                if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    JfwError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "body_too_large",
                        "The request body is too large.",
                    )
                } else {
                    JfwError::new(StatusCode::BAD_REQUEST, "bad_request", r.body_text())
                }
            })?;
        serde_json::from_slice(&body).map(Json).map_err(|e| {
            JfwError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("The request body is not valid JSON: {e}"),
            )
        })
    }
}
