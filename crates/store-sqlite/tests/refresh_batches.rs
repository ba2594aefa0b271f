//! Refresh-token rotations group-committed by the core, on a real SQLite file: racing
//! refreshes of many sessions, several presenting the same token, land in shared batches and
//! still behave as if each ran alone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_core::app::ClientApp;
use portcullis_core::audit::AuditFilter;
use portcullis_core::clock::FixedClock;
use portcullis_core::provisioning::ProvisioningDoc;
use portcullis_core::secret::{MasterKey, SecretHash};
use portcullis_core::service::PasswordLogin;
use portcullis_core::snapshot::Snapshot;
use portcullis_core::token;
use portcullis_core::user::UserKind;
use portcullis_core::{Core, CoreSettings, Store, Timestamp};
use portcullis_store_sqlite::SqliteStore;
use std::collections::HashSet;
use std::sync::Arc;
use zeroize::Zeroizing;

const SESSIONS: usize = 6;
const RACERS: usize = 3;

const NOW: i64 = 1_800_000_000;

async fn core_on(path: &std::path::Path) -> (Arc<Core>, Arc<dyn Store>) {
    let clock = Arc::new(FixedClock::new(Timestamp::from_secs(NOW)));
    core_with_clock(path, clock).await
}

async fn core_with_clock(
    path: &std::path::Path,
    clock: Arc<FixedClock>,
) -> (Arc<Core>, Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(path.to_str().unwrap()).await.unwrap());
    let master = MasterKey::from_text("refresh-batches-master-key-0123456789").unwrap();
    let core = Core::start(store.clone(), clock, master, CoreSettings::default())
        .await
        .unwrap();
    (Arc::new(core), store)
}

/// A core on a new SQLite file in `dir`, with one customer and an app that may refresh.
async fn setup(dir: &tempfile::TempDir) -> (Arc<Core>, Arc<dyn Store>, Arc<ClientApp>) {
    let clock = Arc::new(FixedClock::new(Timestamp::from_secs(NOW)));
    setup_with_clock(dir, clock).await
}

async fn setup_with_clock(
    dir: &tempfile::TempDir,
    clock: Arc<FixedClock>,
) -> (Arc<Core>, Arc<dyn Store>, Arc<ClientApp>) {
    let (core, store) = core_with_clock(&dir.path().join("r.db"), clock).await;
    let doc: ProvisioningDoc = serde_json::from_value(serde_json::json!({
        "version": 1,
        "tenants": [{
            "slug": "acme", "name": "Acme",
            "apps": [{"client_id": "app", "api_key": "app-api-key-0123456789",
                      "kinds": ["customer"], "grants": ["password", "refresh_token"]}],
            "users": [{"kind": "customer", "email": "mia@example.com", "password": "Str0ng!Passw0rd"}]
        }]
    }))
    .unwrap();
    core.import(&doc).await.unwrap();
    let app = core.app_by_client_id("app").unwrap();
    (core, store, app)
}

async fn login(core: &Core, app: &ClientApp) -> String {
    login_pair(core, app).await.refresh_token.unwrap()
}

async fn login_pair(core: &Core, app: &ClientApp) -> token::TokenPair {
    let login = PasswordLogin {
        login: "mia@example.com".into(),
        password: Zeroizing::new("Str0ng!Passw0rd".into()),
        kind: Some(UserKind::Customer),
        store: None,
        store_view: None,
        ctx: Default::default(),
    };
    core.login_password(app, login).await.unwrap()
}

/// The `refresh.succeeded` events of the audit trail.
async fn refreshes_audited(core: &Core) -> Vec<portcullis_core::audit::AuditEvent> {
    core.audit_events(&AuditFilter {
        action: Some("refresh.succeeded".into()),
        ..Default::default()
    })
    .await
    .unwrap()
}

