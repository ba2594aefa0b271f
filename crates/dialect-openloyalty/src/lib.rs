//! The Open Loyalty dialect: Open Loyalty's security routes (`login_check`, token refresh and
//! revoke, password reset and change) with RS256 JWTs carrying its claims, form-encoded or
//! JSON bodies, and its error bodies, served by the Portcullis core (docs/dialects/openloyalty.md).
//!
//! One tenant is bound to the dialect (settings: `dialects.openloyalty.tenant`); `{storeCode}`
//! selects one of its stores.
//!
//! May depend on: portcullis-core, axum, utoipa.

mod error;
mod params;
mod routes;

use axum::Router;
use portcullis_core::Core;
use std::sync::Arc;
use std::time::Duration;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What the dialect is bound to.
#[derive(Clone, Debug)]
pub struct OlSettings {
    /// Slug of the tenant whose stores `{storeCode}` selects; `None`: the only tenant.
    pub tenant: Option<String>,
    /// JWT lifetime (Open Loyalty: 24 h).
    pub access_ttl: Duration,
    /// Refresh-token lifetime, renewed at each refresh (30 days).
    pub refresh_ttl: Duration,
}

impl Default for OlSettings {
    fn default() -> Self {
        Self {
            tenant: None,
            access_ttl: Duration::from_secs(24 * 3600),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

#[derive(Clone)]
pub(crate) struct OlState {
    pub core: Arc<Core>,
    pub settings: Arc<OlSettings>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portcullis: Open Loyalty security API",
        description = "Open Loyalty's admin and customer logins, token refresh and revoke, password reset and change, served by Portcullis.",
        license(name = "Apache-2.0")
    ),
    tags((name = "openloyalty", description = "Open Loyalty security"))
)]
struct OlDoc;

fn routes() -> OpenApiRouter<OlState> {
    OpenApiRouter::with_openapi(OlDoc::openapi())
        .routes(routes!(routes::admin_login))
        .routes(routes!(routes::member_login))
        .routes(routes!(routes::customer_login))
        .routes(routes!(routes::admin_refresh))
        .routes(routes!(routes::store_refresh))
        .routes(routes!(routes::revoke))
        .routes(routes!(routes::customer_reset_request))
        .routes(routes!(routes::admin_reset_request))
        .routes(routes!(routes::reset))
        .routes(routes!(routes::customer_change))
        .routes(routes!(routes::admin_change))
}

pub fn router(core: Arc<Core>, settings: OlSettings) -> Router {
    routes().split_for_parts().0.with_state(OlState {
        core,
        settings: Arc::new(settings),
    })
}

/// The dialect's own OpenAPI document.
pub fn openapi_json() -> String {
    let (_, mut doc) = routes().split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.to_pretty_json().unwrap_or_default()
}
