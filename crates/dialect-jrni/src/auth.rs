//! JRNI's headers: `App-Id` on every request (the client app, hence the tenant), and
//! `Auth-Token` (an opaque token) on protected routes.

use crate::error::JrniError;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use portcullis_core::Core;
use portcullis_core::app::ClientApp;
use portcullis_core::audit::RequestContext;
use portcullis_core::service::OpaqueGrant;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use std::sync::Arc;

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Opaque tokens of other dialects (JFW auth keys) are not JRNI tokens.
fn is_jrni_role(role: &str) -> bool {
    matches!(role, "admin" | "member" | portcullis_core::service::CONTACT)
}

/// A request from a known app: `App-Id` present and known, else 401.
#[derive(Clone)]
pub struct App {
    pub app: Arc<ClientApp>,
    pub ctx: RequestContext,
}

impl FromRequestParts<Arc<Core>> for App {
    type Rejection = JrniError;

    async fn from_request_parts(parts: &mut Parts, core: &Arc<Core>) -> Result<Self, JrniError> {
        let id = header_str(&parts.headers, "app-id").ok_or_else(JrniError::unauthorized)?;
        let app = core.app_by_client_id(id)?;
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let user_agent = header_str(&parts.headers, header::USER_AGENT.as_str())
            .map(|s| s.chars().take(256).collect());
        Ok(App {
            app,
            ctx: RequestContext { ip, user_agent },
        })
    }
}

/// A request with a valid `Auth-Token` of the same tenant as its `App-Id`, else 401.
pub struct Authed {
    pub app: Arc<ClientApp>,
    pub grant: OpaqueGrant,
    pub ctx: RequestContext,
}

impl FromRequestParts<Arc<Core>> for Authed {
    type Rejection = JrniError;

    async fn from_request_parts(parts: &mut Parts, core: &Arc<Core>) -> Result<Self, JrniError> {
        let App { app, ctx } = App::from_request_parts(parts, core).await?;
        let token = header_str(&parts.headers, "auth-token").ok_or_else(JrniError::unauthorized)?;
        let grant = core.validate_opaque(token).await?;
        if grant.session.tenant_id != app.tenant_id || !is_jrni_role(&grant.record.role) {
            return Err(JrniError::unauthorized());
        }
        Ok(Authed { app, grant, ctx })
    }
}

/// A JSON body; malformed JSON is a 400.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = JrniError;

    async fn from_request(req: Request, state: &S) -> Result<Self, JrniError> {
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| {
                if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    JrniError::status(r.status())
                } else {
                    JrniError::bad_request(r.body_text())
                }
            })?;
        serde_json::from_slice(&body)
            .map(Json)
            .map_err(|e| JrniError::bad_request(format!("malformed JSON: {e}")))
    }
}

/// Path parameters; one that does not parse (a company id that is not a number, or too
/// large) names nothing, so it is a 404 in JRNI's shape, not axum's plain-text 400.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = JrniError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, JrniError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|rejection| match rejection {
                axum::extract::rejection::PathRejection::FailedToDeserializePathParams(_) => {
                    JrniError::not_found()
                }
                // Missing parameters are a routing bug, not the client's: say so.
                other => {
                    tracing::error!(error = %other, "path parameters missing");
                    JrniError::status(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
                }
            })
    }
}

/// An `Auth-Token` if the request has one: present means it must be valid (else 401).
pub struct MaybeAuthed {
    pub app: App,
    pub grant: Option<OpaqueGrant>,
}

impl FromRequestParts<Arc<Core>> for MaybeAuthed {
    type Rejection = JrniError;

    async fn from_request_parts(parts: &mut Parts, core: &Arc<Core>) -> Result<Self, JrniError> {
        let app = App::from_request_parts(parts, core).await?;
        let grant = match header_str(&parts.headers, "auth-token") {
            None => None,
            Some(token) => {
                let grant = core.validate_opaque(token).await?;
                if grant.session.tenant_id != app.app.tenant_id || !is_jrni_role(&grant.record.role)
                {
                    return Err(JrniError::unauthorized());
                }
                Some(grant)
            }
        };
        Ok(MaybeAuthed { app, grant })
    }
}
