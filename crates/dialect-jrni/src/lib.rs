//! The JRNI dialect: JRNI's v5 login routes, `App-Id` and `Auth-Token` headers, permission
//! types (Public, Member, Contact, Admin) and error bodies, served by the Portcullis core
//! (see docs/dialects/jrni.md). Tokens are opaque with a sliding lifetime.
//!
//! May depend on: portcullis-core, axum, utoipa.

mod auth;
mod basket;
mod error;
mod people;
mod session;

use axum::Router;
use portcullis_core::Core;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portcullis: JRNI v5 login API",
        description = "JRNI's admin and member logins, logout and the administrator and member resources, served by Portcullis.",
        license(name = "Apache-2.0")
    ),
    tags((name = "jrni", description = "JRNI v5 authentication"))
)]
struct JrniDoc;

fn routes() -> OpenApiRouter<Arc<Core>> {
    OpenApiRouter::with_openapi(JrniDoc::openapi())
        .routes(routes!(session::login_admin))
        .routes(routes!(session::login_admin_company))
        .routes(routes!(session::login_member))
        .routes(routes!(session::login_company_member))
        .routes(routes!(session::login_any, session::logout))
        .routes(routes!(session::email_password_reset))
        .routes(routes!(people::administrator))
        .routes(routes!(people::member))
        .routes(routes!(basket::add_item))
        .routes(routes!(basket::checkout))
        .routes(routes!(basket::create_basket))
        .routes(routes!(basket::add_service_item))
        .routes(routes!(basket::checkout_basket))
        .routes(routes!(basket::purchase))
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
