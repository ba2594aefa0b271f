//! Prometheus metrics on their own listener: requests by route template, dialect and status,
//! and the core's counters, scraped after real traffic.

use crate::support::*;
use serde_json::{Value, json};

/// The value of the first sample whose line starts with `name{` and has every label given.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| labels.iter().all(|want| l.contains(want)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn metrics_count_requests_and_logins() {
    let setup = Setup {
        env: vec![("PORTCULLIS_METRICS__LISTEN", "127.0.0.1:0".into())],
        ..Default::default()
    };
    let server = Server::with_setup(ACME, setup).await;
    let addr = server
        .logs()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|v| v["fields"]["metrics_addr"].as_str().map(str::to_owned))
        .expect("the metrics address in the log");

    let pair = server.login_alice().await;
    assert_eq!(
        server
            .login("alice@example.com", "Wr0ng-Passw0rd!")
            .await
            .status(),
        400
    );
    let resp = server
        .refresh(pair["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(resp.status(), 200);
    server
        .introspect(pair["access_token"].as_str().unwrap())
        .await;
    server
        .introspect(pair["access_token"].as_str().unwrap())
        .await;
    let data = server.jfw_sign_in().await;
    let user = data["id"].as_str().unwrap();
    let resp = server
        .http
        .get(server.url(&format!("/api/v1/users/{user}/devices")))
        .header("Brand-URL", "acme.example.com")
        .header("Auth-Key", data["authKey"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = server
        .http
        .post(server.url("/v1/authorize"))
        .json(&json!({"token": "x", "method": "GET", "path": "/"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let requests = "portcullis_http_requests_total";
    assert_eq!(
        sample(
            &text,
            requests,
            &[
                r#"route="/oauth2/token""#,
                r#"dialect="native""#,
                r#"status="200""#
            ]
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            requests,
            &[r#"route="/oauth2/token""#, r#"status="400""#]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            requests,
            &[r#"route="/api/v1/users/auth""#, r#"dialect="jfw""#]
        ),
        Some(1.0)
    );
    // Route templates, never raw paths with ids.
    assert!(
        sample(
            &text,
            requests,
            &[
                r#"route="/api/v1/users/{userId}/devices""#,
                r#"dialect="jfw""#
            ]
        )
        .is_some(),
        "{text}"
    );
    assert!(!text.contains(user), "no user id in a label");
    assert!(
        sample(
            &text,
            "portcullis_http_request_duration_seconds_bucket",
            &[r#"route="/oauth2/token""#, r#"le="+Inf""#]
        )
        .unwrap()
            >= 3.0
    );
    assert_eq!(
        sample(&text, "portcullis_logins_total", &[r#"result="success""#]),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, "portcullis_logins_total", &[r#"result="failure""#]),
        Some(1.0)
    );
    assert_eq!(sample(&text, "portcullis_refreshes_total", &[]), Some(1.0));
    assert!(
        sample(
            &text,
            "portcullis_validation_cache_total",
            &[r#"result="hit""#]
        )
        .is_some()
    );
    assert!(sample(&text, "portcullis_hash_wait_seconds_count", &[]).unwrap() >= 3.0);
    assert!(text.contains("# HELP portcullis_logins_total"));
    // Sampled at scrape time: the pools, the outbox and the caches.
    let pools: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("portcullis_db_connections{") && l.contains(r#"state="max""#))
        .filter_map(|l| l.split("pool=\"").nth(1)?.split('"').next())
        .collect();
    assert!(!pools.is_empty(), "{text}");
    for pool in pools {
        let label = format!("pool=\"{pool}\"");
        let of = |state: &str| {
            let state = format!("state=\"{state}\"");
            sample(&text, "portcullis_db_connections", &[&label, &state]).unwrap()
        };
        let (open, idle, max) = (of("open"), of("idle"), of("max"));
        assert!(
            idle <= open && open <= max && max >= 1.0,
            "{pool}: {open} {idle} {max}"
        );
    }
    assert_eq!(
        sample(&text, "portcullis_outbox_messages", &[r#"status="dead""#]),
        Some(0.0)
    );
    assert!(
        sample(
            &text,
            "portcullis_cache_entries",
            &[r#"cache="verified_tokens""#]
        )
        .unwrap()
            >= 1.0
    );

    // Not on the public listener.
    let resp = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

crate::on_both_stores!(metrics_count_requests_and_logins);
