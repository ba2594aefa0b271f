//! Tokens outside their bounds, in every API: another tenant's tokens and keys are refused
//! in each dialect's own error shape and change nothing; expired tokens and keys are refused,
//! including those signed by a key rotated out since.

use crate::support::*;
use reqwest::{RequestBuilder, Response};
use serde_json::{Value, json};
use std::time::Duration;

/// ACME, and Globex beside it with its own brand, app and users.
fn two_tenants() -> String {
    format!(
        r#"{ACME}
[[tenants]]
slug = "globex"
name = "Globex"
brand_urls = ["globex.example.com"]

[[tenants.stores]]
code = "MAIN"
company_id = 2
default = true

[[tenants.apps]]
client_id = "globex-web"
api_key = "globex-web-api-key-0001"
kinds = ["customer", "operator"]
grants = ["password", "refresh_token"]

[[tenants.users]]
kind = "customer"
email = "gina@example.com"
username = "gina"
password = "{PASSWORD}"
"#
    )
}

fn acme_djust(req: RequestBuilder) -> RequestBuilder {
    req.header("dj-client", "ACCOUNT")
        .header("dj-api-key", API_KEY)
}

async fn json_of(resp: Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status, "{:?}", resp.url().path());
    resp.json().await.unwrap()
}

/// JRNI's logout with `token`, on behalf of the app `app_id`.
async fn jrni_logout(server: &Server, app_id: &str, token: &str) -> Response {
    server
        .http
        .delete(server.url("/api/v5/login"))
        .header("App-Id", app_id)
        .header("Auth-Token", token)
        .send()
        .await
        .unwrap()
}

/// JFW's device list of the holder, asked under `brand`.
async fn jfw_devices(server: &Server, brand: &str, held: &Held) -> Response {
    server
        .http
        .get(server.url(&format!("/api/v1/users/{}/devices", held.jfw_user)))
        .header("Brand-URL", brand)
        .header("Auth-Key", &held.jfw_key)
        .send()
        .await
        .unwrap()
}

/// What a client of each API holds after signing in.
struct Held {
    jwt: String,
    refresh: String,
    jrni: String,
    jfw_key: String,
    jfw_refresh: String,
    jfw_user: String,
}

