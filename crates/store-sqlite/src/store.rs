//! The `Store` trait, implemented by delegation to the table modules.

use crate::{SqliteStore, db_err};
use portcullis_core::StoreResult;

impl SqliteStore {
    /// A cheap round trip, for readiness.
    pub(crate) async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.read)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

portcullis_core::impl_store_by_delegation!(SqliteStore);
