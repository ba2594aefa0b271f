//! The DJUST dialect: DJUST's authentication routes (`/auth/…`), headers, bodies, statuses
//! and error shape, served by the Portcullis core (see docs/dialects/djust.md).
//!
//! May depend on: portcullis-core, axum, utoipa. Nothing here decides who may log in; it
//! translates between DJUST's wire format and the core.

mod error;
mod headers;
mod routes;

use axum::Router;
use portcullis_core::Core;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::DjError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portcullis: DJUST authentication API",
        description = "DJUST's AUTH-100/101/102/103, TOK-200, PWD-101/102 routes, served by Portcullis.",
        license(name = "Apache-2.0")
    ),
    tags((name = "djust", description = "DJUST authentication"))
)]
struct DjustDoc;

fn routes() -> OpenApiRouter<Arc<Core>> {
    OpenApiRouter::with_openapi(DjustDoc::openapi())
        .routes(routes!(routes::token))
        .routes(routes!(routes::is_token_valid))
        .routes(routes!(routes::refresh_token))
        .routes(routes!(routes::revoke_token))
        .routes(routes!(routes::send_reset_password_email))
        .routes(routes!(routes::reset_password))
}

/// The dialect's routes, ready to be mounted (at the root by default).
pub fn router(core: Arc<Core>) -> Router {
    routes().split_for_parts().0.with_state(core)
}

/// The dialect's own OpenAPI document.
pub fn openapi_json() -> String {
    let (_, mut doc) = routes().split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.to_pretty_json().unwrap_or_default()
}
