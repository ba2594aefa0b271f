//! The shared store suite, on a fresh SQLite file per test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_core::Store;
use portcullis_store_sqlite::SqliteStore;
use std::sync::Arc;

async fn fresh() -> Arc<dyn Store> {
    // Each test's file lives in its own directory, removed when the process exits.
    let dir = tempfile::tempdir().unwrap().keep();
    let store = SqliteStore::open(dir.join("test.db").to_str().unwrap())
        .await
        .unwrap();
    Arc::new(store)
}

portcullis_store_conformance::conformance_tests!(fresh());