/// `SESSIONS` logins of the one customer.
async fn sessions(core: &Core, app: &ClientApp) -> Vec<token::TokenPair> {
    let mut pairs = Vec::new();
    for _ in 0..SESSIONS {
        pairs.push(login_pair(core, app).await);
    }
    pairs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_refreshes_share_batches_and_mint_one_pair_per_token() {
    let dir = tempfile::tempdir().unwrap();
    let (core, _store, app) = setup(&dir).await;
    let tokens: Vec<String> = sessions(&core, &app)
        .await
        .into_iter()
        .map(|pair| pair.refresh_token.unwrap())
        .collect();

    // Every token presented by several racers at once.
    let mut racers = Vec::new();
    for token in &tokens {
        for _ in 0..RACERS {
            let (core, app, token) = (core.clone(), app.clone(), token.clone());
            racers.push(tokio::spawn(async move {
                let pair = core
                    .refresh(&app, &token, &Default::default())
                    .await
                    .unwrap();
                (token, pair)
            }));
        }
    }
    let mut minted = HashSet::new();
    let mut per_token = std::collections::HashMap::new();
    for racer in racers {
        let (token, pair) = racer.await.unwrap();
        let next = pair.refresh_token.clone().unwrap();
        minted.insert(next.clone());
        // Every racer of one token gets the one pair minted for it.
        let first = per_token.entry(token).or_insert_with(|| pair.clone());
        assert_eq!(first.refresh_token, pair.refresh_token);
        assert_eq!(first.access_token, pair.access_token);
    }
    assert_eq!(minted.len(), SESSIONS, "one new pair per token, no more");

    // Each rotation was audited once, and each new token works.
    let audited = refreshes_audited(&core).await;
    assert_eq!(audited.len(), SESSIONS);
    let sessions: HashSet<_> = audited.iter().map(|e| e.session_id).collect();
    assert_eq!(sessions.len(), SESSIONS);
    for next in minted {
        core.refresh(&app, &next, &Default::default())
            .await
            .expect("the pair a batch minted is live");
    }
}

/// A store restored from a snapshot (`restore`, `migrate-store`) keeps the retry window of a
/// token rotated before: the pair it was exchanged for comes back, the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_store_returns_the_pair_within_the_retry_window() {
    let dir = tempfile::tempdir().unwrap();
    let (core, store, app) = setup(&dir).await;
    let old = login(&core, &app).await;
    let pair = core.refresh(&app, &old, &Default::default()).await.unwrap();

    let snapshot = Snapshot::take(store.as_ref(), Timestamp::from_secs(NOW))
        .await
        .unwrap();
    let copy = tempfile::tempdir().unwrap();
    let (_, target) = core_on(&copy.path().join("copy.db")).await;
    target.restore(&snapshot).await.unwrap();
    let (copy_core, _) = core_on(&copy.path().join("copy.db")).await;
    let app = copy_core.app_by_client_id("app").unwrap();
    let again = copy_core
        .refresh(&app, &old, &Default::default())
        .await
        .unwrap();
    assert_eq!(again.access_token, pair.access_token);
    assert_eq!(again.refresh_token, pair.refresh_token);
}

/// Refresh tokens issued before they led with their issue time (256 random bits, stored under
/// their whole SHA-256) are still found, exchanged, and replaced by time-led ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_issued_before_time_led_keys_still_refreshes() {
    let dir = tempfile::tempdir().unwrap();
    let (core, _store, app) = setup(&dir).await;
    let issued = login(&core, &app).await;
    // The row as an earlier release wrote it: the same session, an old-format token.
    let earlier = portcullis_core::secret::random_token(32);
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("r.db").display()))
        .await
        .unwrap();
    let moved = sqlx::query("UPDATE refresh_tokens SET hash = ? WHERE hash = ?")
        .bind(SecretHash::of(&earlier).as_bytes().to_vec())
        .bind(token::refresh_key(&issued).as_bytes().to_vec())
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(moved.rows_affected(), 1);
    db.close().await;

    let pair = core
        .refresh(&app, &earlier, &Default::default())
        .await
        .unwrap();
    let next = pair.refresh_token.unwrap();
    assert_ne!(
        next.len(),
        earlier.len(),
        "the new token leads with its issue time"
    );
    core.refresh(&app, &next, &Default::default())
        .await
        .unwrap();
    // The time-led token whose row became the old-format one's is unknown.
    assert!(
        core.refresh(&app, &issued, &Default::default())
            .await
            .is_err()
    );
}

