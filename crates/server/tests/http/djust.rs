//! The DJUST dialect, driven with the seeds' example requests (headers and bodies as written
//! in seed 000, with this deployment's API key), and every error of its table.

use crate::smtp::{SmtpServer, token_in};
use crate::support::*;
use base64::Engine;
use reqwest::{RequestBuilder, Response};
use serde_json::{Value, json};
use std::time::Duration;

const DJ_KEY: &str = "dj-api-key-0123456789";

/// A DJUST tenant: the seed's store and view ids, and the seed's operator credentials
/// (`your-username` / `your-password`, imported as a hash since the password is weak).
fn djust_file(extra_tokens: &str, extra_passwords: &str) -> String {
    let hash = bcrypt::hash("your-password", 4).unwrap();
    format!(
        r#"
version = 1
[[tenants]]
slug = "dj"
name = "DJUST Shop"
[tenants.tokens]
refresh_retry_window = "1s"
{extra_tokens}
[tenants.passwords]
reset_mails_per_minute = 5
{extra_passwords}
[[tenants.stores]]
code = "store-123"
default = true
views = ["view-456"]
[[tenants.stores]]
code = "store-999"
[[tenants.apps]]
client_id = "dj-front"
api_key = "{DJ_KEY}"
kinds = ["operator", "customer", "supplier"]
redirect_hosts = ["shop.example.com"]
[[tenants.users]]
kind = "operator"
username = "your-username"
email = "operator@example.com"
password_hash = "{hash}"
[[tenants.users]]
kind = "customer"
email = "buyer@example.com"
password = "{PASSWORD}"
[[tenants.users]]
kind = "supplier"
email = "supplier@example.com"
password = "{PASSWORD}"
"#
    )
}

/// The seed's headers on a request.
fn dj(req: RequestBuilder, client: &str) -> RequestBuilder {
    req.header("dj-client", client)
        .header("dj-api-key", DJ_KEY)
        .header("dj-store", "store-123")
        .header("dj-store-view", "view-456")
}