async fn sign_in_everywhere(
    server: &Server,
    client: (&str, &str),
    login: &str,
    brand: &str,
) -> Held {
    let resp = server
        .token_as(
            Some(client),
            &[
                ("grant_type", "password"),
                ("username", login),
                ("password", PASSWORD),
            ],
        )
        .await;
    let native = json_of(resp, 200).await;
    let resp = server
        .http
        .post(server.url("/api/v5/login"))
        .header("App-Id", client.0)
        .json(&json!({"email": login, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let jrni = resp.headers()["auth-token"].to_str().unwrap().to_owned();
    let resp = server
        .http
        .post(server.url("/api/v1/users/auth"))
        .header("Brand-URL", brand)
        .json(&json!({"username": login, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let jfw = json_of(resp, 200).await["data"].clone();
    Held {
        jwt: native["access_token"].as_str().unwrap().to_owned(),
        refresh: native["refresh_token"].as_str().unwrap().to_owned(),
        jrni,
        jfw_key: jfw["authKey"].as_str().unwrap().to_owned(),
        jfw_refresh: jfw["refreshAuthKey"].as_str().unwrap().to_owned(),
        jfw_user: jfw["id"].as_str().unwrap().to_owned(),
    }
}

/// Each API, asked on ACME's behalf with what a Globex client holds: refused, in its shape.
async fn refused_on_acme(server: &Server, held: &Held) {
    // Native: introspection by an ACME app sees nothing; a refresh through ACME's app fails.
    assert_eq!(server.introspect(&held.jwt).await["active"], false);
    let resp = server
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &held.refresh),
            ],
        )
        .await;
    expect_error(resp, 400, "invalid_grant", "refresh_token_invalid").await;

    // DJUST: not valid for ACME's key; a refresh is refused in DJUST's shape.
    let resp = acme_djust(server.http.get(server.url("/auth/is-token-valid")))
        .query(&[("token", held.jwt.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(resp, 200).await, json!(false));
    let resp = acme_djust(server.http.post(server.url("/auth/refresh-token")))
        .json(&json!({"refreshToken": held.refresh}))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    assert!(status == 400 || status == 401, "{status}");
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["code"].is_string() && body["errors"][0]["message"].is_string(),
        "{body}"
    );

    // JRNI: ACME's App-Id with Globex's Auth-Token.
    let resp = jrni_logout(server, "acme-web", &held.jrni).await;
    assert_eq!(json_of(resp, 401).await["error"], "401 Unauthorized");

    // Open Loyalty (bound to ACME): Globex's JWT is not one of its tokens.
    let resp = server
        .http
        .get(server.url("/api/token/revoke"))
        .bearer_auth(&held.jwt)
        .send()
        .await
        .unwrap();
    let body = json_of(resp, 401).await;
    assert_eq!(body["code"], 401, "{body}");

    // JFW: ACME's brand with Globex's auth key and refresh key.
    let resp = jfw_devices(server, "acme.example.com", held).await;
    let body = json_of(resp, 401).await;
    assert_eq!(body["success"], false, "{body}");
    let resp = server
        .http
        .post(server.url("/api/v1/users/auth/refresh-auth-key"))
        .header("Brand-URL", "acme.example.com")
        .json(&json!({"refreshAuthKey": held.jfw_refresh}))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert!(status == 400 || status == 401, "{status} {body}");
    assert_eq!(body["success"], false, "{body}");
}

async fn another_tenants_tokens_are_refused_by_every_api_and_change_nothing() {
    let setup = Setup {
        env: vec![("PORTCULLIS_DIALECTS__OPENLOYALTY__TENANT", "acme".into())],
        ..Setup::default()
    };
    let server = Server::with_setup(&two_tenants(), setup).await;
    let held = sign_in_everywhere(
        &server,
        ("globex-web", "globex-web-api-key-0001"),
        "gina@example.com",
        "globex.example.com",
    )
    .await;
    refused_on_acme(&server, &held).await;

    // Nothing of Globex's was spent or ended by the refused attempts.
    let resp = server
        .http
        .post(server.url("/oauth2/introspect"))
        .basic_auth("globex-web", Some("globex-web-api-key-0001"))
        .form(&[("token", held.jwt.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(resp, 200).await["active"], true);
    let resp = server
        .token_as(
            Some(("globex-web", "globex-web-api-key-0001")),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &held.refresh),
            ],
        )
        .await;
    assert_eq!(resp.status(), 200, "the refresh token was not spent");
    let resp = jfw_devices(&server, "globex.example.com", &held).await;
    assert_eq!(resp.status(), 200);
    let resp = server
        .http
        .post(server.url("/api/v1/users/auth/refresh-auth-key"))
        .header("Brand-URL", "globex.example.com")
        .json(&json!({"refreshAuthKey": held.jfw_refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the JFW refresh key was not spent");
    let resp = jrni_logout(&server, "globex-web", &held.jrni).await;
    assert_eq!(resp.status(), 200, "the JRNI token was still live");
}

async fn expired_tokens_and_keys_are_refused_by_every_api() {
    // ACME's tokens (the first [tenants.tokens]) live at most two seconds: `exp` is in whole
    // seconds, so a token lives between its TTL less one second and its TTL. Two, not one, so
    // that the fresh token at the end outlives its introspection; the wait below outlasts both.
    let file = two_tenants().replacen(
        "refresh_retry_window = \"1s\"\n",
        "refresh_retry_window = \"1s\"\naccess_ttl = \"2s\"\nopaque_idle_ttl = \"1s\"\n",
        1,
    );
    assert!(file.contains("access_ttl"));
    let setup = Setup {
        env: vec![
            ("PORTCULLIS_DIALECTS__OPENLOYALTY__TENANT", "acme".into()),
            ("PORTCULLIS_DIALECTS__OPENLOYALTY__ACCESS_TTL", "1s".into()),
            ("PORTCULLIS_DIALECTS__JFW__ACCESS_TTL", "1s".into()),
        ],
        ..Setup::default()
    };
    let server = Server::with_setup(&file, setup).await;
    let held = sign_in_everywhere(
        &server,
        ("acme-web", API_KEY),
        "alice@example.com",
        "acme.example.com",
    )
    .await;
    let kid = jsonwebtoken::decode_header(&held.jwt).unwrap().kid.unwrap();
    let resp = server
        .http
        .post(server.url("/api/admin/login_check"))
        .form(&[("username", "oscar@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let ol = json_of(resp, 200).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Every API's logins are audited with the client's address (Open Loyalty's too).
    let out = server
        .cli(&["audit", "--action", "login.succeeded", "--json"])
        .await;
    let logins: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        logins.len(),
        4,
        "native, JRNI, JFW, Open Loyalty: {}",
        out.stdout
    );
    assert!(
        logins.iter().all(|e| e["ip"] == "127.0.0.1"),
        "{}",
        out.stdout
    );
    // The key that signed them is retired now; it stays published while its tokens live.
    let out = server.cli(&["key", "rotate", "--tenant", "acme"]).await;
    assert!(out.ok, "{}", out.stderr);
    tokio::time::sleep(Duration::from_millis(2100)).await;

    assert_eq!(server.introspect(&held.jwt).await["active"], false);
    let resp = server
        .http
        .get(server.url("/oauth2/userinfo"))
        .bearer_auth(&held.jwt)
        .send()
        .await
        .unwrap();
    expect_error(resp, 401, "invalid_token", "invalid_token").await;
    let resp = acme_djust(server.http.get(server.url("/auth/is-token-valid")))
        .query(&[("token", held.jwt.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(resp, 200).await, json!(false));
    let resp = jrni_logout(&server, "acme-web", &held.jrni).await;
    assert_eq!(json_of(resp, 401).await["error"], "401 Unauthorized");
    let resp = server
        .http
        .get(server.url("/api/token/revoke"))
        .bearer_auth(&ol)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(resp, 401).await["message"], "Expired JWT Token");
    let resp = jfw_devices(&server, "acme.example.com", &held).await;
    assert_eq!(json_of(resp, 401).await["success"], false);

    // New tokens are signed by the new key; the old key is still published (for 24 hours at
    // least: docs/operations.md) but what it signed has expired, and is refused above.
    let fresh = server.login_alice().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(
        jsonwebtoken::decode_header(&fresh).unwrap().kid.unwrap(),
        kid
    );
    assert_eq!(server.introspect(&fresh).await["active"], true);
}

crate::on_both_stores!(
    another_tenants_tokens_are_refused_by_every_api_and_change_nothing,
    expired_tokens_and_keys_are_refused_by_every_api,
);
