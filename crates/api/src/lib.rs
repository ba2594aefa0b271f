//! The native HTTP API of Portcullis: OAuth 2.0 (RFC 6749 token endpoint, RFC 7662
//! introspection, RFC 7009 revocation), JWKS and discovery, userinfo and logout, health.
//!
//! Handlers translate HTTP to calls on [`portcullis_core::Core`] and core errors to the API's
//! error shape ([`error::ApiError`]); no business rule lives here.
//!
//! May depend on: portcullis-core, axum, utoipa. Must not depend on a store.

mod admin;
mod authorize;
mod devices;
pub mod error;
mod extract;
mod health;
mod oauth;
mod openapi;
mod password;
mod session;
mod wellknown;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use portcullis_core::Core;
use std::sync::Arc;

pub use openapi::openapi_json;

/// Settings of the HTTP layer.
#[derive(Clone, Debug)]
pub struct ApiSettings {
    /// Largest request body accepted; larger ones get 413.
    pub body_limit: usize,
    pub forward_auth: ForwardAuthSettings,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            body_limit: 64 * 1024,
            forward_auth: ForwardAuthSettings::default(),
        }
    }
}

/// The shared state of every handler.
pub type AppState = Arc<Core>;

pub use authorize::{ForwardAuthSettings, OriginalHeaders};

/// The native API's routes, with the body limit applied and `/openapi.json` served.
pub fn router(core: Arc<Core>, settings: &ApiSettings) -> Router {
    let (routes, doc) = openapi::routes().split_for_parts();
    let doc: &'static str = openapi::render(doc).leak(); // built once per process
    routes
        .route(
            "/openapi.json",
            axum::routing::get(move || async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    doc,
                )
            }),
        )
        .fallback(error::not_found)
        // One layer (a tuple), not two: each `Router::layer` call wraps every route again.
        .layer((
            DefaultBodyLimit::max(settings.body_limit),
            axum::Extension(Arc::new(settings.forward_auth.clone())),
        ))
        .with_state(core)
}
