//! Writing a whole snapshot into an empty store (`portcullis migrate-store`).

use crate::baskets::{insert_basket, insert_purchase};
use crate::devices::insert_device;
use crate::directory::{
    insert_key_row, upsert_app, upsert_profile, upsert_storefront, upsert_tenant,
};
use crate::feed::{insert_audit, record_change};
use crate::opaque::insert_opaque;
use crate::sessions::{insert_refresh, insert_session};
use crate::users::{assign_profiles, insert_user_numbers, upsert_user};
use crate::{PgStore, db_err};
use portcullis_core::session::ChangeKind;
use portcullis_core::snapshot::Snapshot;
use portcullis_core::{StoreError, StoreResult};

impl PgStore {
    pub(crate) async fn restore(&self, snap: &Snapshot) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants")
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        if existing > 0 {
            return Err(StoreError::Conflict(
                "the target store already holds tenants".into(),
            ));
        }
        for t in &snap.tenants {
            upsert_tenant(&mut tx, t).await?;
        }
        for s in &snap.storefronts {
            upsert_storefront(&mut tx, s).await?;
        }
        for a in &snap.apps {
            upsert_app(&mut tx, a).await?;
        }
        for p in &snap.profiles {
            upsert_profile(&mut tx, p).await?;
        }
        for u in &snap.users {
            upsert_user(&mut tx, u).await?;
        }
        for (user, profile) in &snap.user_profiles {
            assign_profiles(&mut tx, *user, std::slice::from_ref(profile)).await?;
        }
        for k in &snap.signing_keys {
            insert_key_row(&mut tx, k).await?;
        }
        for s in &snap.sessions {
            insert_session(&mut tx, s).await?;
            if let Some(at) = s.revoked_at {
                // Nodes on the target learn of it from the feed, as of any revocation.
                record_change(&mut tx, at, &ChangeKind::SessionRevoked(s.id)).await?;
            }
        }
        for r in &snap.refresh_tokens {
            insert_refresh(&mut tx, r).await?;
        }
        for t in &snap.opaque_tokens {
            insert_opaque(&mut tx, t).await?;
        }
        for e in &snap.audit_events {
            insert_audit(&mut tx, e).await?;
        }
        insert_user_numbers(&mut tx, &snap.user_numbers).await?;
        for d in &snap.devices {
            insert_device(&mut tx, d).await?;
        }
        for b in &snap.baskets {
            insert_basket(&mut tx, b).await?;
        }
        for p in &snap.purchases {
            insert_purchase(&mut tx, p).await?;
        }
        tx.commit().await.map_err(db_err)
    }
}
