//! The shared store suite on PostgreSQL, each test in a schema of its own, dropped after.
//! Needs `PORTCULLIS_TEST_POSTGRES_URL`; without it every test says it was skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_store_conformance::Fresh;
use portcullis_store_postgres::{PgSettings, PgStore};
use std::sync::Arc;

async fn fresh() -> Option<Fresh> {
    let Ok(url) = std::env::var("PORTCULLIS_TEST_POSTGRES_URL") else {
        eprintln!("SKIPPED: set PORTCULLIS_TEST_POSTGRES_URL to run the PostgreSQL store tests");
        return None;
    };
    let schema = format!("conformance_{}", uuid::Uuid::new_v4().simple());
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
    Some(Fresh::with_cleanup(Arc::new(store.clone()), async move {
        store.close().await;
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
    }))
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
