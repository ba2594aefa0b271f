//! Writing snapshots into an empty store, in one transaction (`portcullis migrate-store`).

use crate::baskets::{insert_basket, insert_purchase};
use crate::devices::insert_device;
use crate::directory::{
    insert_key_row, upsert_app, upsert_profile, upsert_storefront, upsert_tenant,
};
use crate::feed::{insert_audit, record_change};
use crate::opaque::insert_opaque;
use crate::sessions::{insert_refresh, insert_session};
use crate::users::{assign_profiles, insert_user_number, upsert_user};
use crate::{SqliteStore, db_err};
use async_trait::async_trait;
use portcullis_core::session::ChangeKind;
use portcullis_core::snapshot::Snapshot;
use portcullis_core::store::RestoreTx;
use portcullis_core::{StoreError, StoreResult};
use sqlx::{Sqlite, Transaction};

impl SqliteStore {
    pub(crate) async fn begin_restore(&self) -> StoreResult<Box<dyn RestoreTx>> {
        let mut tx = self.write_tx().await?;
        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants")
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        if existing > 0 {
            return Err(StoreError::Conflict(
                "the target store already holds tenants".into(),
            ));
        }
        Ok(Box::new(SqliteRestore { tx }))
    }
}

/// One write transaction for the whole copy: the target is seen empty or complete.
struct SqliteRestore {
    tx: Transaction<'static, Sqlite>,
}

#[async_trait]
impl RestoreTx for SqliteRestore {
    async fn write(&mut self, snap: &Snapshot) -> StoreResult<()> {
        for t in &snap.tenants {
            upsert_tenant(&mut self.tx, t).await?;
        }
        for s in &snap.storefronts {
            upsert_storefront(&mut self.tx, s).await?;
        }
        for a in &snap.apps {
            upsert_app(&mut self.tx, a).await?;
        }
        for p in &snap.profiles {
            upsert_profile(&mut self.tx, p).await?;
        }
        for u in &snap.users {
            upsert_user(&mut self.tx, u).await?;
        }
        for (user, profile) in &snap.user_profiles {
            assign_profiles(&mut self.tx, *user, std::slice::from_ref(profile)).await?;
        }
        for k in &snap.signing_keys {
            insert_key_row(&mut self.tx, k).await?;
        }
        for s in &snap.sessions {
            insert_session(&mut self.tx, s).await?;
            if let Some(at) = s.revoked_at {
                // Nodes on the target learn of it from the feed, as of any revocation.
                record_change(&mut self.tx, at, &ChangeKind::SessionRevoked(s.id)).await?;
            }
        }
        for r in &snap.refresh_tokens {
            insert_refresh(&mut self.tx, r).await?;
        }
        for t in &snap.opaque_tokens {
            insert_opaque(&mut self.tx, t).await?;
        }
        for e in &snap.audit_events {
            insert_audit(&mut self.tx, e).await?;
        }
        for (user, number) in &snap.user_numbers {
            insert_user_number(&mut self.tx, *user, *number).await?;
        }
        for d in &snap.devices {
            insert_device(&mut self.tx, d).await?;
        }
        for b in &snap.baskets {
            insert_basket(&mut self.tx, b).await?;
        }
        for p in &snap.purchases {
            insert_purchase(&mut self.tx, p).await?;
        }
        Ok(())
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await.map_err(db_err)
    }
}
