//! `portcullis-guard` in a resource server: the crate's own example (examples/orders.rs)
//! served in this process, trusting a real Portcullis: tokens verified offline against the
//! JWKS, rights decided by profiles, a rotated key picked up by a new fetch.

use crate::support::*;
use serde_json::Value;

#[path = "../../../guard/examples/orders.rs"]
#[allow(dead_code)] // its `main` is for `cargo run --example`
mod orders_example;

/// ACME where Alice is a buyer and Oscar, an operator, a clerk.
fn provisioning() -> String {
    let with_profiles = ACME.replace(
        "[[tenants.profiles]]\nname = \"buyer\"",
        "[[tenants.profiles]]\nname = \"clerk\"\nrules = []\n\n[[tenants.profiles]]\nname = \"buyer\"",
    );
    format!("{}\nprofiles = [\"clerk\"]\n", with_profiles.trim_end())
}

async fn serve_example(issuer: &str) -> String {
    let app = orders_example::app(&orders_example::guard(issuer, "acme"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn the_example_service_is_guarded() {
    let server = Server::with(&provisioning()).await;
    let alice = server.login_alice().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let claims = server.introspect(&alice).await;
    let issuer = claims["iss"].as_str().unwrap().to_owned();
    let orders = serve_example(&issuer).await;
    let http = reqwest::Client::new();

    // A buyer reads, and the handler sees who asked.
    let resp = http
        .get(format!("{orders}/v1/orders/42"))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["for"], claims["sub"]);
    assert_eq!(body["tenant"], "acme");
    // ... but may not change.
    let resp = http
        .put(format!("{orders}/v1/orders/42"))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // The denial says which rule refused it.
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "forbidden");
    let why = body["error_description"].as_str().unwrap();
    assert!(
        why.contains("grants only read") && why.contains("not PUT"),
        "{why}"
    );
    // No token, a forged one, an `alg: none` one: 401.
    let resp = http
        .get(format!("{orders}/v1/orders/42"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
    let mut forged = alice.clone();
    forged.replace_range(forged.len() - 4.., "AAAA");
    let unsigned = {
        let mut parts = alice.split('.');
        let (_, payload) = (parts.next(), parts.next().unwrap());
        // {"alg":"none","kid":"x"}
        format!("eyJhbGciOiJub25lIiwia2lkIjoieCJ9.{payload}.")
    };
    for bad in [forged, unsigned, "not-a-token".to_owned()] {
        let resp = http
            .get(format!("{orders}/v1/orders/42"))
            .bearer_auth(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{bad}");
    }
    // A clerk changes orders.
    let oscar = server.operator_token("oscar@example.com").await;
    let resp = http
        .put(format!("{orders}/v1/orders/42"))
        .bearer_auth(&oscar)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // A rotated key: the guard has not seen its id, fetches the keys again, and accepts it.
    let out = server.cli(&["key", "rotate", "--tenant", "acme"]).await;
    assert!(out.ok, "{}", out.stderr);
    eventually("tokens signed with the new key", || async {
        let fresh = server.login_alice().await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let kid = |t: &str| jsonwebtoken::decode_header(t).unwrap().kid;
        if kid(&fresh) == kid(&alice) {
            return false;
        }
        let resp = http
            .get(format!("{orders}/v1/orders/7"))
            .bearer_auth(&fresh)
            .send()
            .await
            .unwrap();
        resp.status() == 200
    })
    .await;
}

crate::on_both_stores!(the_example_service_is_guarded);
