//! The JRNI dialect with a real HTTP client: logins, logout, permission types, errors.

use crate::support::*;
use reqwest::{RequestBuilder, Response};
use serde_json::{Value, json};

const APP_ID: &str = "jrni-booking";

/// Two companies (37000 and 37001) of one company group, an administrator of each, and two
/// members.
const JRNI: &str = r#"
version = 1
[[tenants]]
slug = "jr"
name = "JRNI Group"
[[tenants.stores]]
code = "C37000"
company_id = 37000
name = "Downtown"
default = true
[[tenants.stores]]
code = "C37001"
company_id = 37001
name = "Uptown"
[[tenants.apps]]
client_id = "jrni-booking"
api_key = "jrni-booking-secret-0001"
kinds = ["operator", "customer", "guest"]
redirect_hosts = ["book.example.com"]
[[tenants.users]]
kind = "operator"
email = "admin@downtown.example.com"
password = "Str0ng!Passw0rd"
store = "C37000"
[[tenants.users]]
kind = "operator"
email = "admin@uptown.example.com"
password = "Str0ng!Passw0rd"
store = "C37001"
[[tenants.users]]
kind = "customer"
email = "mia@example.com"
password = "Str0ng!Passw0rd"
[[tenants.users]]
kind = "customer"
email = "max@example.com"
password = "Str0ng!Passw0rd"
"#;

fn with_app(req: RequestBuilder) -> RequestBuilder {
    req.header("App-Id", APP_ID)
}

async fn login(server: &Server, path: &str, email: &str) -> Response {
    with_app(server.http.post(server.url(path)))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
}

/// Logs in and returns (token from the header, body).
async fn token(server: &Server, path: &str, email: &str) -> (String, Value) {
    let resp = login(server, path, email).await;
    assert_eq!(resp.status(), 200, "{path} {email}");
    let header = resp.headers()["auth-token"].to_str().unwrap().to_owned();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["auth_token"],
        header.as_str(),
        "the same token in body and header"
    );
    (header, body)
}

async fn get(server: &Server, path: &str, token: Option<&str>) -> Response {
    let mut req = with_app(server.http.get(server.url(path)));
    if let Some(t) = token {
        req = req.header("Auth-Token", t);
    }
    req.send().await.unwrap()
}

async fn jrni_error(resp: Response, status: u16) {
    assert_eq!(resp.status().as_u16(), status);
    let body: Value = resp.json().await.unwrap();
    let reason = reqwest::StatusCode::from_u16(status)
        .unwrap()
        .canonical_reason()
        .unwrap();
    assert_eq!(body["error"], format!("{status} {reason}"), "{body}");
}

async fn logins_return_the_login_resource() {
    let server = Server::with(JRNI).await;
    let (_, admin) = token(&server, "/api/v5/login/admin", "admin@downtown.example.com").await;
    assert_eq!(admin["company_id"], 37000);
    assert_eq!(admin["role"], "owner");
    assert_eq!(
        admin["_embedded"]["administrators"][0]["company_name"],
        "Downtown"
    );
    assert_eq!(admin["_links"]["administrator"]["templated"], true);
    let (_, admin2) = token(
        &server,
        "/api/v5/login/admin/37001",
        "admin@uptown.example.com",
    )
    .await;
    assert_eq!(admin2["company_id"], 37001);
    let (_, member) = token(&server, "/api/v5/login/member", "mia@example.com").await;
    assert_eq!(
        member["_embedded"]["members"][0]["email"],
        "mia@example.com"
    );
    let (_, member2) = token(&server, "/api/v5/37001/login", "max@example.com").await;
    assert_eq!(member2["company_id"], 37001);
    // The generic login finds members and administrators alike.
    let (_, any_member) = token(&server, "/api/v5/login", "mia@example.com").await;
    assert!(any_member["_embedded"]["members"].is_array());
    let (_, any_admin) = token(&server, "/api/v5/login", "admin@uptown.example.com").await;
    assert!(any_admin["_embedded"]["administrators"].is_array());

    // Logout: the token stops working at once.
    let (t, body) = token(&server, "/api/v5/login/member", "mia@example.com").await;
    let me = format!(
        "/api/v5/37000/members/{}",
        body["_embedded"]["members"][0]["id"].as_i64().unwrap()
    );
    assert_eq!(get(&server, &me, Some(&t)).await.status(), 200);
    let out = with_app(server.http.delete(server.url("/api/v5/login")))
        .header("Auth-Token", &t)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 200);
    jrni_error(get(&server, &me, Some(&t)).await, 401).await;
    let again = with_app(server.http.delete(server.url("/api/v5/login")))
        .header("Auth-Token", &t)
        .send()
        .await
        .unwrap();
    jrni_error(again, 401).await;

    let doc: Value = server.get_json("/openapi/jrni.json").await;
    assert!(
        doc["paths"]["/api/v5/login"]["post"].is_object()
            && doc["paths"]["/api/v5/login"]["delete"].is_object()
    );
}

