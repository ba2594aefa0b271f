//! The shared store suite, on a fresh SQLite file per test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_store_conformance::Fresh;
use portcullis_store_sqlite::SqliteStore;
use std::sync::Arc;

async fn fresh() -> Option<Fresh> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("test.db").to_str().unwrap())
        .await
        .unwrap();
    Some(Fresh::with_cleanup(Arc::new(store.clone()), async move {
        store.close().await;
        drop(dir);
    }))
}

portcullis_store_conformance::conformance_tests!(fresh());
