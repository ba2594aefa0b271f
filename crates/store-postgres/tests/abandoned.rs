//! Writes abandoned part-way must leave no pooled connection inside a transaction.
//! PostgreSQL answers later statements on such a connection without complaint, but they
//! would never commit and would hold their locks: only the server can tell.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_store_postgres::{PgSettings, PgStore};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_writes_leave_no_transaction_open() {
    let Ok(url) = std::env::var("PORTCULLIS_TEST_POSTGRES_URL") else {
        eprintln!("SKIPPED: set PORTCULLIS_TEST_POSTGRES_URL to run the PostgreSQL store tests");
        return;
    };
    let schema = format!("abandoned_{}", uuid::Uuid::new_v4().simple());
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
    portcullis_store_conformance::checks::abandoned_writes_leave_the_store_writable(Arc::new(
        store.clone(),
    ))
    .await;
    // A rollback owed by an abandoned write may still be on its way: only a transaction
    // idle for seconds is one that nothing will end.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stuck: Vec<(i32, String)> = sqlx::query_as(
        "SELECT pid, query FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'portcullis'
           AND state LIKE 'idle in transaction%' AND state_change < now() - interval '2 seconds'",
    )
    .fetch_all(&admin)
    .await
    .unwrap();
    store.close().await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    assert!(stuck.is_empty(), "transactions left open: {stuck:?}");
}