async fn permission_types_are_enforced() {
    let server = Server::with(JRNI).await;
    let (downtown, d) = token(&server, "/api/v5/login/admin", "admin@downtown.example.com").await;
    let (uptown, u) = token(&server, "/api/v5/login/admin", "admin@uptown.example.com").await;
    let (mia, m) = token(&server, "/api/v5/login/member", "mia@example.com").await;
    let (_, x) = token(&server, "/api/v5/login/member", "max@example.com").await;
    let id = |v: &Value, list: &str| v["_embedded"][list][0]["id"].as_i64().unwrap().to_string();
    assert!(
        d["_embedded"]["administrators"][0]["id"].is_i64(),
        "integer ids, as JRNI clients expect"
    );
    let (d_id, u_id, mia_id, max_id) = (
        id(&d, "administrators"),
        id(&u, "administrators"),
        id(&m, "members"),
        id(&x, "members"),
    );

    // Administrators: an Admin token of that company only.
    assert_eq!(
        get(
            &server,
            &format!("/api/v5/37000/administrators/{d_id}"),
            Some(&downtown)
        )
        .await
        .status(),
        200
    );
    jrni_error(
        get(
            &server,
            &format!("/api/v5/37000/administrators/{d_id}"),
            Some(&uptown),
        )
        .await,
        403,
    )
    .await;
    jrni_error(
        get(
            &server,
            &format!("/api/v5/37001/administrators/{u_id}"),
            Some(&downtown),
        )
        .await,
        403,
    )
    .await;
    jrni_error(
        get(
            &server,
            &format!("/api/v5/37000/administrators/{d_id}"),
            Some(&mia),
        )
        .await,
        403,
    )
    .await;
    jrni_error(
        get(
            &server,
            &format!("/api/v5/37000/administrators/{d_id}"),
            None,
        )
        .await,
        401,
    )
    .await;
    jrni_error(
        get(
            &server,
            &format!("/api/v5/37000/administrators/{u_id}"),
            Some(&downtown),
        )
        .await,
        404,
    )
    .await;

    // Members: the member's own token, or an Admin of the company.
    let body: Value = get(
        &server,
        &format!("/api/v5/37000/members/{mia_id}"),
        Some(&mia),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["email"], "mia@example.com");
    jrni_error(
        get(
            &server,
            &format!("/api/v5/37000/members/{max_id}"),
            Some(&mia),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(
        get(
            &server,
            &format!("/api/v5/37000/members/{max_id}"),
            Some(&downtown)
        )
        .await
        .status(),
        200
    );
    jrni_error(
        get(
            &server,
            &format!("/api/v5/37000/members/{max_id}"),
            Some(&uptown),
        )
        .await,
        403,
    )
    .await;
    jrni_error(
        get(
            &server,
            &format!("/api/v5/37000/members/{mia_id}"),
            Some("forged-token"),
        )
        .await,
        401,
    )
    .await;
}

async fn every_error_answers_in_the_dialect_shape() {
    let server = Server::with(JRNI).await;
    let body = json!({"email": "mia@example.com", "password": PASSWORD});
    let resp = server
        .http
        .post(server.url("/api/v5/login/member"))
        .json(&body)
        .send()
        .await
        .unwrap();
    jrni_error(resp, 401).await;
    let resp = server
        .http
        .post(server.url("/api/v5/login/member"))
        .header("App-Id", "unknown-app")
        .json(&body)
        .send()
        .await
        .unwrap();
    jrni_error(resp, 401).await;
    let resp = with_app(server.http.post(server.url("/api/v5/login/member")))
        .json(&json!({"email": "mia@example.com", "password": "Wr0ng-Passw0rd!"}))
        .send()
        .await
        .unwrap();
    jrni_error(resp, 401).await;
    let resp = with_app(server.http.post(server.url("/api/v5/login/member")))
        .json(&json!({"email": "nobody@example.com", "password": "Wr0ng-Passw0rd!"}))
        .send()
        .await
        .unwrap();
    jrni_error(resp, 401).await;
    // A member is not an administrator, and an administrator logs in to their own company only.
    jrni_error(
        login(&server, "/api/v5/login/admin", "mia@example.com").await,
        401,
    )
    .await;
    jrni_error(
        login(
            &server,
            "/api/v5/login/admin/37001",
            "admin@downtown.example.com",
        )
        .await,
        403,
    )
    .await;
    jrni_error(
        login(
            &server,
            "/api/v5/login/admin/99999",
            "admin@downtown.example.com",
        )
        .await,
        404,
    )
    .await;
    let resp = with_app(server.http.post(server.url("/api/v5/login/member")))
        .body("{not json")
        .send()
        .await
        .unwrap();
    jrni_error(resp, 400).await;
    let resp = with_app(server.http.post(server.url("/api/v5/login/member")))
        .json(&json!({"email": "mia@example.com"}))
        .send()
        .await
        .unwrap();
    jrni_error(resp, 400).await;
    // A token needs its App-Id too.
    let (t, m) = token(&server, "/api/v5/login/member", "mia@example.com").await;
    let me = format!(
        "/api/v5/37000/members/{}",
        m["_embedded"]["members"][0]["id"].as_i64().unwrap()
    );
    let resp = server
        .http
        .get(server.url(&me))
        .header("Auth-Token", &t)
        .send()
        .await
        .unwrap();
    jrni_error(resp, 401).await;
    assert_eq!(
        server.sessions_of("jr").await,
        1,
        "only the one good login opened a session"
    );
}

#[tokio::test]
async fn the_dialect_can_be_switched_off() {
    let off = Setup {
        env: vec![("PORTCULLIS_DIALECTS__JRNI__ENABLED", "false".into())],
        ..Setup::default()
    };
    let server = Server::with_setup(JRNI, off).await;
    assert_eq!(
        login(&server, "/api/v5/login/member", "mia@example.com")
            .await
            .status(),
        404
    );
    let moved = Setup {
        env: vec![("PORTCULLIS_DIALECTS__JRNI__PREFIX", "/jrni".into())],
        ..Setup::default()
    };
    let server = Server::with_setup(JRNI, moved).await;
    assert_eq!(
        login(&server, "/jrni/api/v5/login/member", "mia@example.com")
            .await
            .status(),
        200
    );
}

async fn post_json(server: &Server, path: &str, token: Option<&str>, body: &Value) -> Response {
    let mut req = with_app(server.http.post(server.url(path))).json(body);
    if let Some(t) = token {
        req = req.header("Auth-Token", t);
    }
    req.send().await.unwrap()
}

async fn baskets_belong_to_their_token_and_purchases_to_their_buyer() {
    let server = Server::with(JRNI).await;
    let item = json!({"service_id": 12, "date": "2026-12-01", "time": 600});

    // A visitor without a token gets a basket and the guest token that owns it.
    let resp = post_json(&server, "/api/v5/37000/basket/add_item", None, &item).await;
    assert_eq!(resp.status(), 201);
    let guest = resp.headers()["auth-token"].to_str().unwrap().to_owned();
    let first: Value = resp.json().await.unwrap();
    let resp = post_json(
        &server,
        "/api/v5/37000/basket/add_item",
        Some(&guest),
        &item,
    )
    .await;
    assert_eq!(resp.status(), 201);
    assert!(
        resp.headers().get("auth-token").is_none(),
        "no new token for a known basket"
    );
    let same: Value = resp.json().await.unwrap();
    assert_eq!(same["id"], first["id"]);
    assert_eq!(same["service_items"].as_array().unwrap().len(), 2);

    // Another visitor's basket (newer API) is not this token's.
    let resp = post_json(
        &server,
        "/api/v5/baskets",
        None,
        &json!({"company_id": 37000}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let other_token = resp.headers()["auth-token"].to_str().unwrap().to_owned();
    let other: Value = resp.json().await.unwrap();
    let other_items = format!(
        "/api/v5/baskets/{}/service_items",
        other["id"].as_str().unwrap()
    );
    jrni_error(
        post_json(&server, &other_items, Some(&guest), &item).await,
        403,
    )
    .await;
    assert_eq!(
        post_json(&server, &other_items, Some(&other_token), &item)
            .await
            .status(),
        201
    );
    jrni_error(post_json(&server, &other_items, None, &item).await, 401).await;

    // Checkout: a purchase readable with its long id alone.
    let resp = post_json(
        &server,
        "/api/v5/37000/basket/checkout",
        Some(&guest),
        &json!({"client": {"name": "Guest"}}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let purchase: Value = resp.json().await.unwrap();
    let long_id = purchase["long_id"].as_str().unwrap().to_owned();
    assert!(long_id.len() >= 32, "an unguessable long id");
    let read: Value = get(&server, &format!("/api/v5/purchases/{long_id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["items"].as_array().unwrap().len(), 2);
    jrni_error(
        get(
            &server,
            "/api/v5/purchases/aGuessedLongIdAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            None,
        )
        .await,
        404,
    )
    .await;
    // The basket is closed: the guest token has no basket any more, and checkout is once.
    jrni_error(
        post_json(
            &server,
            "/api/v5/37000/basket/add_item",
            Some(&guest),
            &item,
        )
        .await,
        403,
    )
    .await;
    let again = format!("/api/v5/baskets/{}/checkout", first["id"].as_str().unwrap());
    jrni_error(
        post_json(&server, &again, Some(&guest), &json!({})).await,
        409,
    )
    .await;

    // A member's purchase needs the member's token.
    let (mia, _) = token(&server, "/api/v5/login/member", "mia@example.com").await;
    let (max, _) = token(&server, "/api/v5/login/member", "max@example.com").await;
    assert_eq!(
        post_json(&server, "/api/v5/37000/basket/add_item", Some(&mia), &item)
            .await
            .status(),
        201
    );
    let resp = post_json(
        &server,
        "/api/v5/37000/basket/checkout",
        Some(&mia),
        &json!({}),
    )
    .await;
    let bought: Value = resp.json().await.unwrap();
    let path = format!("/api/v5/purchases/{}", bought["long_id"].as_str().unwrap());
    jrni_error(get(&server, &path, None).await, 401).await;
    jrni_error(get(&server, &path, Some(&max)).await, 403).await;
    assert_eq!(get(&server, &path, Some(&mia)).await.status(), 200);

    // Bad input.
    jrni_error(
        post_json(&server, "/api/v5/99999/basket/add_item", None, &item).await,
        404,
    )
    .await;
    jrni_error(
        post_json(
            &server,
            "/api/v5/37000/basket/add_item",
            None,
            &json!([1, 2]),
        )
        .await,
        400,
    )
    .await;
    jrni_error(
        post_json(&server, "/api/v5/baskets", None, &json!({})).await,
        400,
    )
    .await;
    let resp = server
        .http
        .post(server.url("/api/v5/37000/basket/add_item"))
        .json(&item)
        .send()
        .await
        .unwrap();
    jrni_error(resp, 401).await;
}

async fn a_member_resets_the_password_by_email() {
    let smtp = crate::smtp::SmtpServer::start().await;
    let setup = Setup {
        env: vec![("PORTCULLIS_SMTP__URL", smtp.url())],
        ..Setup::default()
    };
    let server = Server::with_setup(JRNI, setup).await;
    let path = "/api/v5/login/37000/email_password_reset";
    let unknown: Value = post_json(&server, path, None, &json!({"email": "nobody@example.com"}))
        .await
        .json()
        .await
        .unwrap();
    let resp = post_json(&server, path, None, &json!({"email": "mia@example.com"})).await;
    assert_eq!(resp.status(), 200);
    let known: Value = resp.json().await.unwrap();
    assert_eq!(unknown, known, "the same answer either way");
    let mail = smtp.wait_for(1).await.remove(0);
    assert!(
        crate::smtp::decoded(&mail)
            .contains("https://book.example.com/reset-password?company_id=37000&token=")
    );
    let token = crate::smtp::token_in(&mail);
    let resp = server
        .http
        .post(server.url("/v1/password/reset"))
        .basic_auth("jrni-booking", Some("jrni-booking-secret-0001"))
        .json(&json!({"token": token, "new_password": "N3w-Passw0rd!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = with_app(server.http.post(server.url("/api/v5/login/member")))
        .json(&json!({"email": "mia@example.com", "password": "N3w-Passw0rd!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    jrni_error(
        post_json(
            &server,
            "/api/v5/login/99999/email_password_reset",
            None,
            &json!({"email": "mia@example.com"}),
        )
        .await,
        404,
    )
    .await;
    jrni_error(post_json(&server, path, None, &json!({})).await, 400).await;
    assert_eq!(smtp.messages().len(), 1, "no mail for unknown addresses");
}

crate::on_both_stores!(
    a_member_resets_the_password_by_email,
    baskets_belong_to_their_token_and_purchases_to_their_buyer,
    logins_return_the_login_resource,
    permission_types_are_enforced,
    every_error_answers_in_the_dialect_shape
);
