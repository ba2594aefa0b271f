//! The served OpenAPI document must equal the checked-in `docs/openapi.json`, so a change to
//! the routes shows up in review. Regenerate with `UPDATE_SNAPSHOTS=1 cargo test -p portcullis-api`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

#[test]
fn openapi_document_matches_snapshot() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let actual = portcullis_api::openapi_json();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "docs/openapi.json is out of date: run `UPDATE_SNAPSHOTS=1 cargo test -p portcullis-api` and review the diff"
    );
}

#[test]
fn document_is_openapi_3_1_and_lists_every_route() {
    let doc: serde_json::Value = serde_json::from_str(&portcullis_api::openapi_json()).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/oauth2/token",
        "/oauth2/introspect",
        "/oauth2/revoke",
        "/oauth2/userinfo",
        "/v1/logout",
        "/v1/password/forgot",
        "/v1/password/reset",
        "/v1/password/change",
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
        "/healthz",
        "/readyz",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the document"
        );
    }
}
