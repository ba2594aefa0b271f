//! The happy paths of the native API, step by step.

use crate::support::*;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use portcullis_core::user::UserKind;
use serde_json::Value;
use std::time::Duration;

/// Verifies `token` against the server's JWKS and returns its claims.
async fn verify(server: &Server, token: &str) -> Value {
    let jwks: JwkSet = server.get_json_as("/.well-known/jwks.json").await;
    let kid = decode_header(token).unwrap().kid.unwrap();
    let jwk = jwks
        .find(&kid)
        .unwrap_or_else(|| panic!("kid {kid} is not in the JWKS"));
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let alg = jwk.common.key_algorithm.map(|a| a.to_string()).unwrap();
    let mut v = Validation::new(alg.parse().unwrap());
    v.set_audience(&["acme"]);
    v.set_issuer(&[&server.base]);
    decode::<Value>(token, &key, &v).unwrap().claims
}

async fn password_login_then_introspection_userinfo_and_jwks() {
    let server = Server::with(ACME).await;
    let resp = server.login("Alice@Example.com", PASSWORD).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let tokens: Value = resp.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    // Seconds left when the answer is written, in whole seconds like `exp`: the configured
    // lifetime, or one less when a second ticked over between issuing and answering.
    let left = |k: &str| tokens[k].as_i64().unwrap();
    assert!((599..=600).contains(&left("expires_in")), "{tokens}");
    assert!(
        (7199..=7200).contains(&left("refresh_expires_in")),
        "{tokens}"
    );
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert!(refresh.len() >= 43, "256 bits, base64url");
    let access = tokens["access_token"].as_str().unwrap();

    let claims = verify(&server, access).await;
    assert_eq!(claims["tenant"], "acme");
    assert_eq!(claims["store"], "DEFAULT");
    assert_eq!(claims["kind"], "customer");
    assert_eq!(claims["profiles"], serde_json::json!(["buyer"]));
    assert_eq!(claims["client_id"], "acme-web");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
    for claim in ["sub", "jti", "sid"] {
        assert!(
            claims[claim].as_str().is_some_and(|s| !s.is_empty()),
            "{claim}"
        );
    }

    let active = server.introspect(access).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["sub"], claims["sub"]);
    assert_eq!(active["tenant"], "acme");
    assert_eq!(active["token_type"], "Bearer");
    let as_refresh = server.introspect(refresh).await;
    assert_eq!(as_refresh["active"], true);
    assert_eq!(as_refresh["token_type"], "refresh_token");
    assert_eq!(as_refresh["sid"], claims["sid"]);

    let me: Value = server
        .http
        .get(server.url("/oauth2/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["preferred_username"], "alice");
    assert_eq!(me["phone_number"], "+33100000000");
    assert_eq!(me["sub"], claims["sub"]);
    assert_eq!(me["profiles"], serde_json::json!(["buyer"]));

    // The username works as well as the e-mail, and client_secret_post as well as Basic.
    let resp = server
        .token_as(
            None,
            &[
                ("grant_type", "password"),
                ("username", "ALICE"),
                ("password", PASSWORD),
                ("client_id", "acme-web"),
                ("client_secret", API_KEY),
                ("store", "OUTLET"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 200);
    let second: Value = resp.json().await.unwrap();
    let claims2 = verify(&server, second["access_token"].as_str().unwrap()).await;
    assert_eq!(claims2["store"], "OUTLET");
    assert_ne!(
        claims2["sid"], claims["sid"],
        "each login is its own session"
    );

    // An operator logs in by naming the kind.
    let resp = server
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "password"),
                ("username", "oscar@example.com"),
                ("password", PASSWORD),
                ("kind", "operator"),
                ("store_view", "fr"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 200);
    let op: Value = resp.json().await.unwrap();
    let op_claims = verify(&server, op["access_token"].as_str().unwrap()).await;
    assert_eq!(op_claims["kind"], "operator");
    assert_eq!(op_claims["store"], "DEFAULT");
    assert_eq!(op_claims["store_view"], "fr");

    let discovery = server.get_json("/.well-known/openid-configuration").await;
    assert_eq!(discovery["issuer"], server.base.as_str());
    assert_eq!(discovery["token_endpoint"], server.url("/oauth2/token"));
    assert_eq!(discovery["jwks_uri"], server.url("/.well-known/jwks.json"));
}

async fn refresh_rotates_retries_get_the_same_pair_and_reuse_revokes_the_session() {
    let server = Server::with(ACME).await;
    let first = server.login_alice().await;
    let r1 = first["refresh_token"].as_str().unwrap();

    let resp = server.refresh(r1).await;
    assert_eq!(resp.status(), 200);
    let second: Value = resp.json().await.unwrap();
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2, "rotated");
    assert_ne!(first["access_token"], second["access_token"]);
    assert_eq!(
        server.introspect(r1).await["active"],
        false,
        "a rotated token is spent"
    );

    // A retry within the window (the client lost the answer) gets the very same pair.
    let retry: Value = server.refresh(r1).await.json().await.unwrap();
    assert_eq!(retry["refresh_token"], second["refresh_token"]);
    assert_eq!(retry["access_token"], second["access_token"]);

    // After the window, presenting r1 again is reuse: the whole session ends.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let reuse = server.refresh(r1).await;
    expect_error(reuse, 400, "invalid_grant", "refresh_token_reused").await;
    let after = server.refresh(r2).await;
    assert_eq!(after.status(), 400, "the family is revoked");
    assert_eq!(
        server
            .introspect(second["access_token"].as_str().unwrap())
            .await["active"],
        false
    );
    let sessions = server.sessions().await;
    assert_eq!(sessions.len(), 1);
    assert!(sessions[0]["revoked_at"].is_string());
}

async fn revocation_and_logout_end_the_session_at_once() {
    let server = Server::with(ACME).await;
    // RFC 7009 with the refresh token.
    let a = server.login_alice().await;
    let resp = server
        .post_form(
            "/oauth2/revoke",
            &[("token", a["refresh_token"].as_str().unwrap())],
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        server.introspect(a["access_token"].as_str().unwrap()).await["active"],
        false
    );
    assert_eq!(
        server
            .refresh(a["refresh_token"].as_str().unwrap())
            .await
            .status(),
        400
    );
    // Unknown tokens are accepted silently (RFC 7009 §2.2).
    assert_eq!(
        server
            .post_form("/oauth2/revoke", &[("token", "not-a-token")])
            .await
            .status(),
        200
    );

    // Logout with the access token.
    let b = server.login_alice().await;
    let access = b["access_token"].as_str().unwrap();
    let resp = server
        .http
        .post(server.url("/v1/logout"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = server
        .http
        .get(server.url("/oauth2/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    expect_error(resp, 401, "invalid_token", "invalid_token").await;
    assert_eq!(
        server
            .refresh(b["refresh_token"].as_str().unwrap())
            .await
            .status(),
        400
    );
    let logout_again = server
        .http
        .post(server.url("/v1/logout"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(logout_again.status(), 401);
}

async fn client_credentials_gives_a_service_token_without_refresh() {
    let server = Server::with(ACME).await;
    let resp = server
        .token_as(
            Some(("acme-batch", SERVICE_KEY)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(body.get("refresh_token").is_none());
    let claims = verify(&server, body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["kind"], "service");
    assert_eq!(claims["sub"], "acme-batch");
    // The service app may not use the password grant.
    let resp = server
        .token_as(
            Some(("acme-batch", SERVICE_KEY)),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    expect_error(resp, 400, "unauthorized_client", "unauthorized_client").await;
}

async fn key_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key() {
    let server = Server::with(ACME).await;
    let before = server.login_alice().await;
    let old_token = before["access_token"].as_str().unwrap().to_owned();
    let old_kid = decode_header(&old_token).unwrap().kid.unwrap();

    let out = server.cli(&["key", "rotate", "--tenant", "acme"]).await;
    assert!(out.ok, "{}", out.stderr);

    // The server learns of the new key from the change feed.
    eventually("the JWKS listing two keys", || async {
        let jwks: JwkSet = server.get_json_as("/.well-known/jwks.json").await;
        jwks.keys.len() == 2
    })
    .await;
    let after = server.login_alice().await;
    let new_token = after["access_token"].as_str().unwrap();
    let new_kid = decode_header(new_token).unwrap().kid.unwrap();
    assert_ne!(old_kid, new_kid);
    verify(&server, &old_token).await;
    verify(&server, new_token).await;
    assert_eq!(server.introspect(&old_token).await["active"], true);
}

async fn an_imported_bcrypt_hash_logs_in_and_is_rehashed_with_argon2id() {
    let hash = bcrypt::hash("Legacy-Passw0rd!", 4).unwrap();
    let file = format!(
        "{ACME}\n[[tenants.users]]\nkind = \"customer\"\nemail = \"legacy@example.com\"\npassword_hash = \"{hash}\"\n"
    );
    let server = Server::with(&file).await;
    let resp = server.login("legacy@example.com", "Legacy-Passw0rd!").await;
    assert_eq!(resp.status(), 200);
    let wrong = server.login("legacy@example.com", "Legacy-Passw0rd?").await;
    expect_error(wrong, 400, "invalid_grant", "invalid_credentials").await;

    let store = server.open_store().await;
    let tenant = store
        .list_tenants()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.slug == "acme")
        .unwrap();
    let user = store
        .find_user(tenant.id, UserKind::Customer, "legacy@example.com")
        .await
        .unwrap()
        .unwrap();
    let stored = user.password_hash.unwrap();
    assert!(
        stored.starts_with("$argon2id$"),
        "rehashed at login: {stored}"
    );
    // And the new hash still logs in.
    assert_eq!(
        server
            .login("legacy@example.com", "Legacy-Passw0rd!")
            .await
            .status(),
        200
    );
    // Importing the same file again recognises the password it set: nothing changes.
    let file = path_of(&server.dir, "provisioning.toml");
    let again = server.cli(&["import", file.to_str().unwrap()]).await;
    assert!(again.ok, "{}", again.stderr);
    assert_eq!(import_changes(&again.stdout), 0, "{}", again.stdout);
    let user = store
        .find_user(tenant.id, UserKind::Customer, "legacy@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(user.password_hash.unwrap().starts_with("$argon2id$"));
}

async fn health_openapi_and_graceful_shutdown() {
    let mut server = Server::with(ACME).await;
    let resp = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = server.http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let served = server
        .http
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(served, portcullis_api::openapi_json());
    assert!(server.terminate().await, "SIGTERM stops the server cleanly");
    assert!(server.logs().contains("stopped"));
}

async fn secrets_never_reach_the_log() {
    let server = Server::with(ACME).await;
    let tokens = server.login_alice().await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    server.refresh(refresh).await;
    server.login("alice@example.com", "Wrong-Passw0rd!").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = server.logs();
    assert!(logs.contains("ready"), "the log was captured");
    for secret in [
        PASSWORD,
        "Wrong-Passw0rd!",
        API_KEY,
        refresh,
        tokens["access_token"].as_str().unwrap(),
        MASTER_KEY,
    ] {
        assert!(!logs.contains(secret), "a secret reached the log");
    }
}

async fn keys_rotate_on_schedule_and_old_tokens_stay_valid() {
    let setup = Setup {
        env: vec![("PORTCULLIS_KEYS__ROTATE_EVERY", "2s".into())],
        ..Default::default()
    };
    let server = Server::with_setup(ACME, setup).await;
    let kid = |t: &str| jsonwebtoken::decode_header(t).unwrap().kid.unwrap();
    let first = server.login_alice().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut second = None;
    for _ in 0..60 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let t = server.login_alice().await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        if kid(&t) != kid(&first) {
            second = Some(t);
            break;
        }
    }
    let second = second.expect("a token signed by a rotated key within 12 s");
    // Both keys are published and both tokens valid.
    let jwks = server.get_json("/.well-known/jwks.json").await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(kids.contains(&kid(&first).as_str()) && kids.contains(&kid(&second).as_str()));
    assert_eq!(server.introspect(&first).await["active"], true);
    assert_eq!(server.introspect(&second).await["active"], true);
    // The rotations are in the audit trail.
    let out = server.cli(&["audit", "--tenant", "acme", "--json"]).await;
    assert!(out.stdout.contains("key.rotated"), "{}", out.stdout);
}

crate::on_both_stores!(
    keys_rotate_on_schedule_and_old_tokens_stay_valid,
    password_login_then_introspection_userinfo_and_jwks,
    refresh_rotates_retries_get_the_same_pair_and_reuse_revokes_the_session,
    revocation_and_logout_end_the_session_at_once,
    client_credentials_gives_a_service_token_without_refresh,
    key_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key,
    an_imported_bcrypt_hash_logs_in_and_is_rehashed_with_argon2id,
    health_openapi_and_graceful_shutdown,
    secrets_never_reach_the_log,
);
