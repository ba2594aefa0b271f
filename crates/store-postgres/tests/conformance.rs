//! The shared store suite on PostgreSQL, each test in a schema of its own, dropped after.
//! Needs `PORTCULLIS_TEST_POSTGRES_URL`; without it every test says it was skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_store_conformance::Fresh;
use portcullis_store_postgres::{PgSettings, PgStore};
use std::sync::Arc;

/// A store in a schema of its own, and the pool that drops the schema afterwards.
async fn in_new_schema(prefix: &str) -> Option<(PgStore, String, sqlx::PgPool)> {
    let Ok(url) = std::env::var("PORTCULLIS_TEST_POSTGRES_URL") else {
        eprintln!("SKIPPED: set PORTCULLIS_TEST_POSTGRES_URL to run the PostgreSQL store tests");
        return None;
    };
    let schema = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .unwrap();
    let settings = PgSettings {
        schema: Some(schema.clone()),
        max_connections: 4,
        ..PgSettings::default()
    };
    let store = PgStore::open(&url, &settings).await.unwrap();
    Some((store, schema, admin))
}

async fn drop_schema(store: PgStore, schema: String, admin: sqlx::PgPool) {
    store.close().await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
}

async fn fresh() -> Option<Fresh> {
    let (store, schema, admin) = in_new_schema("conformance").await?;
    Some(Fresh::with_cleanup(
        Arc::new(store.clone()),
        drop_schema(store, schema, admin),
    ))
}

portcullis_store_conformance::conformance_tests!(fresh());

/// Says out loud whether the PostgreSQL tests ran (its output is always shown, see
/// `.config/nextest.toml`).
#[test]
fn postgres_tests_are_enabled() {
    match std::env::var("PORTCULLIS_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => eprintln!(
            "PostgreSQL tests run against {}",
            url.split('@').next_back().unwrap_or("?")
        ),
        _ => eprintln!(
            "SKIPPED: every PostgreSQL test (store suite, HTTP tests on PostgreSQL, multi-node tests) passed without running: set PORTCULLIS_TEST_POSTGRES_URL"
        ),
    }
}

/// Writes abandoned part-way leave no pooled connection inside a transaction. PostgreSQL
/// answers later statements on such a connection without complaint, but they would never
/// commit and would hold their locks: only the server can tell.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_writes_leave_no_transaction_open() {
    let Some((store, schema, admin)) = in_new_schema("abandoned").await else {
        return;
    };
    portcullis_store_conformance::checks::abandoned_writes_leave_the_store_writable(Arc::new(
        store.clone(),
    ))
    .await;
    // A rollback owed by an abandoned write may still be on its way: only a transaction
    // idle for seconds is one that nothing will end.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let stuck: Vec<(i32, String)> = sqlx::query_as(
        "SELECT pid, query FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'portcullis'
           AND state LIKE 'idle in transaction%' AND state_change < now() - interval '2 seconds'",
    )
    .fetch_all(&admin)
    .await
    .unwrap();
    drop_schema(store, schema, admin).await;
    assert!(stuck.is_empty(), "transactions left open: {stuck:?}");
}
