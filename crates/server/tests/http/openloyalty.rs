//! The Open Loyalty dialect with a real HTTP client and the seed's example requests (form
//! bodies as the seed writes them; JSON too), RS256 JWTs checked against the JWKS, and the
//! reset flow through a real SMTP server.

use crate::smtp::{SmtpServer, token_in};
use crate::support::*;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use reqwest::Response;
use serde_json::{Value, json};
use std::time::Duration;

const OL: &str = r#"
version = 1
[[tenants]]
slug = "ol"
name = "Loyalty Program"
signing_alg = "RS256"
[[tenants.stores]]
code = "DEFAULT"
default = true
[[tenants.apps]]
client_id = "ol-console"
api_key = "ol-console-secret-0001"
kinds = ["operator", "customer"]
redirect_hosts = ["loyalty.example.com"]
[[tenants.users]]
kind = "operator"
email = "admin@example.com"
username = "admin"
password = "Str0ng!Passw0rd"
[[tenants.users]]
kind = "customer"
email = "user@example.com"
password = "Str0ng!Passw0rd"
"#;

async fn form(
    server: &Server,
    path: &str,
    bearer: Option<&str>,
    params: &[(&str, &str)],
) -> Response {
    let mut req = server
        .http
        .post(server.url(path))
        .header("Accept", "application/json")
        .form(params);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn ol_error(resp: Response, status: u16, message: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], status, "{body}");
    assert_eq!(body["message"], message, "{body}");
    body
}

async fn verify(server: &Server, token: &str) -> Value {
    let jwks: JwkSet = server.get_json_as("/.well-known/jwks.json").await;
    let header = decode_header(token).unwrap();
    assert_eq!(format!("{:?}", header.alg), "RS256");
    let jwk = jwks.find(&header.kid.unwrap()).unwrap();
    let mut v = Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&["ol"]);
    decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .unwrap()
        .claims
}