/// A rotation the store refuses fails alone: the rotations that shared its batch are each
/// written again on their own and succeed. A trigger on the real file stands in for what
/// would refuse it in service (its session deleted meanwhile, a constraint). And while
/// another connection holds the file's write lock, the writer waits for it rather than
/// failing (its transactions take the lock when they begin).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_rotation_fails_alone_and_its_batch_goes_through() {
    let dir = tempfile::tempdir().unwrap();
    let (core, _store, app) = setup(&dir).await;
    let pairs = sessions(&core, &app).await;
    let doomed = core
        .validate_access(&pairs[0].access_token)
        .unwrap()
        .sid
        .clone();
    let url = format!("sqlite://{}", dir.path().join("r.db").display());
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::query(&format!(
        "CREATE TRIGGER refuse_one BEFORE INSERT ON refresh_tokens
         WHEN NEW.session_id = '{doomed}'
         BEGIN SELECT RAISE(ABORT, 'refused for the test'); END"
    ))
    .execute(&mut conn)
    .await
    .unwrap();

    // The refused rotation shares a batch: the test holds the write lock while the others
    // queue behind the writer's first batch, then the refused one joins them.
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut conn)
        .await
        .unwrap();
    let refresh = |pair: &token::TokenPair| {
        let (core, app) = (core.clone(), app.clone());
        let token = pair.refresh_token.clone().unwrap();
        tokio::spawn(async move { core.refresh(&app, &token, &Default::default()).await })
    };
    let others: Vec<_> = pairs[1..].iter().map(refresh).collect();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let refused = refresh(&pairs[0]);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
    let mut outcomes = vec![refused.await.unwrap()];
    for racer in others {
        outcomes.push(racer.await.unwrap());
    }
    assert!(outcomes[0].is_err(), "the refused rotation fails");
    for (i, outcome) in outcomes.iter().enumerate().skip(1) {
        let pair = outcome
            .as_ref()
            .unwrap_or_else(|e| panic!("rotation {i}: {e}"));
        core.refresh(
            &app,
            pair.refresh_token.as_ref().unwrap(),
            &Default::default(),
        )
        .await
        .expect("the pair written beside the refused one is live");
    }
    // Nothing of the refused rotation was written: its token was not rotated.
    let audited = refreshes_audited(&core).await;
    assert!(
        audited
            .iter()
            .all(|e| e.session_id.map(|s| s.to_string()) != Some(doomed.clone())),
        "no audit event for the refused rotation"
    );
    sqlx::query("DROP TRIGGER refuse_one")
        .execute(&mut conn)
        .await
        .unwrap();
    core.refresh(
        &app,
        pairs[0].refresh_token.as_ref().unwrap(),
        &Default::default(),
    )
    .await
    .expect("the refused token was left as it was, unrotated");
}

/// Housekeeping deletes refresh tokens their retention after they expire, and a session its
/// retention after its absolute end, with the pairs their rotations sealed (a table of this
/// store alone, which the shared checks cannot see).
#[tokio::test]
async fn purged_sessions_leave_no_refresh_rows() {
    use portcullis_core::service::Purged;
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(Timestamp::from_secs(NOW)));
    let (core, store, app) = setup_with_clock(&dir, clock.clone()).await;
    let ended = login_pair(&core, &app).await;
    let first = ended.refresh_token.clone().unwrap();
    let second = core
        .refresh(&app, &first, &Default::default())
        .await
        .unwrap();
    core.refresh(
        &app,
        second.refresh_token.as_deref().unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("r.db").display()))
        .await
        .unwrap();
    let rows = |table: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(&format!("SELECT count(*) FROM {table}"))
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        rows("refresh_pairs").await,
        2,
        "one sealed pair per rotation"
    );
    let day = std::time::Duration::from_secs(86_400);

    // The tokens expire two hours after their issue and are kept 7 days more; the session
    // lasts 30 days and is kept 7 more.
    clock.advance(day * 6);
    assert_eq!(core.purge_ended().await.unwrap(), Purged::default());
    clock.advance(day * 2);
    assert_eq!(
        core.purge_ended().await.unwrap(),
        Purged {
            sessions: 0,
            refresh_tokens: 3
        }
    );
    assert_eq!(rows("refresh_tokens").await, 0);
    assert_eq!(rows("refresh_pairs").await, 0);
    assert!(store.get_session(ended.session_id).await.unwrap().is_some());
    clock.advance(day * 30);
    let live = login_pair(&core, &app).await;
    assert_eq!(core.purge_ended().await.unwrap().sessions, 1);
    assert_eq!(store.get_session(ended.session_id).await.unwrap(), None);
    assert_eq!(
        rows("refresh_tokens").await,
        1,
        "the live session's token alone"
    );
    assert!(store.get_session(live.session_id).await.unwrap().is_some());
    core.refresh(
        &app,
        live.refresh_token.as_deref().unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
}
