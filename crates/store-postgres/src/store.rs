//! The `Store` trait, implemented by delegation to the table modules.

use crate::PgStore;
use crate::db_err;
use async_trait::async_trait;
use portcullis_core::app::ClientApp;
use portcullis_core::audit::{AuditEvent, AuditFilter};
use portcullis_core::basket::{Basket, Purchase};
use portcullis_core::ids::BasketId;
use portcullis_core::ids::MessageId;
use portcullis_core::ids::{ProfileId, SessionId, TenantId, UserId};
use portcullis_core::keys::StoredKey;
use portcullis_core::opaque::OpaqueRecord;
use portcullis_core::outbox::{OutboxFilter, OutboxMessage, OutboxOutcome};
use portcullis_core::profile::Profile;
use portcullis_core::provisioning::ProvisionPlan;
use portcullis_core::reset::ResetRecord;
use portcullis_core::secret::SecretHash;
use portcullis_core::session::{
    Change, RefreshRecord, RotateOutcome, Session, SessionFilter, SessionTouch,
};
use portcullis_core::tenant::{Storefront, Tenant};
use portcullis_core::user::{User, UserKind, UserStatus};
use portcullis_core::{Store, StoreResult, Timestamp};

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        self.list_tenants().await
    }
    async fn list_storefronts(&self) -> StoreResult<Vec<Storefront>> {
        self.list_storefronts().await
    }
    async fn list_apps(&self) -> StoreResult<Vec<ClientApp>> {
        self.list_apps().await
    }
    async fn list_profiles(&self, tenant: TenantId) -> StoreResult<Vec<Profile>> {
        self.list_profiles(tenant).await
    }
    async fn find_app_by_client_id(&self, client_id: &str) -> StoreResult<Option<ClientApp>> {
        self.find_app_by_client_id(client_id).await
    }
    async fn apply_provisioning(&self, plan: &ProvisionPlan) -> StoreResult<()> {
        self.apply_provisioning(plan).await
    }
    async fn insert_user(&self, user: &User, profiles: &[ProfileId]) -> StoreResult<()> {
        self.insert_user(user, profiles).await
    }
    async fn get_user(&self, id: UserId) -> StoreResult<Option<User>> {
        self.get_user(id).await
    }
    async fn find_user(
        &self,
        tenant: TenantId,
        kind: UserKind,
        login: &str,
    ) -> StoreResult<Option<User>> {
        self.find_user(tenant, kind, login).await
    }
    async fn list_users(&self, tenant: TenantId, kind: Option<UserKind>) -> StoreResult<Vec<User>> {
        self.list_users(tenant, kind).await
    }
    async fn set_password_hash(
        &self,
        user: UserId,
        hash: &str,
        expected: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<bool> {
        self.set_password_hash(user, hash, expected, at).await
    }
    async fn set_user_status(
        &self,
        user: UserId,
        status: UserStatus,
        at: Timestamp,
    ) -> StoreResult<()> {
        self.set_user_status(user, status, at).await
    }
    async fn user_profile_names(&self, user: UserId) -> StoreResult<Vec<String>> {
        self.user_profile_names(user).await
    }
    async fn user_profile_ids(&self, user: UserId) -> StoreResult<Vec<ProfileId>> {
        self.user_profile_ids(user).await
    }
    async fn create_session(
        &self,
        session: &Session,
        refresh: Option<&RefreshRecord>,
    ) -> StoreResult<()> {
        self.create_session(session, refresh).await
    }
    async fn get_session(&self, id: SessionId) -> StoreResult<Option<Session>> {
        self.get_session(id).await
    }
    async fn list_sessions(&self, filter: &SessionFilter) -> StoreResult<Vec<Session>> {
        self.list_sessions(filter).await
    }
    async fn find_refresh(&self, hash: &SecretHash) -> StoreResult<Option<RefreshRecord>> {
        self.find_refresh(hash).await
    }
    async fn rotate_refresh(
        &self,
        old: &SecretHash,
        successor: &[u8],
        next: &RefreshRecord,
        touch: SessionTouch,
    ) -> StoreResult<RotateOutcome> {
        self.rotate_refresh(old, successor, next, touch).await
    }
    async fn revoke_session(
        &self,
        id: SessionId,
        at: Timestamp,
        reason: &str,
    ) -> StoreResult<bool> {
        self.revoke_session(id, at, reason).await
    }
    async fn revoke_user_sessions(
        &self,
        user: UserId,
        at: Timestamp,
        reason: &str,
    ) -> StoreResult<Vec<SessionId>> {
        self.revoke_user_sessions(user, at, reason).await
    }
    async fn changes_after(
        &self,
        after: i64,
        not_before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Change>> {
        self.changes_after(after, not_before, limit).await
    }
    async fn prune_changes(&self, before: Timestamp) -> StoreResult<u64> {
        self.prune_changes(before).await
    }
    async fn list_signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        self.list_signing_keys().await
    }
    async fn add_signing_key(
        &self,
        key: &StoredKey,
        retire_previous_at: Timestamp,
    ) -> StoreResult<()> {
        self.add_signing_key(key, retire_previous_at).await
    }
    async fn append_audit(&self, event: &AuditEvent) -> StoreResult<()> {
        self.append_audit(event).await
    }
    async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEvent>> {
        self.list_audit(filter).await
    }
    async fn find_app_by_key_hash(&self, hash: &SecretHash) -> StoreResult<Option<ClientApp>> {
        self.find_app_by_key_hash(hash).await
    }
    async fn counts(&self) -> StoreResult<Vec<(&'static str, i64)>> {
        self.counts().await
    }
    async fn list_refresh_tokens(&self, session: SessionId) -> StoreResult<Vec<RefreshRecord>> {
        self.list_refresh_tokens(session).await
    }
    async fn restore(&self, snapshot: &portcullis_core::snapshot::Snapshot) -> StoreResult<()> {
        self.restore(snapshot).await
    }
    async fn create_reset(
        &self,
        reset: &ResetRecord,
        message: &OutboxMessage,
        limits: &[(Timestamp, u32)],
    ) -> StoreResult<bool> {
        self.create_reset(reset, message, limits).await
    }
    async fn find_reset(&self, hash: &SecretHash) -> StoreResult<Option<ResetRecord>> {
        self.find_reset(hash).await
    }
    async fn complete_reset(
        &self,
        hash: &SecretHash,
        new_hash: &str,
        at: Timestamp,
    ) -> StoreResult<bool> {
        self.complete_reset(hash, new_hash, at).await
    }
    async fn claim_outbox(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        self.claim_outbox(now, lease_until, limit).await
    }
    async fn finish_outbox(&self, id: MessageId, outcome: &OutboxOutcome) -> StoreResult<()> {
        self.finish_outbox(id, outcome).await
    }
    async fn list_outbox(&self, filter: &OutboxFilter) -> StoreResult<Vec<OutboxMessage>> {
        self.list_outbox(filter).await
    }
    async fn retry_outbox(&self, id: MessageId, now: Timestamp) -> StoreResult<bool> {
        self.retry_outbox(id, now).await
    }
    async fn purge_outbox(&self, before: Timestamp) -> StoreResult<u64> {
        self.purge_outbox(before).await
    }
    async fn create_opaque_session(
        &self,
        session: &Session,
        token: &OpaqueRecord,
    ) -> StoreResult<()> {
        self.create_opaque_session(session, token).await
    }
    async fn find_opaque(&self, hash: &SecretHash) -> StoreResult<Option<OpaqueRecord>> {
        self.find_opaque(hash).await
    }
    async fn touch_opaque(&self, hash: &SecretHash, at: Timestamp) -> StoreResult<()> {
        self.touch_opaque(hash, at).await
    }
    async fn create_basket(
        &self,
        basket: &Basket,
        guest: Option<(&Session, &OpaqueRecord)>,
    ) -> StoreResult<()> {
        self.create_basket(basket, guest).await
    }
    async fn get_basket(&self, id: BasketId) -> StoreResult<Option<Basket>> {
        self.get_basket(id).await
    }
    async fn find_open_basket(&self, session: SessionId) -> StoreResult<Option<Basket>> {
        self.find_open_basket(session).await
    }
    async fn add_basket_item(
        &self,
        id: BasketId,
        item: &serde_json::Value,
        at: Timestamp,
    ) -> StoreResult<Option<Basket>> {
        self.add_basket_item(id, item, at).await
    }
    async fn checkout_basket(&self, id: BasketId, purchase: &Purchase) -> StoreResult<bool> {
        self.checkout_basket(id, purchase).await
    }
    async fn find_purchase(&self, long_id_hash: &SecretHash) -> StoreResult<Option<Purchase>> {
        self.find_purchase(long_id_hash).await
    }
    async fn user_number(&self, user: UserId) -> StoreResult<i64> {
        self.user_number(user).await
    }
    async fn user_by_number(&self, number: i64) -> StoreResult<Option<UserId>> {
        self.user_by_number(number).await
    }
    async fn mark_reset_request(
        &self,
        tenant: TenantId,
        key: &SecretHash,
        at: Timestamp,
        live_since: Timestamp,
    ) -> StoreResult<bool> {
        self.mark_reset_request(tenant, key, at, live_since).await
    }
    async fn clear_reset_request(&self, tenant: TenantId, key: &SecretHash) -> StoreResult<()> {
        self.clear_reset_request(tenant, key).await
    }
    async fn hit_counter(&self, key: &SecretHash, window_start: Timestamp) -> StoreResult<u32> {
        self.hit_counter(key, window_start).await
    }
    async fn clear_counter(&self, key: &SecretHash) -> StoreResult<()> {
        self.clear_counter(key).await
    }
    async fn prune_counters(&self, before: Timestamp) -> StoreResult<u64> {
        self.prune_counters(before).await
    }
}
