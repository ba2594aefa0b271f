//! The storage port. One trait, implemented once per database; a shared conformance suite
//! (`portcullis-store-conformance`) holds every implementation to the same behaviour.
//!
//! Rules for implementations: writes that belong together happen in one transaction; unique
//! violations are `Conflict`, never silently ignored; a lost database is `Unavailable`.

use crate::app::ClientApp;
use crate::audit::{AuditEvent, AuditFilter};
use crate::basket::{Basket, Purchase};
use crate::clock::Timestamp;
use crate::device::{Device, DeviceUpsert};
use crate::ids::{BasketId, DeviceId, MessageId};
use crate::ids::{SessionId, TenantId, UserId};
use crate::keys::StoredKey;
use crate::opaque::OpaqueRecord;
use crate::outbox::{OutboxFilter, OutboxMessage, OutboxOutcome};
use crate::profile::Profile;
use crate::provisioning::ProvisionPlan;
use crate::reset::ResetRecord;
use crate::secret::SecretHash;
use crate::session::{
    Change, NewSession, RefreshLookup, RefreshRecord, RotateOutcome, Rotation, Session,
    SessionFilter,
};
use crate::tenant::{Storefront, Tenant};
use crate::user::{User, UserKind, UserStatus};
use async_trait::async_trait;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken; the text names what collided.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The database cannot be reached.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store error: {0}")]
    Internal(String),
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap round trip, for readiness.
    async fn ping(&self) -> StoreResult<()>;

    // Directory: tenants, stores, apps, profiles. Small; nodes cache all of it.
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>>;
    async fn list_storefronts(&self) -> StoreResult<Vec<Storefront>>;
    async fn list_apps(&self) -> StoreResult<Vec<ClientApp>>;
    async fn list_profiles(&self, tenant: TenantId) -> StoreResult<Vec<Profile>>;
    async fn find_app_by_client_id(&self, client_id: &str) -> StoreResult<Option<ClientApp>>;
    /// Apply a provisioning plan in one transaction: all of it or nothing.
    async fn apply_provisioning(&self, plan: &ProvisionPlan) -> StoreResult<()>;

    // Users.
    async fn insert_user(&self, user: &User, profiles: &[crate::ids::ProfileId])
    -> StoreResult<()>;
    async fn get_user(&self, id: UserId) -> StoreResult<Option<User>>;
    /// The user of `kind` in `tenant` whose e-mail or username matches `login`
    /// case-insensitively. E-mail matches win over username matches.
    async fn find_user(
        &self,
        tenant: TenantId,
        kind: UserKind,
        login: &str,
    ) -> StoreResult<Option<User>> {
        let found = self.find_user_with_profiles(tenant, kind, login).await?;
        Ok(found.map(|(user, _)| user))
    }
    /// As `find_user`, with the names of the user's own profiles (sorted), read in the same
    /// query: a login needs both, and every query is a round trip.
    async fn find_user_with_profiles(
        &self,
        tenant: TenantId,
        kind: UserKind,
        login: &str,
    ) -> StoreResult<Option<(User, Vec<String>)>>;
    async fn list_users(&self, tenant: TenantId, kind: Option<UserKind>) -> StoreResult<Vec<User>>;
    /// Replace the password hash. With `expected` (a rehash of the same password), only if the
    /// stored hash is still that one, so a rehash never overwrites a concurrent password
    /// change; `password_origin` is kept. Without it (a new password), `password_origin` is
    /// cleared and the user's unused reset tokens are voided. Returns whether it was written.
    async fn set_password_hash(
        &self,
        user: UserId,
        hash: &str,
        expected: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<bool>;
    async fn set_user_status(
        &self,
        user: UserId,
        status: UserStatus,
        at: Timestamp,
    ) -> StoreResult<()>;
    async fn user_profile_names(&self, user: UserId) -> StoreResult<Vec<String>>;
    async fn user_profile_ids(&self, user: UserId) -> StoreResult<Vec<crate::ids::ProfileId>>;

    // Sessions and refresh tokens.
    /// Insert a session and, when given, its first refresh token, clear the counters and
    /// append the audit events it lists: all or nothing.
    async fn create_session(&self, new: &NewSession<'_>) -> StoreResult<()>;
    async fn get_session(&self, id: SessionId) -> StoreResult<Option<Session>>;
    async fn list_sessions(&self, filter: &SessionFilter) -> StoreResult<Vec<Session>>;
    /// A refresh token with its session and user, read together (the refresh grant needs
    /// all three).
    async fn find_refresh(&self, hash: &SecretHash) -> StoreResult<Option<RefreshLookup>> {
        Ok(self.find_refreshes(std::slice::from_ref(hash)).await?.pop())
    }
    /// `find_refresh` for several tokens in one read: those found, in any order.
    async fn find_refreshes(&self, hashes: &[SecretHash]) -> StoreResult<Vec<RefreshLookup>>;
    /// Apply a batch of rotations in one transaction, as if one after another: for each, if
    /// its `old` token is not yet rotated, mark it rotated at `next.issued_at` with
    /// `successor`, insert `next`, touch the session and write its audit event. Exactly one
    /// caller presenting a token gets `Rotated`, in this batch or across concurrent ones; the
    /// others get `AlreadyRotated` with the record as the winner left it. One outcome per
    /// rotation, in order; an error means none was applied.
    async fn rotate_refresh(&self, batch: &[Rotation]) -> StoreResult<Vec<RotateOutcome>>;
    /// Revoke a live session and record the change, and unbind the push token of any device
    /// bound to it. Returns false if it was already revoked.
    async fn revoke_session(&self, id: SessionId, at: Timestamp, reason: &str)
    -> StoreResult<bool>;
    /// Revoke every live session of a user (unbinding their devices' push tokens); returns
    /// the ones revoked.
    async fn revoke_user_sessions(
        &self,
        user: UserId,
        at: Timestamp,
        reason: &str,
    ) -> StoreResult<Vec<SessionId>>;
    /// Delete at most `limit` sessions whose absolute end (`absolute_expires_at`) is before
    /// `before`, oldest first, with their refresh tokens, opaque tokens and baskets not
    /// checked out; devices bound to them are unbound. A session with a checked-out basket is
    /// kept (its purchase refers to the basket). One transaction; returns how many sessions
    /// were deleted. Concurrent callers delete disjoint sessions.
    async fn purge_sessions(&self, before: Timestamp, limit: u32) -> StoreResult<u64>;
    /// Delete at most `limit` refresh tokens (rotated or not) that expired before `before`,
    /// oldest first, with the pairs their rotations sealed. One transaction; returns how many
    /// tokens were deleted.
    async fn purge_refresh_tokens(&self, before: Timestamp, limit: u32) -> StoreResult<u64>;

    // Change feed.
    /// Changes with `seq > after` and `at >= not_before`, oldest first, at most `limit`.
    async fn changes_after(
        &self,
        after: i64,
        not_before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Change>>;
    /// Forget changes older than `before`.
    async fn prune_changes(&self, before: Timestamp) -> StoreResult<u64>;

    // Signing keys.
    async fn list_signing_keys(&self) -> StoreResult<Vec<StoredKey>>;
    /// Insert `key` as its tenant's current key; the previous current key gets
    /// `not_after = retire_previous_at`. Records a change.
    async fn add_signing_key(
        &self,
        key: &StoredKey,
        retire_previous_at: Timestamp,
    ) -> StoreResult<()>;

    // Audit.
    async fn append_audit(&self, event: &AuditEvent) -> StoreResult<()>;
    async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEvent>>;
    /// Deletes audit events older than `before` (the retention period).
    async fn prune_audit(&self, before: Timestamp) -> StoreResult<u64>;

    /// Find an app by the hash of its API key (dialects that send only the key).
    async fn find_app_by_key_hash(&self, hash: &SecretHash) -> StoreResult<Option<ClientApp>>;

    /// Counts of rows per entity, for `migrate-store` and diagnostics.
    async fn counts(&self) -> StoreResult<Vec<(&'static str, i64)>>;
    /// Outbox messages not sent: (`pending` | `dead`, count), both always present.
    async fn outbox_depth(&self) -> StoreResult<Vec<(&'static str, i64)>>;
    /// The connection pools' state, for metrics; no database round trip.
    fn pool_state(&self) -> Vec<PoolState>;

    // A whole store, read in pages for `migrate-store` (snapshot.rs).
    /// Up to `limit` users of every tenant, by id, after `after`, each with the ids of their
    /// profiles.
    async fn users_after(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> StoreResult<Vec<(User, Vec<crate::ids::ProfileId>)>>;
    /// Up to `limit` sessions of every tenant, ended ones included, by id, after `after`.
    async fn sessions_after(
        &self,
        after: Option<SessionId>,
        limit: u32,
    ) -> StoreResult<Vec<Session>>;
    /// Every refresh token of these sessions, rotated ones included.
    async fn list_refresh_tokens(&self, sessions: &[SessionId]) -> StoreResult<Vec<RefreshRecord>>;
    /// Every opaque token of these sessions, expired ones included.
    async fn list_opaque_tokens(&self, sessions: &[SessionId]) -> StoreResult<Vec<OpaqueRecord>>;
    /// Every device of a tenant, bound or not, oldest first.
    async fn list_devices(&self, tenant: TenantId) -> StoreResult<Vec<Device>>;
    /// Every basket of a tenant, open or checked out, oldest first.
    async fn list_baskets(&self, tenant: TenantId) -> StoreResult<Vec<Basket>>;
    /// Every purchase of a tenant, oldest first.
    async fn list_purchases(&self, tenant: TenantId) -> StoreResult<Vec<Purchase>>;
    /// Every user number given so far, as (user, number), by number.
    async fn list_user_numbers(&self) -> StoreResult<Vec<(UserId, i64)>>;

    /// Starts writing snapshots into this store, which must hold no tenant yet (else
    /// `Conflict`, and nothing is written). For `migrate-store`.
    async fn begin_restore(&self) -> StoreResult<Box<dyn RestoreTx>>;

    /// Writes one snapshot verbatim into this store, which must hold no tenant yet; one
    /// transaction.
    async fn restore(&self, snapshot: &crate::snapshot::Snapshot) -> StoreResult<()> {
        let mut tx = self.begin_restore().await?;
        tx.write(snapshot).await?;
        tx.commit().await
    }

    // Password resets.
    /// In one transaction: unless the outbox already holds, for `message.to` and
    /// `message.kind`, `max` messages created since `since` for any `(since, max)` of
    /// `limits` (counted within `message.tenant_id`), void the user's unused reset tokens, store `reset` and queue `message`.
    /// Returns false (and writes nothing) when a limit is reached. Concurrent calls for one
    /// address are serialised, so limits hold under races.
    async fn create_reset(
        &self,
        reset: &ResetRecord,
        message: &OutboxMessage,
        limits: &[(Timestamp, u32)],
    ) -> StoreResult<bool>;
    async fn find_reset(&self, hash: &SecretHash) -> StoreResult<Option<ResetRecord>>;
    /// In one transaction: if the token is neither used nor voided, mark it used at `at`,
    /// set the user's password hash (clearing `password_origin`) and void the user's other
    /// tokens. Returns false (and changes nothing) if the token was already spent.
    async fn complete_reset(
        &self,
        hash: &SecretHash,
        new_hash: &str,
        at: Timestamp,
    ) -> StoreResult<bool>;

    // Outbox.
    /// Leases up to `limit` pending messages due at `now` whose lease is free, until
    /// `lease_until`, counting an attempt. Concurrent callers never get the same message.
    async fn claim_outbox(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>>;
    /// Records how an attempt ended and releases the lease. Sent messages lose their payload.
    async fn finish_outbox(&self, id: MessageId, outcome: &OutboxOutcome) -> StoreResult<()>;
    async fn list_outbox(&self, filter: &OutboxFilter) -> StoreResult<Vec<OutboxMessage>>;
    /// Makes a dead or pending message due now with a fresh count of attempts. False if
    /// there is no such message or it was sent.
    async fn retry_outbox(&self, id: MessageId, now: Timestamp) -> StoreResult<bool>;
    /// Deletes sent and dead messages created before `before`.
    async fn purge_outbox(&self, before: Timestamp) -> StoreResult<u64>;

    // Opaque tokens (JRNI).
    /// Insert a session together with its opaque token.
    async fn create_opaque_session(
        &self,
        session: &Session,
        token: &OpaqueRecord,
    ) -> StoreResult<()>;
    async fn find_opaque(&self, hash: &SecretHash) -> StoreResult<Option<OpaqueRecord>>;
    /// Record a later use of the token; never moves its last use backwards.
    async fn touch_opaque(&self, hash: &SecretHash, at: Timestamp) -> StoreResult<()>;
    /// Add an opaque token to an existing session (a JFW auth key minted by a refresh).
    async fn add_opaque_token(&self, token: &OpaqueRecord) -> StoreResult<()>;

    // Devices.
    /// Insert the device of (tenant, code) or update the fields the report gives, binding it
    /// to the user and session when given; returns the stored device. Atomic under
    /// concurrent calls for the same code.
    async fn upsert_device(&self, upsert: &DeviceUpsert) -> StoreResult<Device>;
    async fn get_device(&self, id: DeviceId) -> StoreResult<Option<Device>>;
    async fn find_device(&self, tenant: TenantId, code: &str) -> StoreResult<Option<Device>>;
    /// The devices bound to a user, most recently updated first.
    async fn list_user_devices(&self, user: UserId) -> StoreResult<Vec<Device>>;

    // Baskets and purchases (JRNI).
    /// Store a basket; with `guest`, the guest session and token that own it, together.
    async fn create_basket(
        &self,
        basket: &Basket,
        guest: Option<(&Session, &OpaqueRecord)>,
    ) -> StoreResult<()>;
    async fn get_basket(&self, id: BasketId) -> StoreResult<Option<Basket>>;
    /// The basket of a session that is not checked out yet.
    async fn find_open_basket(&self, session: SessionId) -> StoreResult<Option<Basket>>;
    /// Appends an item; `None` if the basket is missing or checked out.
    async fn add_basket_item(
        &self,
        id: BasketId,
        item: &serde_json::Value,
        at: Timestamp,
    ) -> StoreResult<Option<Basket>>;
    /// In one transaction: mark the basket checked out if it was not, and store the purchase.
    /// Returns false (and writes nothing) if it was already checked out.
    async fn checkout_basket(&self, id: BasketId, purchase: &Purchase) -> StoreResult<bool>;
    async fn find_purchase(&self, long_id_hash: &SecretHash) -> StoreResult<Option<Purchase>>;

    /// The user's integer id (for dialects whose clients expect integers), given on first
    /// call and the same ever after.
    async fn user_number(&self, user: UserId) -> StoreResult<i64>;
    /// The user with an integer id, if any.
    async fn user_by_number(&self, number: i64) -> StoreResult<Option<UserId>>;

    /// Records a reset request for `key` unless one made at or after `live_since` is still
    /// pending; returns whether it was recorded. Atomic under concurrent calls.
    async fn mark_reset_request(
        &self,
        tenant: TenantId,
        key: &SecretHash,
        at: Timestamp,
        live_since: Timestamp,
    ) -> StoreResult<bool>;
    /// Forgets the pending request for `key` (the reset was completed).
    async fn clear_reset_request(&self, tenant: TenantId, key: &SecretHash) -> StoreResult<()>;

    // Rate limits.
    /// Counts one more attempt for each key in turn, in the window starting at
    /// `window_start`, and returns the new counts. Stops after the first count beyond its key's
    /// limit, so an attempt refused by one limit is not counted against the keys after it.
    /// One transaction; atomic: concurrent callers get distinct counts. The keys are distinct.
    async fn hit_counters(
        &self,
        hits: &[(SecretHash, u32)],
        window_start: Timestamp,
    ) -> StoreResult<Vec<u32>>;
    /// A password login's first step: `hit_counters` for its attempt, and
    /// `find_user_with_profiles` for the account it names (read whatever the counts), in one
    /// round trip where the store can.
    async fn count_login_attempt(
        &self,
        attempt: &LoginAttempt<'_>,
    ) -> StoreResult<(Vec<u32>, Option<(User, Vec<String>)>)>;
    /// Forgets every window of these keys (a successful login, an operator's unlock).
    async fn clear_counters(&self, keys: &[SecretHash]) -> StoreResult<()>;
    /// Forgets windows that started before `before`.
    async fn prune_counters(&self, before: Timestamp) -> StoreResult<u64>;
}

/// A login attempt to count (as `Store::hit_counters` counts), and the login it names.
pub struct LoginAttempt<'a> {
    pub hits: &'a [(SecretHash, u32)],
    pub window_start: Timestamp,
    pub tenant: TenantId,
    pub kind: UserKind,
    pub login: &'a str,
}

/// A copy into an empty store under way (`Store::begin_restore`): snapshots written in one
/// transaction, seen by nobody until `commit`. Parts must come in an order that keeps every
/// reference to an earlier part (`snapshot::read_in_parts` gives them so).
#[async_trait]
pub trait RestoreTx: Send {
    async fn write(&mut self, part: &crate::snapshot::Snapshot) -> StoreResult<()>;
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

/// A connection pool: connections open, idle among them, and the most it may open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolState {
    pub pool: &'static str,
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// Implements [`Store`] for a type whose inherent methods carry the trait's names and
/// signatures (each store keeps them in small modules by table): one delegating impl,
/// written once here rather than once per store. Every method must exist as an inherent
/// method: a missing one would make the trait method call itself. The conformance suite
/// calls every method, so such a slip cannot pass it.
#[macro_export]
macro_rules! impl_store_by_delegation {
    ($t:ty) => {
        #[$crate::__async_trait]
        impl $crate::Store for $t {
            async fn ping(&self) -> $crate::store::StoreResult<()> {
                self.ping().await
            }
            async fn list_tenants(
                &self,
            ) -> $crate::store::StoreResult<Vec<$crate::tenant::Tenant>> {
                self.list_tenants().await
            }
            async fn list_storefronts(
                &self,
            ) -> $crate::store::StoreResult<Vec<$crate::tenant::Storefront>> {
                self.list_storefronts().await
            }
            async fn list_apps(&self) -> $crate::store::StoreResult<Vec<$crate::app::ClientApp>> {
                self.list_apps().await
            }
            async fn list_profiles(
                &self,
                tenant: $crate::ids::TenantId,
            ) -> $crate::store::StoreResult<Vec<$crate::profile::Profile>> {
                self.list_profiles(tenant).await
            }
            async fn find_app_by_client_id(
                &self,
                client_id: &str,
            ) -> $crate::store::StoreResult<Option<$crate::app::ClientApp>> {
                self.find_app_by_client_id(client_id).await
            }
            async fn apply_provisioning(
                &self,
                plan: &$crate::provisioning::ProvisionPlan,
            ) -> $crate::store::StoreResult<()> {
                self.apply_provisioning(plan).await
            }
            async fn insert_user(
                &self,
                user: &$crate::user::User,
                profiles: &[$crate::ids::ProfileId],
            ) -> $crate::store::StoreResult<()> {
                self.insert_user(user, profiles).await
            }
            async fn get_user(
                &self,
                id: $crate::ids::UserId,
            ) -> $crate::store::StoreResult<Option<$crate::user::User>> {
                self.get_user(id).await
            }
            async fn find_user_with_profiles(
                &self,
                tenant: $crate::ids::TenantId,
                kind: $crate::user::UserKind,
                login: &str,
            ) -> $crate::store::StoreResult<Option<($crate::user::User, Vec<String>)>> {
                self.find_user_with_profiles(tenant, kind, login).await
            }
            async fn list_users(
                &self,
                tenant: $crate::ids::TenantId,
                kind: Option<$crate::user::UserKind>,
            ) -> $crate::store::StoreResult<Vec<$crate::user::User>> {
                self.list_users(tenant, kind).await
            }
            async fn set_password_hash(
                &self,
                user: $crate::ids::UserId,
                hash: &str,
                expected: Option<&str>,
                at: $crate::clock::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                self.set_password_hash(user, hash, expected, at).await
            }
            async fn set_user_status(
                &self,
                user: $crate::ids::UserId,
                status: $crate::user::UserStatus,
                at: $crate::clock::Timestamp,
            ) -> $crate::store::StoreResult<()> {
                self.set_user_status(user, status, at).await
            }
            async fn user_profile_names(
                &self,
                user: $crate::ids::UserId,
            ) -> $crate::store::StoreResult<Vec<String>> {
                self.user_profile_names(user).await
            }
            async fn user_profile_ids(
                &self,
                user: $crate::ids::UserId,
            ) -> $crate::store::StoreResult<Vec<$crate::ids::ProfileId>> {
                self.user_profile_ids(user).await
            }
            async fn create_session(
                &self,
                new: &$crate::session::NewSession<'_>,
            ) -> $crate::store::StoreResult<()> {
                self.create_session(new).await
            }
            async fn get_session(
                &self,
                id: $crate::ids::SessionId,
            ) -> $crate::store::StoreResult<Option<$crate::session::Session>> {
                self.get_session(id).await
            }
            async fn list_sessions(
                &self,
                filter: &$crate::session::SessionFilter,
            ) -> $crate::store::StoreResult<Vec<$crate::session::Session>> {
                self.list_sessions(filter).await
            }
            async fn find_refreshes(
                &self,
                hashes: &[$crate::secret::SecretHash],
            ) -> $crate::store::StoreResult<Vec<$crate::session::RefreshLookup>> {
                self.find_refreshes(hashes).await
            }
            async fn rotate_refresh(
                &self,
                batch: &[$crate::session::Rotation],
            ) -> $crate::store::StoreResult<Vec<$crate::session::RotateOutcome>> {
                self.rotate_refresh(batch).await
            }
            async fn revoke_session(
                &self,
                id: $crate::ids::SessionId,
                at: $crate::clock::Timestamp,
                reason: &str,
            ) -> $crate::store::StoreResult<bool> {
                self.revoke_session(id, at, reason).await
            }
            async fn revoke_user_sessions(
                &self,
                user: $crate::ids::UserId,
                at: $crate::clock::Timestamp,
                reason: &str,
            ) -> $crate::store::StoreResult<Vec<$crate::ids::SessionId>> {
                self.revoke_user_sessions(user, at, reason).await
            }
            async fn purge_sessions(
                &self,
                before: $crate::clock::Timestamp,
                limit: u32,
            ) -> $crate::store::StoreResult<u64> {
                self.purge_sessions(before, limit).await
            }
            async fn purge_refresh_tokens(
                &self,
                before: $crate::clock::Timestamp,
                limit: u32,
            ) -> $crate::store::StoreResult<u64> {
                self.purge_refresh_tokens(before, limit).await
            }
            async fn changes_after(
                &self,
                after: i64,
                not_before: $crate::clock::Timestamp,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::session::Change>> {
                self.changes_after(after, not_before, limit).await
            }
            async fn prune_changes(
                &self,
                before: $crate::clock::Timestamp,
            ) -> $crate::store::StoreResult<u64> {
                self.prune_changes(before).await
            }
            async fn list_signing_keys(
                &self,
            ) -> $crate::store::StoreResult<Vec<$crate::keys::StoredKey>> {
                self.list_signing_keys().await
            }
            async fn add_signing_key(
                &self,
                key: &$crate::keys::StoredKey,
                retire_previous_at: $crate::clock::Timestamp,
            ) -> $crate::store::StoreResult<()> {
                self.add_signing_key(key, retire_previous_at).await
            }
            async fn append_audit(
                &self,
                event: &$crate::audit::AuditEvent,
            ) -> $crate::store::StoreResult<()> {
                self.append_audit(event).await
            }
            async fn list_audit(
                &self,
                filter: &$crate::audit::AuditFilter,
            ) -> $crate::store::StoreResult<Vec<$crate::audit::AuditEvent>> {
                self.list_audit(filter).await
            }
            async fn prune_audit(
                &self,
                before: $crate::clock::Timestamp,
            ) -> $crate::store::StoreResult<u64> {
                self.prune_audit(before).await
            }
            async fn find_app_by_key_hash(
                &self,
                hash: &$crate::secret::SecretHash,
            ) -> $crate::store::StoreResult<Option<$crate::app::ClientApp>> {
                self.find_app_by_key_hash(hash).await
            }
            async fn counts(&self) -> $crate::store::StoreResult<Vec<(&'static str, i64)>> {
                self.counts().await
            }
            async fn outbox_depth(&self) -> $crate::store::StoreResult<Vec<(&'static str, i64)>> {
                self.outbox_depth().await
            }
            fn pool_state(&self) -> Vec<$crate::store::PoolState> {
                self.pool_state()
            }
            async fn users_after(
                &self,
                after: Option<$crate::ids::UserId>,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<($crate::user::User, Vec<$crate::ids::ProfileId>)>>
            {
                self.users_after(after, limit).await
            }
            async fn sessions_after(
                &self,
                after: Option<$crate::ids::SessionId>,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::session::Session>> {
                self.sessions_after(after, limit).await
            }
            async fn list_refresh_tokens(
                &self,
                sessions: &[$crate::ids::SessionId],
            ) -> $crate::store::StoreResult<Vec<$crate::session::RefreshRecord>> {
                self.list_refresh_tokens(sessions).await
            }
            async fn list_opaque_tokens(
                &self,
                sessions: &[$crate::ids::SessionId],
            ) -> $crate::store::StoreResult<Vec<$crate::opaque::OpaqueRecord>> {
                self.list_opaque_tokens(sessions).await
            }
            async fn list_devices(
                &self,
                tenant: $crate::ids::TenantId,
            ) -> $crate::store::StoreResult<Vec<$crate::device::Device>> {
                self.list_devices(tenant).await
            }
            async fn list_baskets(
                &self,
                tenant: $crate::ids::TenantId,
            ) -> $crate::store::StoreResult<Vec<$crate::basket::Basket>> {
                self.list_baskets(tenant).await
            }
            async fn list_purchases(
                &self,
                tenant: $crate::ids::TenantId,
            ) -> $crate::store::StoreResult<Vec<$crate::basket::Purchase>> {
                self.list_purchases(tenant).await
            }
            async fn list_user_numbers(
                &self,
            ) -> $crate::store::StoreResult<Vec<($crate::ids::UserId, i64)>> {
                self.list_user_numbers().await
            }
            async fn begin_restore(
                &self,
            ) -> $crate::store::StoreResult<Box<dyn $crate::store::RestoreTx>> {
                self.begin_restore().await
            }
            async fn create_reset(
                &self,
                reset: &$crate::reset::ResetRecord,
                message: &$crate::outbox::OutboxMessage,
                limits: &[($crate::clock::Timestamp, u32)],
            ) -> $crate::store::StoreResult<bool> {
                self.create_reset(reset, message, limits).await
            }
            async fn find_reset(
                &self,
                hash: &$crate::secret::SecretHash,
            ) -> $crate::store::StoreResult<Option<$crate::reset::ResetRecord>> {
                self.find_reset(hash).await
            }
            async fn complete_reset(
                &self,
                hash: &$crate::secret::SecretHash,
                new_hash: &str,
                at: $crate::clock::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                self.complete_reset(hash, new_hash, at).await
            }
            async fn claim_outbox(
                &self,
                now: $crate::clock::Timestamp,
                lease_until: $crate::clock::Timestamp,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::outbox::OutboxMessage>> {
                self.claim_outbox(now, lease_until, limit).await
            }
            async fn finish_outbox(
                &self,
                id: $crate::ids::MessageId,
                outcome: &$crate::outbox::OutboxOutcome,
            ) -> $crate::store::StoreResult<()> {
                self.finish_outbox(id, outcome).await
            }
            async fn list_outbox(
                &self,
                filter: &$crate::outbox::OutboxFilter,
            ) -> $crate::store::StoreResult<Vec<$crate::outbox::OutboxMessage>> {
                self.list_outbox(filter).await
            }
            async fn retry_outbox(
                &self,
                id: $crate::ids::MessageId,
                now: $crate::clock::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                self.retry_outbox(id, now).await
            }
            async fn purge_outbox(
                &self,
                before: $crate::clock::Timestamp,
            ) -> $crate::store::StoreResult<u64> {
                self.purge_outbox(before).await
            }
            async fn create_opaque_session(
                &self,
                session: &$crate::session::Session,
                token: &$crate::opaque::OpaqueRecord,
            ) -> $crate::store::StoreResult<()> {
                self.create_opaque_session(session, token).await
            }
            async fn find_opaque(
                &self,
                hash: &$crate::secret::SecretHash,
            ) -> $crate::store::StoreResult<Option<$crate::opaque::OpaqueRecord>> {
                self.find_opaque(hash).await
            }
            async fn touch_opaque(
                &self,
                hash: &$crate::secret::SecretHash,
                at: $crate::clock::Timestamp,
            ) -> $crate::store::StoreResult<()> {
                self.touch_opaque(hash, at).await
            }
            async fn add_opaque_token(
                &self,
                token: &$crate::opaque::OpaqueRecord,
            ) -> $crate::store::StoreResult<()> {
                self.add_opaque_token(token).await
            }
            async fn upsert_device(
                &self,
                upsert: &$crate::device::DeviceUpsert,
            ) -> $crate::store::StoreResult<$crate::device::Device> {
                self.upsert_device(upsert).await
            }
            async fn get_device(
                &self,
                id: $crate::ids::DeviceId,
            ) -> $crate::store::StoreResult<Option<$crate::device::Device>> {
                self.get_device(id).await
            }
            async fn find_device(
                &self,
                tenant: $crate::ids::TenantId,
                code: &str,
            ) -> $crate::store::StoreResult<Option<$crate::device::Device>> {
                self.find_device(tenant, code).await
            }
            async fn list_user_devices(
                &self,
                user: $crate::ids::UserId,
            ) -> $crate::store::StoreResult<Vec<$crate::device::Device>> {
                self.list_user_devices(user).await
            }
            async fn create_basket(
                &self,
                basket: &$crate::basket::Basket,
                guest: Option<(&$crate::session::Session, &$crate::opaque::OpaqueRecord)>,
            ) -> $crate::store::StoreResult<()> {
                self.create_basket(basket, guest).await
            }
            async fn get_basket(
                &self,
                id: $crate::ids::BasketId,
            ) -> $crate::store::StoreResult<Option<$crate::basket::Basket>> {
                self.get_basket(id).await
            }
            async fn find_open_basket(
                &self,
                session: $crate::ids::SessionId,
            ) -> $crate::store::StoreResult<Option<$crate::basket::Basket>> {
                self.find_open_basket(session).await
            }
            async fn add_basket_item(
                &self,
                id: $crate::ids::BasketId,
                item: &serde_json::Value,
                at: $crate::clock::Timestamp,
            ) -> $crate::store::StoreResult<Option<$crate::basket::Basket>> {
                self.add_basket_item(id, item, at).await
            }
            async fn checkout_basket(
                &self,
                id: $crate::ids::BasketId,
                purchase: &$crate::basket::Purchase,
            ) -> $crate::store::StoreResult<bool> {
                self.checkout_basket(id, purchase).await
            }
            async fn find_purchase(
                &self,
                long_id_hash: &$crate::secret::SecretHash,
            ) -> $crate::store::StoreResult<Option<$crate::basket::Purchase>> {
                self.find_purchase(long_id_hash).await
            }
            async fn user_number(
                &self,
                user: $crate::ids::UserId,
            ) -> $crate::store::StoreResult<i64> {
                self.user_number(user).await
            }
            async fn user_by_number(
                &self,
                number: i64,
            ) -> $crate::store::StoreResult<Option<$crate::ids::UserId>> {
                self.user_by_number(number).await
            }
            async fn mark_reset_request(
                &self,
                tenant: $crate::ids::TenantId,
                key: &$crate::secret::SecretHash,
                at: $crate::clock::Timestamp,
                live_since: $crate::clock::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                self.mark_reset_request(tenant, key, at, live_since).await
            }
            async fn clear_reset_request(
                &self,
                tenant: $crate::ids::TenantId,
                key: &$crate::secret::SecretHash,
            ) -> $crate::store::StoreResult<()> {
                self.clear_reset_request(tenant, key).await
            }
            async fn hit_counters(
                &self,
                hits: &[($crate::secret::SecretHash, u32)],
                window_start: $crate::clock::Timestamp,
            ) -> $crate::store::StoreResult<Vec<u32>> {
                self.hit_counters(hits, window_start).await
            }
            async fn count_login_attempt(
                &self,
                attempt: &$crate::store::LoginAttempt<'_>,
            ) -> $crate::store::StoreResult<(Vec<u32>, Option<($crate::user::User, Vec<String>)>)>
            {
                self.count_login_attempt(attempt).await
            }
            async fn clear_counters(
                &self,
                keys: &[$crate::secret::SecretHash],
            ) -> $crate::store::StoreResult<()> {
                self.clear_counters(keys).await
            }
            async fn prune_counters(
                &self,
                before: $crate::clock::Timestamp,
            ) -> $crate::store::StoreResult<u64> {
                self.prune_counters(before).await
            }
        }
    };
}
