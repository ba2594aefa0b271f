//! The JFW dialect over HTTP: `Brand-URL` (and `BrandUrl`), opaque auth keys, refresh,
//! register, logout, devices bound to sessions and unbound when they end, limits, and the
//! envelope with correlation ids on every error.

use crate::support::*;
use portcullis_core::Timestamp;
use portcullis_core::ids::TenantId;
use reqwest::{RequestBuilder, Response};
use serde_json::{Value, json};
use std::time::Duration;

const BRAND: &str = "acme.example.com";

fn post(server: &Server, path: &str) -> RequestBuilder {
    server
        .http
        .post(server.url(path))
        .header("Brand-URL", BRAND)
}

async fn auth(server: &Server, login: &str, password: &str) -> Response {
    post(server, "/api/v1/users/auth")
        .json(&json!({"username": login, "emailAddress": login, "password": password}))
        .send()
        .await
        .unwrap()
}

/// Checks the envelope of a failed answer and returns its first error item. The item's
/// correlation id is the response header's, and appears in the server's log.
async fn expect_envelope_error(server: &Server, resp: Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    let cid = resp
        .headers()
        .get("x-correlation-id")
        .expect("a correlation id header")
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["statusCode"], status, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(body["data"], Value::Null, "{body}");
    let item = body["errors"][0].clone();
    assert_eq!(item["code"], code, "{body}");
    assert_eq!(item["correlationId"], cid.as_str(), "{body}");
    eventually("the correlation id in the log", || async {
        server.logs().contains(&cid)
    })
    .await;
    item
}

async fn tenant_id(server: &Server) -> TenantId {
    let store = server.open_store().await;
    let tenants = store.list_tenants().await.unwrap();
    tenants.iter().find(|t| t.slug == "acme").unwrap().id
}

