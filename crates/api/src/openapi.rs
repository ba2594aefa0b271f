//! The OpenAPI document, generated from the handlers' annotations so routes and document
//! cannot drift (a snapshot test compares it with `docs/openapi.json`).

use crate::{AppState, admin, authorize, devices, health, oauth, password, session, wellknown};
use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portcullis native API",
        description = "OAuth 2.0 token endpoint (password, refresh_token, client_credentials), RFC 7662 introspection, RFC 7009 revocation, JWKS and discovery.",
        license(name = "Apache-2.0")
    ),
    modifiers(&Security),
    tags(
        (name = "oauth2", description = "Tokens"),
        (name = "session", description = "The holder of an access token"),
        (name = "password", description = "Forgotten password, reset and change"),
        (name = "discovery", description = "Keys and metadata"),
        (name = "health", description = "Probes"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "client_basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(oauth::token))
        .routes(routes!(oauth::introspect))
        .routes(routes!(oauth::revoke))
        .routes(routes!(session::userinfo))
        .routes(routes!(session::logout))
        .routes(routes!(devices::list_devices))
        .routes(routes!(authorize::authorize))
        .routes(routes!(authorize::forward_auth))
        .routes(routes!(admin::list_profiles))
        .routes(routes!(admin::save_profile))
        .routes(routes!(admin::user_profiles, admin::set_user_profiles))
        .routes(routes!(admin::audit))
        .routes(routes!(devices::sign_out_device))
        .routes(routes!(password::forgot_password))
        .routes(routes!(password::reset_password))
        .routes(routes!(password::change_password))
        .routes(routes!(wellknown::jwks))
        .routes(routes!(wellknown::openid_configuration))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
}

/// The document as served at `/openapi.json`, pretty-printed.
pub fn openapi_json() -> String {
    let (_, doc) = routes().split_for_parts();
    render(doc)
}

pub(crate) fn render(mut doc: utoipa::openapi::OpenApi) -> String {
    // The version comes from the crate, so the snapshot changes only when the API does.
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.to_pretty_json().unwrap_or_default()
}