async fn post(server: &Server, path: &str, client: &str, body: &Value) -> Response {
    dj(server.http.post(server.url(path)), client)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// AUTH-101 with the seed's body.
async fn seed_login(server: &Server) -> Value {
    let resp = post(
        server,
        "/auth/token",
        "OPERATOR",
        &json!({"username": "your-username", "password": "your-password"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn is_valid(server: &Server, token: &str) -> bool {
    let resp = dj(
        server.http.get(server.url("/auth/is-token-valid")),
        "OPERATOR",
    )
    .query(&[("token", token)])
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json::<bool>().await.unwrap()
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// Asserts DJUST's error shape and returns the body.
async fn dj_error(resp: Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(body["errors"][0]["message"].is_string(), "{body}");
    assert_eq!(body["warnings"], json!([]));
    body
}

async fn the_seed_requests_work_as_written() {
    let server = Server::with(&djust_file("", "")).await;
    let dto = seed_login(&server).await;
    let access = dto["token"]["accessToken"].as_str().unwrap();
    assert!(
        dto["token"]["refreshToken"]
            .as_str()
            .is_some_and(|r| r.len() >= 43)
    );
    assert!(dto["user"]["id"].is_string());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expire_at = dto["token"]["expireAt"].as_i64().unwrap();
    assert!(
        (expire_at - now - 600).abs() <= 5,
        "expireAt is in epoch seconds, 10 minutes ahead: {expire_at}"
    );
    let c = claims(access);
    assert_eq!(
        (
            c["kind"].as_str(),
            c["store"].as_str(),
            c["store_view"].as_str()
        ),
        (Some("operator"), Some("store-123"), Some("view-456"))
    );

    // Token answers are never cached.
    let resp = post(
        &server,
        "/auth/token",
        "OPERATOR",
        &json!({"username": "your-username", "password": "your-password"}),
    )
    .await;
    assert_eq!(resp.headers()["cache-control"], "no-store");

    // AUTH-100 is AUTH-101 with dj-client ACCOUNT; SUPPLIER too.
    let resp = post(
        &server,
        "/auth/token",
        "ACCOUNT",
        &json!({"username": "buyer@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let resp = post(
        &server,
        "/auth/token",
        "SUPPLIER",
        &json!({"username": "supplier@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    // Without dj-store, the tenant's default store.
    let resp = server
        .http
        .post(server.url("/auth/token"))
        .header("dj-client", "ACCOUNT")
        .header("dj-api-key", DJ_KEY)
        .json(&json!({"username": "buyer@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let dto: Value = resp.json().await.unwrap();
    assert_eq!(
        claims(dto["token"]["accessToken"].as_str().unwrap())["store"],
        "store-123"
    );

    // TOK-200 as in the seed.
    assert!(is_valid(&server, access).await);
    assert!(
        !is_valid(&server, "your-auth-token").await,
        "unknown tokens are false, not 401"
    );

    // AUTH-102 as in the seed.
    let refresh = dto_refresh(&server, dto["token"]["refreshToken"].as_str().unwrap()).await;
    assert_eq!(refresh.status(), 200);
    let renewed: Value = refresh.json().await.unwrap();
    assert_ne!(
        renewed["token"]["refreshToken"],
        dto["token"]["refreshToken"]
    );

    // AUTH-103 with the seed's quoted Authorization form: both tokens end at once.
    let seed = seed_login(&server).await;
    let token = seed["token"]["accessToken"].as_str().unwrap();
    let resp = dj(
        server.http.post(server.url("/auth/revoke-token")),
        "OPERATOR",
    )
    .header("Authorization", format!("\"Bearer {token}\""))
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().is_empty(), "empty body");
    assert!(!is_valid(&server, token).await);
    dj_error(
        dto_refresh(&server, seed["token"]["refreshToken"].as_str().unwrap()).await,
        401,
        "REFRESH_TOKEN_INVALID",
    )
    .await;
    let resp = dj(
        server.http.post(server.url("/auth/revoke-token")),
        "OPERATOR",
    )
    .send()
    .await
    .unwrap();
    dj_error(resp, 401, "INVALID_TOKEN").await;

    // The dialect's own OpenAPI document.
    let doc: Value = server.get_json("/openapi/djust.json").await;
    for path in [
        "/auth/token",
        "/auth/is-token-valid",
        "/auth/refresh-token",
        "/auth/revoke-token",
        "/auth/send-reset-password-email",
        "/auth/reset-password",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
}

async fn dto_refresh(server: &Server, refresh: &str) -> Response {
    post(
        server,
        "/auth/refresh-token",
        "OPERATOR",
        &json!({"refreshToken": refresh}),
    )
    .await
}

async fn every_error_of_the_table() {
    let server = Server::with(&djust_file("refresh_ttl = \"2s\"", "")).await;
    let creds = json!({"username": "your-username", "password": "your-password"});
    let url = server.url("/auth/token");
    let resp = server
        .http
        .post(&url)
        .header("dj-api-key", DJ_KEY)
        .json(&creds)
        .send()
        .await
        .unwrap();
    dj_error(resp, 400, "MISSING_DJ_CLIENT").await;
    let resp = server
        .http
        .post(&url)
        .header("dj-client", "ADMIN")
        .header("dj-api-key", DJ_KEY)
        .json(&creds)
        .send()
        .await
        .unwrap();
    dj_error(resp, 400, "INVALID_DJ_CLIENT").await;
    let resp = server
        .http
        .post(&url)
        .header("dj-client", "OPERATOR")
        .header("dj-api-key", "unknown-key-0000000000")
        .json(&creds)
        .send()
        .await
        .unwrap();
    dj_error(resp, 401, "INVALID_API_KEY").await;
    let resp = server
        .http
        .post(&url)
        .header("dj-client", "OPERATOR")
        .json(&creds)
        .send()
        .await
        .unwrap();
    dj_error(resp, 401, "MISSING_API_KEY").await;
    let resp = server
        .http
        .post(&url)
        .header("dj-client", "OPERATOR")
        .header("dj-api-key", DJ_KEY)
        .header("dj-store", "store-404")
        .json(&creds)
        .send()
        .await
        .unwrap();
    dj_error(resp, 400, "UNKNOWN_STORE").await;
    let resp = post(
        &server,
        "/auth/token",
        "OPERATOR",
        &json!({"username": "your-username", "password": "wrong-password"}),
    )
    .await;
    dj_error(resp, 401, "INVALID_CREDENTIALS").await;
    let resp = post(
        &server,
        "/auth/token",
        "OPERATOR",
        &json!({"username": "nobody", "password": "wrong-password"}),
    )
    .await;
    dj_error(resp, 401, "INVALID_CREDENTIALS").await;
    // An operator's credentials are not an account's.
    let resp = post(&server, "/auth/token", "ACCOUNT", &creds).await;
    dj_error(resp, 401, "INVALID_CREDENTIALS").await;
    let resp = dj(server.http.post(&url), "OPERATOR")
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    dj_error(resp, 400, "MALFORMED_JSON").await;
    let resp = dj(
        server.http.get(server.url("/auth/is-token-valid")),
        "OPERATOR",
    )
    .send()
    .await
    .unwrap();
    dj_error(resp, 400, "MISSING_TOKEN").await;
    // A query serde cannot read is refused in DJUST's shape, not in axum's plain text.
    let resp = dj(
        server
            .http
            .get(server.url("/auth/is-token-valid?token=a&token=b")),
        "OPERATOR",
    )
    .send()
    .await
    .unwrap();
    dj_error(resp, 400, "MALFORMED_QUERY").await;
    assert_eq!(
        server.sessions_of("dj").await,
        0,
        "no failed request opened a session"
    );

    // Refresh tokens: reused after the retry window, and expired.
    let dto = seed_login(&server).await;
    // A percent-encoded token is decoded as any query is (the usual one needs no decoding).
    let access = dto["token"]["accessToken"].as_str().unwrap();
    let resp = dj(
        server.http.get(server.url(&format!(
            "/auth/is-token-valid?token={}",
            access.replace('.', "%2E")
        ))),
        "OPERATOR",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.json::<bool>().await.unwrap(),
        "the decoded token is valid"
    );
    let first = dto["token"]["refreshToken"].as_str().unwrap().to_owned();
    assert_eq!(dto_refresh(&server, &first).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    dj_error(
        dto_refresh(&server, &first).await,
        401,
        "REFRESH_TOKEN_REUSED",
    )
    .await;
    assert!(
        !is_valid(&server, dto["token"]["accessToken"].as_str().unwrap()).await,
        "reuse ends the session"
    );
    let dto = seed_login(&server).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let resp = dto_refresh(&server, dto["token"]["refreshToken"].as_str().unwrap()).await;
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert!(
        ["REFRESH_TOKEN_EXPIRED", "REFRESH_TOKEN_INVALID"]
            .contains(&body["code"].as_str().unwrap()),
        "{body}"
    );
    dj_error(
        dto_refresh(&server, "forged").await,
        401,
        "REFRESH_TOKEN_INVALID",
    )
    .await;
}

async fn reset_by_email_through_the_dialect() {
    let smtp = SmtpServer::start().await;
    let setup = Setup {
        env: vec![("PORTCULLIS_SMTP__URL", smtp.url())],
        ..Setup::default()
    };
    let server = Server::with_setup(&djust_file("", "reset_ttl = \"2s\""), setup).await;
    let send = |email: &str, redirect: &str| {
        let body = json!({"email": email, "redirectUrl": redirect});
        let server = &server;
        async move { post(server, "/auth/send-reset-password-email", "ACCOUNT", &body).await }
    };
    assert_eq!(
        send("nobody@example.com", "https://shop.example.com/reset")
            .await
            .status(),
        200
    );
    assert_eq!(
        send("buyer@example.com", "https://shop.example.com/reset")
            .await
            .status(),
        200
    );
    dj_error(
        send("buyer@example.com", "https://evil.example.net/reset").await,
        400,
        "REDIRECT_NOT_ALLOWED",
    )
    .await;
    let resp = dj(
        server
            .http
            .post(server.url("/auth/send-reset-password-email")),
        "ACCOUNT",
    )
    .body("not json")
    .send()
    .await
    .unwrap();
    dj_error(resp, 400, "MALFORMED_JSON").await;
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    let token = token_in(&mails[0]);

    let reset = |token: &str, password: &str| {
        let body = json!({"newPassword": password, "resetPasswordToken": token});
        let server = &server;
        async move { post(server, "/auth/reset-password", "ACCOUNT", &body).await }
    };
    let weak = dj_error(reset(&token, "new-password").await, 400, "WEAK_PASSWORD").await;
    assert!(
        weak["errors"].as_array().unwrap().len() >= 2,
        "every violation: {weak}"
    );
    assert_eq!(reset(&token, "N3w-Passw0rd!").await.status(), 200);
    let login = |password: &str| {
        let body = json!({"username": "buyer@example.com", "password": password});
        let server = &server;
        async move { post(server, "/auth/token", "ACCOUNT", &body).await }
    };
    dj_error(login(PASSWORD).await, 401, "INVALID_CREDENTIALS").await;
    assert_eq!(login("N3w-Passw0rd!").await.status(), 200);
    dj_error(
        reset(&token, "An0ther-Passw0rd!").await,
        400,
        "RESET_TOKEN_USED",
    )
    .await;
    dj_error(
        reset("0f8fad5b-d9cb-469f-a165-70867728950e", "An0ther-Passw0rd!").await,
        400,
        "RESET_TOKEN_INVALID",
    )
    .await;

    // An expired link (this tenant's links last 2 s).
    assert_eq!(
        send("buyer@example.com", "https://shop.example.com/reset")
            .await
            .status(),
        200
    );
    // Maildir file names do not keep the order of arrival: take the token that is new.
    let second = smtp
        .wait_for(2)
        .await
        .iter()
        .map(|m| token_in(m))
        .find(|t| *t != token)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    dj_error(
        reset(&second, "An0ther-Passw0rd!").await,
        400,
        "RESET_TOKEN_EXPIRED",
    )
    .await;
}

#[tokio::test]
async fn the_dialect_can_move_under_a_prefix_or_be_switched_off() {
    let moved = Setup {
        env: vec![("PORTCULLIS_DIALECTS__DJUST__PREFIX", "/djust".into())],
        ..Setup::default()
    };
    let server = Server::with_setup(&djust_file("", ""), moved).await;
    let creds = json!({"username": "your-username", "password": "your-password"});
    assert_eq!(
        post(&server, "/djust/auth/token", "OPERATOR", &creds)
            .await
            .status(),
        200
    );
    assert_eq!(
        post(&server, "/auth/token", "OPERATOR", &creds)
            .await
            .status(),
        404
    );
    let off = Setup {
        env: vec![("PORTCULLIS_DIALECTS__DJUST__ENABLED", "false".into())],
        ..Setup::default()
    };
    let server = Server::with_setup(&djust_file("", ""), off).await;
    assert_eq!(
        post(&server, "/auth/token", "OPERATOR", &creds)
            .await
            .status(),
        404
    );
    assert_eq!(
        server
            .http
            .get(server.url("/openapi/djust.json"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

crate::on_both_stores!(
    the_seed_requests_work_as_written,
    every_error_of_the_table,
    reset_by_email_through_the_dialect
);
