//! Hostile input: oversized headers, deep JSON, invalid UTF-8, header injection in reset
//! links, SQL metacharacters. Each gets a clear 4xx, changes nothing, and the server goes on.

use crate::support::*;
use serde_json::{Value, json};

async fn hostile_requests_are_refused_and_change_nothing() {
    let server = Server::with(ACME).await;
    let post_raw = |path: &str, content_type: &str, body: Vec<u8>| {
        server
            .http
            .post(server.url(path))
            .basic_auth("acme-web", Some(API_KEY))
            .header("content-type", content_type.to_owned())
            .body(body)
            .send()
    };

    // A header of 100 KiB: refused before any handler.
    let resp = server
        .http
        .get(server.url("/oauth2/userinfo"))
        .header(
            "authorization",
            format!("Bearer {}", "a".repeat(100 * 1024)),
        )
        .send()
        .await;
    match resp {
        Ok(r) => assert!(r.status().is_client_error(), "{}", r.status()),
        Err(e) => assert!(e.is_request() || e.is_connect() || e.is_body(), "{e}"),
    }

    // JSON nested 10,000 deep, and invalid UTF-8 in JSON and in forms.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let resp = post_raw("/v1/password/forgot", "application/json", deep.into_bytes())
        .await
        .unwrap();
    expect_error(resp, 400, "invalid_request", "malformed_body").await;
    let resp = post_raw(
        "/v1/password/forgot",
        "application/json",
        b"{\"email\":\"\xff\xfe@example.com\"}".to_vec(),
    )
    .await
    .unwrap();
    expect_error(resp, 400, "invalid_request", "malformed_body").await;
    let resp = post_raw(
        "/oauth2/token",
        "application/x-www-form-urlencoded",
        b"grant_type=password&username=alice%FF&password=x".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = server
        .http
        .post(server.url("/api/v1/users/auth"))
        .header("Brand-URL", "acme.example.com")
        .header("content-type", "application/json")
        .body(b"{\"username\":\"\xc3\x28\",\"password\":\"x\"}".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "malformed_json");

    // Header injection and foreign hosts in reset links: refused, nothing queued.
    for url in [
        "https://shop.example.com/reset\r\nBcc: victim@example.com",
        "https://shop.example.com/reset%0d%0aBcc:%20victim@example.com",
        "https://evil.example.com/reset",
        "https://shop.example.com@evil.example.com/reset",
        "javascript:alert(1)",
    ] {
        let resp = server
            .post_json(
                "/v1/password/forgot",
                &json!({"email": "alice@example.com", "redirect_url": url}),
            )
            .await;
        if url.contains("%0d%0a") {
            // Encoded, it is only a path: the link stays on the allowed host.
            assert_eq!(resp.status(), 202, "{url}");
        } else {
            assert_eq!(resp.status(), 400, "{url}");
        }
    }
    let out = server.cli(&["outbox", "list", "--json"]).await;
    let queued: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        queued.len() <= 1,
        "only the encoded one may be queued: {queued:?}"
    );

    // SQL metacharacters are data: no login by injection; a user named by them registers,
    // logs in, and nothing else changes.
    for login in [
        "' OR '1'='1",
        "alice@example.com' --",
        "\"; DROP TABLE users; --",
    ] {
        assert_eq!(
            server.login(login, "' OR '1'='1").await.status(),
            400,
            "{login}"
        );
    }
    let name = "robert'); DROP TABLE users;--";
    let resp = server
        .http
        .post(server.url("/api/v1/users/register"))
        .header("Brand-URL", "acme.example.com")
        .json(&json!({"username": name, "password": PASSWORD, "phoneNumber": "+33 1 02 03 04 05"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(server.login(name, PASSWORD).await.status(), 200);
    assert_eq!(
        server.login("alice@example.com", PASSWORD).await.status(),
        200
    );
    let out = server.cli(&["user", "list", "--tenant", "acme"]).await;
    assert!(out.stdout.contains(name), "{}", out.stdout);

    // Still serving.
    let resp = server.http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

crate::on_both_stores!(hostile_requests_are_refused_and_change_nothing);
