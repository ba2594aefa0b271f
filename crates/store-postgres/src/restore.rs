//! Writing snapshots into an empty store, in one transaction (`portcullis migrate-store`).

use crate::baskets::{insert_basket, insert_purchase};
use crate::devices::insert_device;
use crate::directory::{
    insert_key_row, upsert_app, upsert_profile, upsert_storefront, upsert_tenant,
};
use crate::feed::{insert_audits, record_change};
use crate::opaque::insert_opaque;
use crate::sessions::{insert_refreshes, insert_sessions};
use crate::users::{insert_user_numbers, insert_users};
use crate::{PgStore, db_err};
use async_trait::async_trait;
use portcullis_core::session::ChangeKind;
use portcullis_core::snapshot::Snapshot;
use portcullis_core::store::RestoreTx;
use portcullis_core::{StoreError, StoreResult};
use sqlx::{Postgres, Transaction};

impl PgStore {
    pub(crate) async fn begin_restore(&self) -> StoreResult<Box<dyn RestoreTx>> {
        let mut tx = self.begin().await?;
        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants")
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        if existing > 0 {
            return Err(StoreError::Conflict(
                "the target store already holds tenants".into(),
            ));
        }
        Ok(Box::new(PgRestore { tx }))
    }
}

/// One transaction for the whole copy: the target is seen empty or complete.
struct PgRestore {
    tx: Transaction<'static, Postgres>,
}

#[async_trait]
impl RestoreTx for PgRestore {
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
        insert_users(&mut self.tx, &snap.users, &snap.user_profiles).await?;
        for k in &snap.signing_keys {
            insert_key_row(&mut self.tx, k).await?;
        }
        insert_sessions(&mut self.tx, &snap.sessions).await?;
        for s in &snap.sessions {
            if let Some(at) = s.revoked_at {
                // Nodes on the target learn of it from the feed, as of any revocation.
                record_change(&mut self.tx, at, &ChangeKind::SessionRevoked(s.id)).await?;
            }
        }
        insert_refreshes(&mut self.tx, &snap.refresh_tokens).await?;
        for t in &snap.opaque_tokens {
            insert_opaque(&mut self.tx, t).await?;
        }
        let events: Vec<_> = snap.audit_events.iter().collect();
        insert_audits(&mut self.tx, &events).await?;
        if !snap.user_numbers.is_empty() {
            insert_user_numbers(&mut self.tx, &snap.user_numbers).await?;
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
