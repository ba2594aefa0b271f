//! Public metadata: the signing keys (JWKS) and the discovery document.

use crate::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The public keys that verify access tokens still in circulation, all tenants together
/// (tokens name their key with `kid`).
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "discovery",
    responses((status = 200, description = "RFC 7517 JWK set", content_type = "application/json", body = Object))
)]
pub async fn jwks(State(core): State<AppState>) -> Response {
    let mut resp = Json(core.jwks()).into_response();
    // Short enough that a rotated key reaches verifiers well before it signs anything.
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    resp
}

/// Discovery metadata (OpenID Connect Discovery / RFC 8414 fields that apply).
#[derive(Serialize, ToSchema)]
pub struct Discovery {
    issuer: String,
    jwks_uri: String,
    token_endpoint: String,
    introspection_endpoint: String,
    revocation_endpoint: String,
    userinfo_endpoint: String,
    grant_types_supported: Vec<&'static str>,
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// Algorithms of access tokens (per tenant: EdDSA by default).
    id_token_signing_alg_values_supported: Vec<&'static str>,
    response_types_supported: Vec<&'static str>,
    subject_types_supported: Vec<&'static str>,
    claims_supported: Vec<&'static str>,
}

#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    tag = "discovery",
    responses((status = 200, description = "Discovery document", body = Discovery))
)]
pub async fn openid_configuration(State(core): State<AppState>) -> Json<Discovery> {
    let issuer = core.settings().issuer.trim_end_matches('/').to_owned();
    let auth = vec!["client_secret_basic", "client_secret_post"];
    Json(Discovery {
        jwks_uri: format!("{issuer}/.well-known/jwks.json"),
        token_endpoint: format!("{issuer}/oauth2/token"),
        introspection_endpoint: format!("{issuer}/oauth2/introspect"),
        revocation_endpoint: format!("{issuer}/oauth2/revoke"),
        userinfo_endpoint: format!("{issuer}/oauth2/userinfo"),
        issuer,
        grant_types_supported: vec!["password", "refresh_token", "client_credentials"],
        token_endpoint_auth_methods_supported: auth.clone(),
        introspection_endpoint_auth_methods_supported: auth.clone(),
        revocation_endpoint_auth_methods_supported: auth,
        id_token_signing_alg_values_supported: vec!["EdDSA", "RS256", "ES256"],
        response_types_supported: vec!["token"],
        subject_types_supported: vec!["public"],
        claims_supported: vec![
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "jti",
            "sid",
            "client_id",
            "tenant",
            "store",
            "store_view",
            "kind",
            "profiles",
        ],
    })
}
