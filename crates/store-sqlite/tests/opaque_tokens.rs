//! JRNI-style opaque tokens on a real SQLite file with a fixed clock: their lifetime slides
//! with use, their last use is written back at most once a minute, and a second node on the
//! same database honours a use it did not see.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_core::clock::FixedClock;
use portcullis_core::provisioning::ProvisioningDoc;
use portcullis_core::secret::{MasterKey, SecretHash};
use portcullis_core::service::PasswordLogin;
use portcullis_core::user::UserKind;
use portcullis_core::{Core, CoreSettings, Store, Timestamp};
use portcullis_store_sqlite::SqliteStore;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

const HOUR: Duration = Duration::from_secs(3600);

async fn node(path: &str, clock: Arc<FixedClock>) -> (Arc<Core>, Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(path).await.unwrap());
    let master = MasterKey::from_text("opaque-token-master-key-0123456789").unwrap();
    let core = Arc::new(
        Core::start(store.clone(), clock, master, CoreSettings::default())
            .await
            .unwrap(),
    );
    (core, store)
}

async fn setup() -> (
    tempfile::TempDir,
    String,
    Arc<FixedClock>,
    Arc<Core>,
    Arc<dyn Store>,
    String,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db").to_str().unwrap().to_owned();
    let clock = Arc::new(FixedClock::new(Timestamp::from_secs(1_800_000_000)));
    let (core, store) = node(&path, clock.clone()).await;
    let doc: ProvisioningDoc = serde_json::from_value(serde_json::json!({
        "version": 1,
        "tenants": [{
            "slug": "jr", "name": "JRNI",
            "stores": [{"code": "C1", "company_id": 1, "default": true}],
            "apps": [{"client_id": "app", "api_key": "app-api-key-0123456789", "kinds": ["customer", "guest"]}],
            "users": [{"kind": "customer", "email": "mia@example.com", "password": "Str0ng!Passw0rd"}]
        }]
    }))
    .unwrap();
    core.import(&doc).await.unwrap();
    let app = core.app_by_client_id("app").unwrap();
    let login = PasswordLogin {
        login: "mia@example.com".into(),
        password: Zeroizing::new("Str0ng!Passw0rd".into()),
        kind: Some(UserKind::Customer),
        store: None,
        store_view: None,
        ctx: Default::default(),
    };
    let (token, _, _) = core
        .login_opaque(&app, login, "member", false)
        .await
        .unwrap();
    (dir, path, clock, core, store, token)
}

#[tokio::test]
async fn the_lifetime_slides_with_use_and_ends_after_a_day_idle() {
    let (_dir, _path, clock, core, _store, token) = setup().await;
    clock.advance(23 * HOUR);
    core.validate_opaque(&token).await.unwrap();
    clock.advance(23 * HOUR);
    core.validate_opaque(&token)
        .await
        .expect("used 23 h ago: still valid");
    clock.advance(24 * HOUR + Duration::from_secs(1));
    assert!(
        core.validate_opaque(&token).await.is_err(),
        "idle for a day: expired"
    );
    assert!(core.validate_opaque("not-a-token").await.is_err());
}

#[tokio::test]
async fn last_use_is_written_at_most_once_a_minute() {
    let (_dir, _path, clock, core, store, token) = setup().await;
    let hash = SecretHash::of(&token);
    let created = store
        .find_opaque(&hash)
        .await
        .unwrap()
        .unwrap()
        .last_used_at;
    clock.advance(Duration::from_secs(10));
    core.validate_opaque(&token).await.unwrap();
    clock.advance(Duration::from_secs(10));
    core.validate_opaque(&token).await.unwrap();
    assert_eq!(
        store
            .find_opaque(&hash)
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        created,
        "no write per request"
    );
    clock.advance(Duration::from_secs(45));
    core.validate_opaque(&token).await.unwrap();
    let written = store
        .find_opaque(&hash)
        .await
        .unwrap()
        .unwrap()
        .last_used_at;
    assert_eq!(
        written,
        clock_now(&clock),
        "written once the minute has passed"
    );
}

fn clock_now(clock: &FixedClock) -> Timestamp {
    portcullis_core::Clock::now(clock)
}

#[tokio::test]
async fn another_node_honours_a_use_it_did_not_see() {
    let (_dir, path, clock, core, _store, token) = setup().await;
    let (other, _) = node(&path, clock.clone()).await;
    other.validate_opaque(&token).await.unwrap(); // the other node knows the token
    clock.advance(23 * HOUR);
    core.validate_opaque(&token).await.unwrap(); // used here, written back (over a minute since)
    clock.advance(2 * HOUR);
    // By the other node's own view, idle for 25 h; it re-reads before refusing.
    other
        .validate_opaque(&token)
        .await
        .expect("valid: last used 2 h ago on the first node");
    // Logout on one node is seen by the other through the change feed.
    let grant = core.validate_opaque(&token).await.unwrap();
    core.logout_opaque(&grant, &Default::default())
        .await
        .unwrap();
    other.sync_changes().await.unwrap();
    assert!(other.validate_opaque(&token).await.is_err());
}

#[tokio::test]
async fn a_guest_token_ends_after_fifteen_idle_minutes() {
    let (_dir, _path, clock, core, _store, _token) = setup().await;
    let app = core.app_by_client_id("app").unwrap();
    let (guest, basket) = core
        .open_guest_basket(&app, 1, &Default::default())
        .await
        .unwrap();
    clock.advance(Duration::from_secs(14 * 60));
    let grant = core.validate_opaque(&guest).await.unwrap();
    assert_eq!(core.basket_of(&grant, 1).await.unwrap().id, basket.id);
    clock.advance(Duration::from_secs(15 * 60 + 1));
    assert!(core.validate_opaque(&guest).await.is_err());
}
