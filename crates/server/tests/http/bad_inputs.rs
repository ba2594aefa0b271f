//! Every bad input gets its error in the API's shape, and none of them changes the store:
//! no session, no token, no user.

use crate::support::*;
use serde_json::Value;

async fn bad_token_requests_get_clear_errors_and_issue_nothing() {
    let server = Server::with(ACME).await;
    let token =
        |form: &'static [(&'static str, &'static str)]| server.post_form("/oauth2/token", form);

    // Wrong password and unknown user: the same answer, word for word.
    let wrong = expect_error(
        token(&[
            ("grant_type", "password"),
            ("username", "alice@example.com"),
            ("password", "Wrong-Passw0rd!"),
        ])
        .await,
        400,
        "invalid_grant",
        "invalid_credentials",
    )
    .await;
    let unknown = expect_error(
        token(&[
            ("grant_type", "password"),
            ("username", "nobody@example.com"),
            ("password", "Wrong-Passw0rd!"),
        ])
        .await,
        400,
        "invalid_grant",
        "invalid_credentials",
    )
    .await;
    assert_eq!(wrong, unknown);

    let missing = expect_error(
        token(&[("username", "alice")]).await,
        400,
        "invalid_request",
        "missing_parameter",
    )
    .await;
    assert_eq!(missing["errors"][0]["field"], "grant_type");
    let body = expect_error(
        token(&[
            ("grant_type", "password"),
            ("username", "alice@example.com"),
        ])
        .await,
        400,
        "invalid_request",
        "missing_parameter",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "password");
    expect_error(
        token(&[("grant_type", "authorization_code")]).await,
        400,
        "unsupported_grant_type",
        "unsupported_grant_type",
    )
    .await;
    expect_error(
        token(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
            ("kind", "robot"),
        ])
        .await,
        400,
        "invalid_request",
        "unknown_kind",
    )
    .await;
    expect_error(
        token(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
            ("kind", "supplier"),
        ])
        .await,
        400,
        "unauthorized_client",
        "unauthorized_client",
    )
    .await;
    let store = expect_error(
        token(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
            ("store", "NOPE"),
        ])
        .await,
        400,
        "invalid_request",
        "unknown_store",
    )
    .await;
    assert_eq!(store["errors"][0]["field"], "store");
    expect_error(
        token(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
            ("store_view", "de"),
        ])
        .await,
        400,
        "invalid_request",
        "unknown_store_view",
    )
    .await;
    expect_error(
        token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "forged-refresh-token"),
        ])
        .await,
        400,
        "invalid_grant",
        "refresh_token_invalid",
    )
    .await;

    // Client authentication.
    let resp = server
        .token_as(
            Some(("acme-web", "wrong-api-key-000000")),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    expect_error(resp, 401, "invalid_client", "invalid_client").await;
    let resp = server
        .token_as(
            None,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    expect_error(resp, 401, "invalid_client", "invalid_client").await;
    let resp = server
        .token_as(
            Some(("acme-web", API_KEY)),
            &[
                ("grant_type", "password"),
                ("client_secret", API_KEY),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    expect_error(resp, 400, "invalid_request", "multiple_client_auth").await;

    // Bodies: wrong content type, malformed form, too large.
    let resp = server
        .http
        .post(server.url("/oauth2/token"))
        .basic_auth("acme-web", Some(API_KEY))
        .json(&serde_json::json!({"grant_type": "password", "username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    expect_error(resp, 400, "invalid_request", "unsupported_content_type").await;
    let resp = server
        .http
        .post(server.url("/oauth2/token"))
        .basic_auth("acme-web", Some(API_KEY))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=password&grant_type=refresh_token")
        .send()
        .await
        .unwrap();
    expect_error(resp, 400, "invalid_request", "malformed_body").await;
    let huge = "x".repeat(70 * 1024);
    let resp = server
        .token_as(
            Some(("acme-web", API_KEY)),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", huge.as_str()),
            ],
        )
        .await;
    expect_error(resp, 413, "invalid_request", "body_too_large").await;

    // Nothing above opened a session.
    assert_eq!(server.sessions().await.len(), 0);
}

async fn bad_tokens_are_inactive_or_refused() {
    let server = Server::with(ACME).await;
    for garbage in ["", "abc", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."] {
        let resp = server
            .post_form("/oauth2/introspect", &[("token", garbage)])
            .await;
        if garbage.is_empty() {
            expect_error(resp, 400, "invalid_request", "missing_parameter").await;
        } else {
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body, serde_json::json!({"active": false}), "{garbage}");
        }
    }
    // Introspection needs an authenticated client.
    let resp = server
        .http
        .post(server.url("/oauth2/introspect"))
        .form(&[("token", "abc")])
        .send()
        .await
        .unwrap();
    expect_error(resp, 401, "invalid_client", "invalid_client").await;

    // A token of another tenant is inactive for this tenant's apps.
    let other = r#"
version = 1
[[tenants]]
slug = "globex"
name = "Globex"
[[tenants.stores]]
code = "MAIN"
default = true
[[tenants.apps]]
client_id = "globex-web"
api_key = "globex-web-api-key-0001"
kinds = ["customer"]
[[tenants.users]]
kind = "customer"
email = "gina@example.com"
password = "Str0ng!Passw0rd"
"#;
    let file = path_of(&server.dir, "globex.toml");
    std::fs::write(&file, other).unwrap();
    assert!(server.cli(&["import", file.to_str().unwrap()]).await.ok);
    let mut foreign = None;
    for _ in 0..50 {
        let resp = server
            .token_as(
                Some(("globex-web", "globex-web-api-key-0001")),
                &[
                    ("grant_type", "password"),
                    ("username", "gina@example.com"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        if resp.status() == 200 {
            let body: Value = resp.json().await.unwrap();
            foreign = Some(body["access_token"].as_str().unwrap().to_owned());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(server.introspect(&foreign.unwrap()).await["active"], false);

    // Userinfo and logout without a usable token.
    let resp = server
        .http
        .get(server.url("/oauth2/userinfo"))
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    expect_error(resp, 401, "invalid_token", "invalid_token").await;
    let resp = server
        .http
        .get(server.url("/oauth2/userinfo"))
        .bearer_auth("a.b.c")
        .send()
        .await
        .unwrap();
    expect_error(resp, 401, "invalid_token", "invalid_token").await;
    let resp = server
        .http
        .post(server.url("/v1/logout"))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .unwrap();
    expect_error(resp, 401, "invalid_token", "invalid_token").await;

    let resp = server
        .http
        .get(server.url("/no/such/route"))
        .send()
        .await
        .unwrap();
    expect_error(resp, 404, "not_found", "no_such_route").await;

    // Algorithm confusion: the claims of a real token, re-signed with HMAC using the public
    // key as the secret (every form a confused verifier might use), or not signed at all.
    let real = server.login_alice().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let header = jsonwebtoken::decode_header(&real).unwrap();
    let payload = real.split('.').nth(1).unwrap().to_owned();
    let claims: Value = {
        use base64::Engine;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&payload)
            .unwrap();
        serde_json::from_slice(&raw).unwrap()
    };
    let jwks = server.get_json("/.well-known/jwks.json").await;
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header.kid.clone().unwrap().as_str())
        .unwrap()
        .clone();
    let mut secrets: Vec<Vec<u8>> = vec![jwk.to_string().into_bytes()];
    for field in ["x", "n", "y"] {
        if let Some(v) = jwk[field].as_str() {
            use base64::Engine;
            secrets.push(v.as_bytes().to_vec());
            secrets.push(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(v)
                    .unwrap(),
            );
        }
    }
    let mut forged = Vec::new();
    for secret in &secrets {
        for alg in [
            jsonwebtoken::Algorithm::HS256,
            jsonwebtoken::Algorithm::HS512,
        ] {
            let mut h = jsonwebtoken::Header::new(alg);
            h.kid = header.kid.clone();
            forged.push(
                jsonwebtoken::encode(&h, &claims, &jsonwebtoken::EncodingKey::from_secret(secret))
                    .unwrap(),
            );
        }
    }
    // `alg: none` with the real kid and claims.
    let none_header = format!(
        r#"{{"alg":"none","typ":"JWT","kid":"{}"}}"#,
        header.kid.clone().unwrap()
    );
    {
        use base64::Engine;
        let h = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(none_header);
        forged.push(format!("{h}.{payload}."));
        forged.push(format!("{h}.{payload}.{}", real.split('.').nth(2).unwrap()));
    }
    assert_eq!(server.introspect(&real).await["active"], true);
    for token in &forged {
        assert_eq!(server.introspect(token).await["active"], false, "{token}");
        let resp = server
            .http
            .get(server.url("/oauth2/userinfo"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
    }
}

crate::on_both_stores!(
    bad_token_requests_get_clear_errors_and_issue_nothing,
    bad_tokens_are_inactive_or_refused,
);