async fn login_customer(server: &Server) -> Value {
    let resp = form(
        server,
        "/api/DEFAULT/member/login_check",
        None,
        &[("username", "user@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn logins_refresh_and_revoke() {
    let server = Server::with(OL).await;
    // Admin, form-encoded with Symfony's field names, and JSON.
    let resp = form(
        &server,
        "/api/admin/login_check",
        None,
        &[("_username", "admin@example.com"), ("_password", PASSWORD)],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let admin: Value = resp.json().await.unwrap();
    let claims = verify(&server, admin["token"].as_str().unwrap()).await;
    assert_eq!(claims["roles"], json!(["ROLE_ADMIN"]));
    assert_eq!(claims["username"], "admin", "the username, else the e-mail");
    assert!(claims["id"].is_string() && claims["lastLoginAt"].is_string());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        86_400,
        "24 h JWTs"
    );
    let resp = server
        .http
        .post(server.url("/api/admin/login_check"))
        .json(&json!({"username": "admin@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // Customer, and the alias.
    let customer = login_customer(&server).await;
    assert_eq!(
        verify(&server, customer["token"].as_str().unwrap()).await["roles"],
        json!(["ROLE_PARTICIPANT"])
    );
    let alias = form(
        &server,
        "/api/DEFAULT/customer/login_check",
        None,
        &[("username", "user@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(alias.status(), 200);

    // Refresh, admin and customer.
    let resp = form(
        &server,
        "/api/token/refresh",
        None,
        &[("refresh_token", admin["refresh_token"].as_str().unwrap())],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let renewed: Value = resp.json().await.unwrap();
    assert_ne!(renewed["refresh_token"], admin["refresh_token"]);
    let resp = form(
        &server,
        "/api/DEFAULT/token/refresh",
        None,
        &[("refresh_token", customer["refresh_token"].as_str().unwrap())],
    )
    .await;
    assert_eq!(resp.status(), 200);

    // Revoke: the JWT and every refresh token of the user end.
    let other_session = login_customer(&server).await;
    let token = other_session["token"].as_str().unwrap();
    let resp = server
        .http
        .get(server.url("/api/token/revoke"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().is_empty(), "no content");
    let resp = server
        .http
        .get(server.url("/api/token/revoke"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    ol_error(resp, 401, "Invalid JWT Token").await;
    let resp = form(
        &server,
        "/api/DEFAULT/token/refresh",
        None,
        &[("refresh_token", alias_refresh(&server).await.as_str())],
    )
    .await;
    assert_eq!(
        resp.status(),
        200,
        "a session opened after the revoke works"
    );
    let old = form(
        &server,
        "/api/DEFAULT/token/refresh",
        None,
        &[(
            "refresh_token",
            other_session["refresh_token"].as_str().unwrap(),
        )],
    )
    .await;
    assert_eq!(old.status(), 401);
    let doc: Value = server.get_json("/openapi/openloyalty.json").await;
    assert!(doc["paths"]["/api/password/reset"].is_object());
}

async fn alias_refresh(server: &Server) -> String {
    login_customer(server).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn errors_in_open_loyalty_shapes() {
    let server = Server::with(OL).await;
    let wrong = form(
        &server,
        "/api/admin/login_check",
        None,
        &[
            ("username", "admin@example.com"),
            ("password", "Wr0ng-Passw0rd!"),
        ],
    )
    .await;
    ol_error(wrong, 401, "Bad credentials").await;
    let unknown = form(
        &server,
        "/api/DEFAULT/member/login_check",
        None,
        &[
            ("username", "nobody@example.com"),
            ("password", "Wr0ng-Passw0rd!"),
        ],
    )
    .await;
    ol_error(unknown, 401, "Bad credentials").await;
    let store = form(
        &server,
        "/api/NOPE/member/login_check",
        None,
        &[("username", "user@example.com"), ("password", PASSWORD)],
    )
    .await;
    ol_error(store, 404, "Store not found").await;
    let refresh = form(
        &server,
        "/api/token/refresh",
        None,
        &[("refresh_token", "forged")],
    )
    .await;
    assert_eq!(refresh.status(), 401);
    let resp = server
        .http
        .get(server.url("/api/token/revoke"))
        .send()
        .await
        .unwrap();
    ol_error(resp, 401, "JWT Token not found").await;
    let resp = server
        .http
        .get(server.url("/api/token/revoke"))
        .bearer_auth("a.b.c")
        .send()
        .await
        .unwrap();
    ol_error(resp, 401, "Invalid JWT Token").await;
    let resp = server
        .http
        .post(server.url("/api/admin/login_check"))
        .header("content-type", "application/json")
        .body("{\"username\":")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        server.sessions_of("ol").await,
        0,
        "no failed request opened a session"
    );
}

async fn reset_and_change_passwords() {
    let smtp = SmtpServer::start().await;
    let setup = Setup {
        env: vec![("PORTCULLIS_SMTP__URL", smtp.url())],
        ..Setup::default()
    };
    let server = Server::with_setup(OL, setup).await;
    // The seed's reset request (its Authorization header is an example value; not needed).
    let resp = form(
        &server,
        "/api/DEFAULT/customer/password/reset/request",
        Some("eyJhbGciOiJSUzI1NiIsInR5cCI6"),
        &[("username", "user@example.com")],
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"success": true})
    );
    let unknown = form(
        &server,
        "/api/DEFAULT/customer/password/reset/request",
        None,
        &[("username", "nobody@example.com")],
    )
    .await;
    assert_eq!(
        unknown.json::<Value>().await.unwrap(),
        json!({"success": true})
    );
    let empty = form(
        &server,
        "/api/password/reset/request",
        None,
        &[("username", "")],
    )
    .await;
    assert_eq!(empty.status(), 400);
    assert_eq!(
        empty.json::<Value>().await.unwrap(),
        json!({"error": "field \"username\" should not be empty"})
    );
    let token = token_in(&smtp.wait_for(1).await[0]);
    // The seed's admin reset request names the admin by username; the mail goes to the
    // address on file.
    let admin = form(
        &server,
        "/api/password/reset/request",
        None,
        &[("username", "admin")],
    )
    .await;
    assert_eq!(
        admin.json::<Value>().await.unwrap(),
        json!({"success": true})
    );
    let mails = smtp.wait_for(2).await;
    assert!(
        mails
            .iter()
            .any(|m| crate::smtp::recipient(m) == "admin@example.com")
    );
    // A second request while one is pending is refused, for known and unknown addresses alike.
    let pending = json!({"error": "resetting password already requested"});
    for who in ["user@example.com", "nobody@example.com"] {
        let again = form(
            &server,
            "/api/DEFAULT/customer/password/reset/request",
            None,
            &[("username", who)],
        )
        .await;
        assert_eq!(again.status(), 400, "{who}");
        assert_eq!(again.json::<Value>().await.unwrap(), pending);
    }

    // The seed's own new password lacks an upper-case letter: the form error says exactly that.
    let resp = form(
        &server,
        "/api/password/reset",
        None,
        &[("reset[plainPassword]", "example123!@#"), ("token", &token)],
    )
    .await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["form"]["children"]["plainPassword"]["errors"],
        json!(["Your password must include both upper and lower case letters."])
    );
    let resp = form(
        &server,
        "/api/password/reset",
        None,
        &[("reset[plainPassword]", "abc"), ("token", &token)],
    )
    .await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["form"]["children"]["plainPassword"]["errors"],
        json!([
            "Your password must be at least 8 characters long.",
            "Your password must include both upper and lower case letters.",
            "Your password must include at least one number.",
            "Your password must contain at least one special character."
        ]),
        "every violation, in Open Loyalty's order"
    );
    let missing = form(
        &server,
        "/api/password/reset",
        None,
        &[("reset[plainPassword]", "Example123!@#")],
    )
    .await;
    assert_eq!(
        missing.json::<Value>().await.unwrap(),
        json!({"error": "field \"token\" should not be empty"})
    );
    // JSON works as well as the form.
    let resp = server
        .http
        .post(server.url("/api/password/reset"))
        .json(&json!({"token": token, "reset": {"plainPassword": "Example123!@#"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let again = form(
        &server,
        "/api/password/reset",
        None,
        &[("reset[plainPassword]", "Example123!@#"), ("token", &token)],
    )
    .await;
    assert_eq!(again.status(), 404);
    // Once the reset is done, a new request is accepted.
    let next = form(
        &server,
        "/api/DEFAULT/customer/password/reset/request",
        None,
        &[("username", "user@example.com")],
    )
    .await;
    assert_eq!(next.status(), 200);
    let unknown = form(
        &server,
        "/api/password/reset",
        None,
        &[
            ("reset[plainPassword]", "Example123!@#"),
            ("token", "AIENe11JjR2kj3XGiWuZmQ88gZYAgM7VR5inxtbswaY"),
        ],
    )
    .await;
    assert_eq!(unknown.status(), 404);

    // Change, with the new password as the current one.
    let login = form(
        &server,
        "/api/DEFAULT/member/login_check",
        None,
        &[
            ("username", "user@example.com"),
            ("password", "Example123!@#"),
        ],
    )
    .await;
    let jwt = login.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let change = |current: &str, new: &str| {
        let params = [
            ("currentPassword", current.to_owned()),
            ("plainPassword", new.to_owned()),
        ];
        let req = server
            .http
            .post(server.url("/api/DEFAULT/customer/password/change"))
            .bearer_auth(&jwt)
            .form(&params);
        async move { req.send().await.unwrap() }
    };
    let resp = change("Wr0ng-Passw0rd!", "Example321!@#").await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["form"]["children"]["currentPassword"]["errors"],
        json!(["This value should be the user's current password."])
    );
    let resp = change("Example123!@#", "example321!@#").await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["form"]["children"]["plainPassword"]["errors"],
        json!(["Your password must include both upper and lower case letters."])
    );
    let resp = change("Example123!@#", "Example321!@#").await;
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"success": true})
    );
    let admin_route = server
        .http
        .post(server.url("/api/DEFAULT/admin/password/change"))
        .bearer_auth(&jwt)
        .form(&[
            ("currentPassword", "Example321!@#"),
            ("plainPassword", "Example999!@#"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        admin_route.status(),
        403,
        "a customer's token on the admin route"
    );
}

#[tokio::test]
async fn an_expired_jwt_says_so() {
    let setup = Setup {
        env: vec![("PORTCULLIS_DIALECTS__OPENLOYALTY__ACCESS_TTL", "1s".into())],
        ..Setup::default()
    };
    let server = Server::with_setup(OL, setup).await;
    let token = login_customer(&server).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let resp = server
        .http
        .get(server.url("/api/token/revoke"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    ol_error(resp, 401, "Expired JWT Token").await;
}

/// Without a configured tenant, the request's host picks the tenant by its brand URLs.
#[tokio::test]
async fn the_host_selects_the_tenant_when_none_is_configured() {
    let second = r#"
[[tenants]]
slug = "ol2"
name = "Second Program"
signing_alg = "RS256"
brand_urls = ["loyalty2.example.com"]
[[tenants.stores]]
code = "DEFAULT"
default = true
[[tenants.apps]]
client_id = "ol2-console"
api_key = "ol2-console-secret-0001"
kinds = ["customer"]
[[tenants.users]]
kind = "customer"
email = "user@example.com"
password = "Str0ng!Passw0rd"
"#;
    let server = Server::with(&format!("{OL}{second}")).await;
    let login = |host: &'static str| {
        let req = server
            .http
            .post(server.url("/api/DEFAULT/member/login_check"))
            .header("host", host)
            .form(&[("username", "user@example.com"), ("password", PASSWORD)]);
        async move { req.send().await.unwrap() }
    };
    let resp = login("loyalty2.example.com").await;
    assert_eq!(resp.status(), 200);
    let token: Value = resp.json().await.unwrap();
    let payload = token["token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["tenant"], "ol2");
    assert_eq!(
        login("unknown.example.com").await.status(),
        404,
        "two tenants, none chosen"
    );
}

crate::on_both_stores!(
    logins_refresh_and_revoke,
    errors_in_open_loyalty_shapes,
    reset_and_change_passwords
);