async fn sign_in_refresh_and_out_with_a_device() {
    let server = Server::with(ACME).await;
    let before = Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    // The seed's request, with the device headers.
    let resp = post(&server, "/api/v1/users/auth")
        .header("X-Device-Code", "phone-1")
        .header("X-Device-Token", "fcm-token-1")
        .header("X-Device-Name", "Pixel 9")
        .header("X-App-Version-Number", "4.2.0")
        .header("X-Os-Device", "Android")
        .json(&json!({"username": "alice", "emailAddress": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["success"], true);
    assert_eq!(body["statusCode"], 200);
    assert_eq!(body["message"], "The request was successful.");
    assert_eq!(body["errors"], json!([]));
    let data = &body["data"];
    assert_eq!(data["username"], "alice");
    assert_eq!(data["emailAddress"], "alice@example.com");
    assert_eq!(data["phoneNumber"], "+33100000000");
    let user_id = data["id"].as_str().unwrap().to_owned();
    let auth_key = data["authKey"].as_str().unwrap().to_owned();
    let refresh_key = data["refreshAuthKey"].as_str().unwrap().to_owned();
    assert_ne!(auth_key, refresh_key);
    // One day by default.
    let expires = Timestamp::parse_rfc3339(data["expiresIn"].as_str().unwrap()).unwrap();
    let day = Duration::from_secs(86_400);
    assert!(expires >= before.plus(day) && expires <= before.plus(day + Duration::from_secs(60)));

    // The device is recorded and bound to Alice and the session, push token included.
    let store = server.open_store().await;
    let tenant = tenant_id(&server).await;
    let device = store.find_device(tenant, "phone-1").await.unwrap().unwrap();
    assert_eq!(device.push_token.as_deref(), Some("fcm-token-1"));
    assert_eq!(device.name.as_deref(), Some("Pixel 9"));
    assert_eq!(device.os.as_deref(), Some("Android"));
    assert_eq!(device.app_version.as_deref(), Some("4.2.0"));
    assert_eq!(device.user_id.map(|u| u.to_string()), Some(user_id.clone()));
    let first_session = device.session_id.unwrap();

    // The key works, with JFW's header aliases too; the user sees their device signed in.
    let list = server
        .http
        .get(server.url(&format!("/api/v1/users/{user_id}/devices")))
        .header("BrandUrl", "HTTPS://ACME.example.com:443/")
        .header("AuthKey", &auth_key)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);
    let list: Value = list.json().await.unwrap();
    assert_eq!(list["data"][0]["code"], "phone-1");
    assert_eq!(list["data"][0]["signedIn"], true);
    assert_eq!(list["data"][0]["userId"], user_id.as_str());
    assert!(
        list["data"][0].get("token").is_none(),
        "push tokens are never read back"
    );

    // Refresh: new keys; the app's new version and token are recorded on the device.
    let resp = post(&server, "/api/v1/users/auth/refresh-auth-key")
        .header("X-Device-Code", "phone-1")
        .header("X-Device-Token", "fcm-token-2")
        .header("X-App-Version-Number", "4.3.0")
        .json(&json!({"refreshAuthKey": refresh_key}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let auth_key2 = body["data"]["authKey"].as_str().unwrap().to_owned();
    let refresh_key2 = body["data"]["refreshAuthKey"].as_str().unwrap().to_owned();
    assert_ne!(auth_key2, auth_key);
    assert_ne!(refresh_key2, refresh_key);
    assert_eq!(body["data"]["id"], user_id.as_str());
    let device = store.find_device(tenant, "phone-1").await.unwrap().unwrap();
    assert_eq!(device.push_token.as_deref(), Some("fcm-token-2"));
    assert_eq!(device.app_version.as_deref(), Some("4.3.0"));
    assert_eq!(
        device.name.as_deref(),
        Some("Pixel 9"),
        "absent headers keep values"
    );
    assert_eq!(device.session_id, Some(first_session), "same session");

    // Logout ends the session: both keys refused, the push token unbound.
    let resp = post(&server, "/api/v1/users/logout")
        .header("Auth-Key", &auth_key2)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"], true);
    let device = store.find_device(tenant, "phone-1").await.unwrap().unwrap();
    assert_eq!(device.push_token, None);
    assert_eq!(device.session_id, None);
    assert_eq!(device.user_id.map(|u| u.to_string()), Some(user_id.clone()));
    for key in [&auth_key, &auth_key2] {
        let resp = post(&server, "/api/v1/users/logout")
            .header("Auth-Key", key)
            .send()
            .await
            .unwrap();
        expect_envelope_error(&server, resp, 401, "invalid_token").await;
    }
    let resp = post(&server, "/api/v1/users/auth/refresh-auth-key")
        .json(&json!({"refreshAuthKey": refresh_key2}))
        .send()
        .await
        .unwrap();
    expect_envelope_error(&server, resp, 401, "refresh_token_invalid").await;
}

async fn every_error_comes_in_the_envelope() {
    let server = Server::with(ACME).await;
    // 400: no Brand-URL, malformed JSON, missing fields.
    let resp = server
        .http
        .post(server.url("/api/v1/users/auth"))
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let item = expect_envelope_error(&server, resp, 400, "brand_url_required").await;
    assert_eq!(item["details"], "Brand-URL");
    let resp = post(&server, "/api/v1/users/auth")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect_envelope_error(&server, resp, 400, "malformed_json").await;
    let resp = post(&server, "/api/v1/users/auth")
        .json(&json!({"username": "alice"}))
        .send()
        .await
        .unwrap();
    let item = expect_envelope_error(&server, resp, 400, "password_required").await;
    assert_eq!(item["details"], "password");
    let resp = post(&server, "/api/v1/users/auth/refresh-auth-key")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_envelope_error(&server, resp, 400, "refresh_auth_key_required").await;

    // 405 and the like come in the envelope too.
    let resp = server
        .http
        .get(server.url("/api/v1/users/auth"))
        .header("Brand-URL", BRAND)
        .send()
        .await
        .unwrap();
    expect_envelope_error(&server, resp, 405, "method_not_allowed").await;

    // 401: wrong password and unknown user alike, in the seed's words.
    for (login, password) in [("alice", "Wr0ng-Passw0rd!"), ("nobody", PASSWORD)] {
        let resp = auth(&server, login, password).await;
        let item = expect_envelope_error(&server, resp, 401, "invalid_credentials").await;
        assert_eq!(item["message"], "The username or password incorrect.");
    }
    // 401: no Auth-Key, in JFW's words; an unknown key.
    let resp = post(&server, "/api/v1/users/logout").send().await.unwrap();
    let item = expect_envelope_error(&server, resp, 401, "auth_key_required").await;
    assert_eq!(
        item["message"],
        "The user is not authorized to access the requested resource. The request is missing the required Auth-Key header."
    );
    let resp = post(&server, "/api/v1/users/logout")
        .header("Auth-Key", "not-a-key")
        .send()
        .await
        .unwrap();
    expect_envelope_error(&server, resp, 401, "invalid_token").await;
    let resp = post(&server, "/api/v1/users/auth/refresh-auth-key")
        .json(&json!({"refreshAuthKey": "not-a-key"}))
        .send()
        .await
        .unwrap();
    expect_envelope_error(&server, resp, 401, "refresh_token_invalid").await;

    // 404: unknown brand; unknown device.
    let resp = server
        .http
        .post(server.url("/api/v1/users/auth"))
        .header("Brand-URL", "nobody.example.com")
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    expect_envelope_error(&server, resp, 404, "not_found").await;
    let resp = server
        .http
        .get(server.url("/api/v1/devices/by-code/unknown"))
        .header("Brand-URL", BRAND)
        .send()
        .await
        .unwrap();
    expect_envelope_error(&server, resp, 404, "not_found").await;

    // 409: registering a taken username; nothing else written.
    let resp = post(&server, "/api/v1/users/register")
        .json(
            &json!({"username": "alice", "emailAddress": "other@example.com", "password": PASSWORD,
                      "phoneNumber": "+33100000001", "firstName": "A", "lastName": "B"}),
        )
        .send()
        .await
        .unwrap();
    expect_envelope_error(&server, resp, 409, "user_exists").await;
    let store = server.open_store().await;
    let tenant = tenant_id(&server).await;
    let users = store.list_users(tenant, None).await.unwrap();
    assert_eq!(users.len(), 2, "no half-written user");

    // A JRNI-style token of the same tenant is not an auth key.
    let token = server.jrni_token().await;
    let resp = post(&server, "/api/v1/users/logout")
        .header("Auth-Key", &token)
        .send()
        .await
        .unwrap();
    expect_envelope_error(&server, resp, 401, "invalid_token").await;
    // Nor is an auth key a JRNI token: JRNI's logout refuses it and the key lives on.
    let key = server.jfw_sign_in().await["authKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = server
        .http
        .delete(server.url("/api/v5/login"))
        .header("App-Id", "acme-web")
        .header("Auth-Token", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = post(&server, "/api/v1/users/logout")
        .header("Auth-Key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

async fn ten_concurrent_wrong_passwords_lock_the_account() {
    let file = format!(
        "{ACME}\n[tenants.limits]\nper_account = 4\nper_account_ip = 100\nwindow = \"10m\"\n"
    );
    let server = Server::with(&file).await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let req = post(&server, "/api/v1/users/auth")
            .json(&json!({"username": "alice", "password": format!("Wr0ng-Guess-{i}!")}));
        tasks.push(tokio::spawn(async move {
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let retry = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            (status, retry, resp.json::<Value>().await.unwrap())
        }));
    }
    let (mut checked, mut limited) = (0, 0);
    for t in tasks {
        let (status, retry, body) = t.await.unwrap();
        match status {
            401 => checked += 1,
            429 => {
                assert!(retry.is_some_and(|s| (1..=600).contains(&s)), "{retry:?}");
                assert_eq!(body["success"], false);
                assert_eq!(body["statusCode"], 429);
                assert_eq!(
                    body["message"],
                    "API call exceeded rate limit due to too many requests."
                );
                assert_eq!(body["errors"][0]["code"], "rate_limited");
                limited += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(
        checked, 4,
        "no more than the limit reached the password check"
    );
    assert_eq!(limited, 6);
    // Locked: even the right password waits; an operator opens it again.
    let resp = auth(&server, "alice", PASSWORD).await;
    expect_envelope_error(&server, resp, 429, "rate_limited").await;
    let out = server
        .cli(&["user", "unlock", "--tenant", "acme", "--login", "alice"])
        .await;
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(auth(&server, "alice", PASSWORD).await.status(), 200);
}

async fn one_client_cannot_lock_an_account_for_everyone() {
    let file = format!("{ACME}\n[tenants.limits]\nper_account = 10\nper_account_ip = 2\n");
    let server = Server::with(&file).await;
    for _ in 0..2 {
        assert_eq!(auth(&server, "alice", "Wr0ng-Guess-0!").await.status(), 401);
    }
    let resp = auth(&server, "alice", PASSWORD).await;
    expect_envelope_error(&server, resp, 429, "rate_limited").await;
    // The same account from another address still signs in.
    let other = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let resp = other
        .post(server.url("/api/v1/users/auth"))
        .header("Brand-URL", BRAND)
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // The account was never locked, so a plain unlock leaves this address throttled; an
    // unlock naming the address ends that too.
    let unlock = ["user", "unlock", "--tenant", "acme", "--login", "alice"];
    assert!(server.cli(&unlock).await.ok);
    assert_eq!(auth(&server, "alice", PASSWORD).await.status(), 429);
    let out = server
        .cli(&[&unlock[..], &["--ip", "127.0.0.1"]].concat())
        .await;
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(auth(&server, "alice", PASSWORD).await.status(), 200);
}

async fn register_follows_the_brand_policy() {
    let file = ACME.replace(
        "brand_urls = [\"acme.example.com\"]",
        "brand_urls = [\"acme.example.com\"]\npassword_policy = \"high\"",
    );
    let server = Server::with(&file).await;
    let register = |body: Value| post(&server, "/api/v1/users/register").json(&body).send();
    // Medium/High: 6+ characters with a digit, a non-alphanumeric character, mixed case.
    let resp = register(
        json!({"username": "john.doe", "emailAddress": "john@example.com", "password": "abc"}),
    )
    .await
    .unwrap();
    let item = expect_envelope_error(&server, resp, 400, "password_too_short").await;
    assert_eq!(item["details"], "password");
    let resp = register(json!({"username": "john.doe", "password": "abcdefgh"}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert!(codes.len() >= 3, "every violation listed: {codes:?}");
    let resp = register(json!({"password": "Xy1!abc"})).await.unwrap();
    expect_envelope_error(&server, resp, 400, "username_required").await;
    let resp = register(
        json!({"username": "john.doe", "emailAddress": "not-an-email", "password": "Xy1!abc"}),
    )
    .await
    .unwrap();
    let item = expect_envelope_error(&server, resp, 400, "invalid_email").await;
    assert_eq!(item["details"], "emailAddress");
    let resp =
        register(json!({"username": "john.doe", "phoneNumber": "call me", "password": "Xy1!abc"}))
            .await
            .unwrap();
    let item = expect_envelope_error(&server, resp, 400, "invalid_phone").await;
    assert_eq!(item["details"], "phoneNumber");

    let resp = register(
        json!({"username": "john.doe", "emailAddress": "john@example.com",
                               "phoneNumber": "+123456789", "password": "Xy1!abc",
                               "firstName": "John", "lastName": "Doe"}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    let id = body["data"].as_str().unwrap().to_owned();
    // Signs in by username or by e-mail address.
    for login in ["john.doe", "JOHN@example.com"] {
        let resp = auth(&server, login, "Xy1!abc").await;
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["data"]["id"], id.as_str());
        assert_eq!(body["data"]["phoneNumber"], "+123456789");
    }
    let resp = register(json!({"username": "JOHN.DOE", "password": "Xy1!abc"}))
        .await
        .unwrap();
    expect_envelope_error(&server, resp, 409, "user_exists").await;
}

async fn devices_are_created_found_linked_and_signed_out() {
    let server = Server::with(ACME).await;
    let signed_in = |login: &'static str| {
        let server = &server;
        async move {
            let resp = auth(server, login, PASSWORD).await;
            assert_eq!(resp.status(), 200);
            let body: Value = resp.json().await.unwrap();
            (
                body["data"]["id"].as_str().unwrap().to_owned(),
                body["data"]["authKey"].as_str().unwrap().to_owned(),
            )
        }
    };
    let (alice, alice_key) = signed_in("alice").await;
    let device = json!({"type": "mobile", "code": "tab-7", "name": "Galaxy Tab",
                        "osDevice": "Android", "appVersionNumber": "1.0.0"});
    // Without a key: 401. A missing required field: 400.
    let resp = post(&server, "/api/v1/devices")
        .json(&device)
        .send()
        .await
        .unwrap();
    expect_envelope_error(&server, resp, 401, "auth_key_required").await;
    let resp = post(&server, "/api/v1/devices")
        .header("Auth-Key", &alice_key)
        .json(&json!({"code": "tab-7"}))
        .send()
        .await
        .unwrap();
    let item = expect_envelope_error(&server, resp, 400, "field_required").await;
    assert_eq!(item["details"], "type");

    let resp = post(&server, "/api/v1/devices")
        .header("Auth-Key", &alice_key)
        .json(&device)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    let device_id = body["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(body["data"]["type"], "mobile");
    assert_eq!(body["data"]["osDevice"], "Android");
    assert_eq!(body["data"]["userId"], Value::Null, "not linked yet");

    // By code: the same device.
    let resp = server
        .http
        .get(server.url("/api/v1/devices/by-code/tab-7"))
        .header("Brand-URL", BRAND)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["id"], device_id.as_str());

    // Link it to Alice with a push token.
    let link = |user: String, key: String, device: String| {
        post(&server, &format!("/api/v1/users/{user}/devices/{device}"))
            .header("Auth-Key", key)
            .json(&json!({"token": "fcm-tab-7", "session": "ignored", "tags": ["kitchen"], "userDeviceStatus": 1}))
            .send()
    };
    let resp = link(alice.clone(), alice_key.clone(), device_id.clone())
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"], true);
    let store = server.open_store().await;
    let tenant = tenant_id(&server).await;
    let stored = store.find_device(tenant, "tab-7").await.unwrap().unwrap();
    assert_eq!(stored.push_token.as_deref(), Some("fcm-tab-7"));
    assert_eq!(stored.tags, vec!["kitchen".to_owned()]);
    assert_eq!(stored.user_id.map(|u| u.to_string()), Some(alice.clone()));

    // Another user: not theirs to link while Alice is signed in on it; not Alice's path.
    let (oscar, oscar_key) = {
        let resp = post(&server, "/api/v1/users/register")
            .json(&json!({"username": "bob", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        signed_in("bob").await
    };
    let resp = link(oscar.clone(), oscar_key.clone(), device_id.clone())
        .await
        .unwrap();
    expect_envelope_error(&server, resp, 409, "conflict").await;
    // Nor by its code: not through the device route, not by signing in with its headers.
    let resp = post(&server, "/api/v1/devices")
        .header("Auth-Key", &oscar_key)
        .json(
            &json!({"type": "mobile", "code": "tab-7", "name": "Mine now",
                      "osDevice": "Android", "appVersionNumber": "6.6.6", "token": "fcm-bob"}),
        )
        .send()
        .await
        .unwrap();
    expect_envelope_error(&server, resp, 409, "conflict").await;
    let resp = post(&server, "/api/v1/users/auth")
        .header("X-Device-Code", "tab-7")
        .header("X-Device-Token", "fcm-bob")
        .json(&json!({"username": "bob", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the sign-in itself succeeds");
    let stored = store.find_device(tenant, "tab-7").await.unwrap().unwrap();
    assert_eq!(
        stored.push_token.as_deref(),
        Some("fcm-tab-7"),
        "still Alice's"
    );
    assert_eq!(stored.name.as_deref(), Some("Galaxy Tab"));
    assert_eq!(stored.user_id.map(|u| u.to_string()), Some(alice.clone()));
    let resp = link(alice.clone(), oscar_key.clone(), device_id.clone())
        .await
        .unwrap();
    expect_envelope_error(&server, resp, 404, "not_found").await;
    let resp = link(
        oscar.clone(),
        oscar_key.clone(),
        "0190a0a0-0000-7000-8000-000000000000".into(),
    )
    .await
    .unwrap();
    expect_envelope_error(&server, resp, 404, "not_found").await;

    // Alice signs the tablet out from her list: the session ends, the push token goes.
    let resp = server
        .http
        .delete(server.url(&format!("/api/v1/users/{alice}/devices/{device_id}")))
        .header("Brand-URL", BRAND)
        .header("Auth-Key", &alice_key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let stored = store.find_device(tenant, "tab-7").await.unwrap().unwrap();
    assert_eq!(stored.push_token, None);
    let resp = post(&server, "/api/v1/users/logout")
        .header("Auth-Key", &alice_key)
        .send()
        .await
        .unwrap();
    expect_envelope_error(&server, resp, 401, "invalid_token").await;
    // Now the tablet is free for Bob.
    let resp = link(oscar.clone(), oscar_key, device_id).await.unwrap();
    assert_eq!(resp.status(), 201);
}

async fn native_devices(server: &Server, access: &str) -> Value {
    let resp = server
        .http
        .get(server.url("/v1/devices"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn the_native_api_lists_and_signs_out_devices() {
    let server = Server::with(ACME).await;
    let resp = post(&server, "/api/v1/users/auth")
        .header("X-Device-Code", "phone-9")
        .header("X-Device-Token", "fcm-9")
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let auth_key = body["data"]["authKey"].as_str().unwrap().to_owned();
    let access = server.login_alice().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let devices = native_devices(&server, &access).await;
    assert_eq!(devices[0]["code"], "phone-9");
    assert_eq!(devices[0]["signed_in"], true);
    assert!(devices[0].get("push_token").is_none());
    let id = devices[0]["id"].as_str().unwrap().to_owned();
    // Bad inputs change nothing: no token, another's id, a malformed id.
    let resp = server
        .http
        .delete(server.url(&format!("/v1/devices/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    for other in ["0190a0a0-0000-7000-8000-000000000000", "not-an-id"] {
        let resp = server
            .http
            .delete(server.url(&format!("/v1/devices/{other}")))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
    }
    assert!(
        server
            .http
            .get(server.url(&format!(
                "/api/v1/users/{}/devices",
                body["data"]["id"].as_str().unwrap()
            )))
            .header("Brand-URL", BRAND)
            .header("Auth-Key", &auth_key)
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    let resp = server
        .http
        .delete(server.url(&format!("/v1/devices/{id}")))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    // The phone's session is over; the session of the native token goes on.
    let resp = post(&server, "/api/v1/users/logout")
        .header("Auth-Key", &auth_key)
        .send()
        .await
        .unwrap();
    expect_envelope_error(&server, resp, 401, "invalid_token").await;
    let devices = native_devices(&server, &access).await;
    assert_eq!(devices[0]["signed_in"], false);
    let store = server.open_store().await;
    let tenant = tenant_id(&server).await;
    let stored = store.find_device(tenant, "phone-9").await.unwrap().unwrap();
    assert_eq!(stored.push_token, None);
}

async fn can_be_moved_under_a_prefix_or_switched_off() {
    let setup = Setup {
        env: vec![("PORTCULLIS_DIALECTS__JFW__PREFIX", "/jfw".into())],
        ..Default::default()
    };
    let server = Server::with_setup(ACME, setup).await;
    let resp = server
        .http
        .post(server.url("/jfw/api/v1/users/auth"))
        .header("Brand-URL", BRAND)
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(auth(&server, "alice", PASSWORD).await.status(), 404);
    let doc = server.get_json("/openapi/jfw.json").await;
    assert!(doc["paths"]["/api/v1/users/auth"]["post"].is_object());

    let setup = Setup {
        env: vec![("PORTCULLIS_DIALECTS__JFW__ENABLED", "false".into())],
        ..Default::default()
    };
    let server = Server::with_setup(ACME, setup).await;
    assert_eq!(auth(&server, "alice", PASSWORD).await.status(), 404);
}

crate::on_both_stores!(
    sign_in_refresh_and_out_with_a_device,
    every_error_comes_in_the_envelope,
    ten_concurrent_wrong_passwords_lock_the_account,
    one_client_cannot_lock_an_account_for_everyone,
    register_follows_the_brand_policy,
    devices_are_created_found_linked_and_signed_out,
    the_native_api_lists_and_signs_out_devices,
    can_be_moved_under_a_prefix_or_switched_off,
);
