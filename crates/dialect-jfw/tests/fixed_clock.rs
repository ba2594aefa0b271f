//! Lifetimes with a fixed clock, on a real SQLite file, through the dialect's router:
//! `expiresIn` is the auth key's real end, a refresh moves it, and a High-level brand's
//! passwords expire after 90 days.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use portcullis_core::clock::FixedClock;
use portcullis_core::provisioning::ProvisioningDoc;
use portcullis_core::secret::MasterKey;
use portcullis_core::{Clock, Core, CoreSettings, Store, Timestamp};
use portcullis_dialect_jfw::{JfwSettings, router};
use portcullis_store_sqlite::SqliteStore;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);
const PASSWORD: &str = "Str0ng!Passw0rd";

struct World {
    _dir: tempfile::TempDir,
    clock: Arc<FixedClock>,
    app: axum::Router,
}

async fn world(policy: &str) -> World {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jfw.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(path.to_str().unwrap()).await.unwrap());
    let clock = Arc::new(FixedClock::new(Timestamp::from_secs(1_800_000_000)));
    let master = MasterKey::from_text("jfw-fixed-clock-master-key-0123456789").unwrap();
    let core = Arc::new(
        Core::start(store, clock.clone(), master, CoreSettings::default())
            .await
            .unwrap(),
    );
    let doc: ProvisioningDoc = serde_json::from_value(json!({
        "version": 1,
        "tenants": [{
            "slug": "brand", "name": "Brand", "brand_urls": ["brand.example.com"],
            "password_policy": policy,
            "apps": [{"client_id": "app", "api_key": "app-api-key-0123456789",
                      "kinds": ["customer"], "grants": ["password", "refresh_token"]}],
            "users": [{"kind": "customer", "username": "john.doe", "email": "john@example.com",
                       "password": PASSWORD}]
        }]
    }))
    .unwrap();
    core.import(&doc).await.unwrap();
    let settings = JfwSettings {
        auth_key_ttl: 2 * HOUR,
        ..Default::default()
    };
    World {
        _dir: dir,
        clock,
        app: router(core, settings),
    }
}

impl World {
    async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("Brand-URL", "brand.example.com")
            .header("content-type", "application/json");
        if let Some(key) = key {
            req = req.header("Auth-Key", key);
        }
        let resp = self
            .app
            .clone()
            .oneshot(req.body(Body::from(body.to_string())).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    async fn auth(&self) -> (StatusCode, Value) {
        self.call(
            "POST",
            "/api/v1/users/auth",
            None,
            json!({"username": "john.doe", "password": PASSWORD}),
        )
        .await
    }

    /// A call that needs a valid key: the user's device list.
    async fn key_works(&self, user: &str, key: &str) -> bool {
        let (status, _) = self
            .call(
                "GET",
                &format!("/api/v1/users/{user}/devices"),
                Some(key),
                Value::Null,
            )
            .await;
        status == StatusCode::OK
    }
}

fn expires_in(body: &Value) -> Timestamp {
    Timestamp::parse_rfc3339(body["data"]["expiresIn"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn expires_in_is_when_the_auth_key_ends() {
    let w = world("default").await;
    let start = w.clock.now();
    let (status, body) = w.auth().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(expires_in(&body), start.plus(2 * HOUR));
    let user = body["data"]["id"].as_str().unwrap().to_owned();
    let key = body["data"]["authKey"].as_str().unwrap().to_owned();
    let refresh = body["data"]["refreshAuthKey"].as_str().unwrap().to_owned();

    // Valid up to its end, whatever the use: a fixed lifetime, not a sliding one.
    w.clock.advance(HOUR);
    assert!(w.key_works(&user, &key).await);
    w.clock.advance(HOUR - Duration::from_millis(1));
    assert!(
        w.key_works(&user, &key).await,
        "a millisecond before expiresIn"
    );
    w.clock.advance(Duration::from_millis(1));
    assert!(!w.key_works(&user, &key).await, "at expiresIn");

    // A refresh gives a key that ends two hours from now.
    let now = w.clock.now();
    let (status, body) = w
        .call(
            "POST",
            "/api/v1/users/auth/refresh-auth-key",
            None,
            json!({"refreshAuthKey": refresh}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(expires_in(&body), now.plus(2 * HOUR));
    let key2 = body["data"]["authKey"].as_str().unwrap().to_owned();
    assert!(w.key_works(&user, &key2).await);
    assert!(!w.key_works(&user, &key).await, "the old key stays ended");
}

#[tokio::test]
async fn high_level_passwords_expire_after_90_days() {
    let w = world("high").await;
    w.clock.advance(89 * DAY);
    let (status, _) = w.auth().await;
    assert_eq!(status, StatusCode::OK);
    w.clock.advance(DAY);
    let (status, body) = w.auth().await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["errors"][0]["code"], "password_expired");
    assert_eq!(body["success"], false);

    // The default level never expires passwords.
    let w = world("default").await;
    w.clock.advance(400 * DAY);
    assert_eq!(w.auth().await.0, StatusCode::OK);
}
