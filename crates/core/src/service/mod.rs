//! The `Core` service: the one entry point every API calls. Split by area: `login` (grants),
//! `refresh`, `tokens` (validation, introspection, revocation), `admin` (operator tasks) and
//! `import` (provisioning files).

mod admin;
mod authorize;
mod basket;
mod batches;
mod delivery;
mod device;
mod import;
mod login;
mod opaque;
mod password;
mod profiles;
mod refresh;
mod refresh_reads;
mod rotations;
mod tokens;

pub use admin::NewUser;
pub use authorize::Identity;
pub use basket::CONTACT;
pub use device::DeviceView;
pub use import::ImportReport;
pub use login::{ExtraClaims, PasswordLogin, TokenOptions};
pub use opaque::{OpaqueGrant, TOUCH_GRANULARITY};
pub use password::ForgotPassword;
pub use tokens::Introspection;

use crate::audit::{AuditEvent, RequestContext};
use crate::clock::{Clock, Timestamp};
use crate::directory::Directory;
use crate::error::{CoreError, CoreResult};
use crate::ids::{AppId, AuditId, SessionId, TenantId, UserId};
use crate::keys::{self, KeyRing};
use crate::password::{HashingSettings, PasswordHasher};
use crate::secret::MasterKey;
use crate::session::ChangeKind;
use crate::store::Store;
use crate::tenant::Tenant;
use crate::validation::Validator;
use arc_swap::ArcSwap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio_util::task::TaskTracker;

/// Settings of the core that are not per tenant.
#[derive(Clone, Debug)]
pub struct CoreSettings {
    /// The `iss` of every token and the base of the discovery document.
    pub issuer: String,
    pub hashing: HashingSettings,
    /// Entries of the verified-token cache.
    pub validation_cache: u64,
    /// Revocations are remembered at least this long (the longest access-token lifetime of
    /// any API served, dialects included).
    pub min_revocation_window: Duration,
    pub outbox: crate::outbox::OutboxSettings,
    /// Audit events are kept this long; zero keeps them for ever.
    pub audit_retention: Duration,
    /// Sessions are deleted this long after their absolute end, refresh tokens this long
    /// after they expire; zero keeps both for ever.
    pub session_retention: Duration,
}

impl Default for CoreSettings {
    fn default() -> Self {
        Self {
            issuer: "http://127.0.0.1:8080".to_owned(),
            hashing: HashingSettings::default(),
            validation_cache: 200_000,
            min_revocation_window: Duration::from_secs(24 * 3600),
            outbox: crate::outbox::OutboxSettings::default(),
            audit_retention: Duration::from_secs(365 * 24 * 3600),
            session_retention: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

pub struct Core {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    master: MasterKey,
    settings: CoreSettings,
    hasher: PasswordHasher,
    directory: ArcSwap<Directory>,
    keys: ArcSwap<KeyRing>,
    validator: Validator,
    /// Last change-feed entry applied.
    cursor: AtomicI64,
    sync_lock: tokio::sync::Mutex<()>,
    /// Opaque tokens this node has seen (JRNI), with their last use.
    opaque:
        moka::sync::Cache<crate::secret::SecretHash, Arc<std::sync::Mutex<opaque::OpaqueState>>>,
    /// Set when the feed says the directory or the keys changed, until a reload succeeds.
    directory_stale: std::sync::atomic::AtomicBool,
    keys_stale: std::sync::atomic::AtomicBool,
    /// Woken when this node queues an e-mail, so the worker sends it at once.
    outbox_signal: Arc<tokio::sync::Notify>,
    /// Profile names of users seen by forward-auth with opaque tokens (JWTs carry theirs).
    user_profiles: moka::sync::Cache<UserId, Arc<Vec<String>>>,
    /// Group-commits refresh-token rotations.
    rotations: rotations::RotationWriter,
    /// Reads the refresh grant's tokens in batches.
    refresh_reads: refresh_reads::RefreshReader,
    /// Work a request starts and does not wait for (queueing a reset e-mail), which a node
    /// shutting down finishes first.
    background: TaskTracker,
}

impl Core {
    /// Load the directory and keys, give every tenant a signing key if it has none, and read
    /// the recent revocations.
    pub async fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        master: MasterKey,
        settings: CoreSettings,
    ) -> CoreResult<Self> {
        let hasher = PasswordHasher::new(&settings.hashing)?;
        let core = Core {
            rotations: rotations::RotationWriter::start(store.clone()),
            refresh_reads: refresh_reads::RefreshReader::start(store.clone()),
            store,
            clock,
            master,
            hasher,
            validator: Validator::new(settings.validation_cache),
            settings,
            directory: ArcSwap::from_pointee(Directory::default()),
            keys: ArcSwap::from_pointee(KeyRing::default()),
            cursor: AtomicI64::new(0),
            sync_lock: tokio::sync::Mutex::new(()),
            outbox_signal: Arc::new(tokio::sync::Notify::new()),
            opaque: opaque::new_cache(),
            user_profiles: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(60))
                .build(),
            directory_stale: std::sync::atomic::AtomicBool::new(false),
            keys_stale: std::sync::atomic::AtomicBool::new(false),
            background: TaskTracker::new(),
        };
        core.reload_directory().await?;
        core.ensure_keys().await?;
        core.reload_keys().await?;
        core.sync_changes().await?;
        Ok(core)
    }

    /// The sizes of the in-memory caches, for metrics: verified access tokens, revoked
    /// sessions remembered, opaque tokens seen, users' profile lists.
    pub fn cache_sizes(&self) -> [(&'static str, u64); 4] {
        let (verified, revoked) = self.validator.sizes();
        self.opaque.run_pending_tasks();
        self.user_profiles.run_pending_tasks();
        [
            ("verified_tokens", verified),
            (
                "revoked_sessions",
                u64::try_from(revoked).unwrap_or(u64::MAX),
            ),
            ("opaque_tokens", self.opaque.entry_count()),
            ("user_profiles", self.user_profiles.entry_count()),
        ]
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
    pub fn settings(&self) -> &CoreSettings {
        &self.settings
    }
    pub fn directory(&self) -> Arc<Directory> {
        self.directory.load_full()
    }
    /// Notified when this node queues an e-mail.
    pub fn outbox_signal(&self) -> Arc<tokio::sync::Notify> {
        self.outbox_signal.clone()
    }
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// Waits for the work requests started in the background; for when requests have ended.
    pub async fn finish_background_work(&self) {
        self.background.close();
        self.background.wait().await;
    }

    /// The store answers.
    pub async fn ready(&self) -> CoreResult<()> {
        Ok(self.store.ping().await?)
    }

    pub(crate) fn tenant(&self, id: TenantId) -> CoreResult<Arc<Tenant>> {
        self.directory()
            .tenant(id)
            .cloned()
            .ok_or(CoreError::NotFound("tenant"))
    }

    pub fn tenant_by_slug(&self, slug: &str) -> CoreResult<Arc<Tenant>> {
        self.directory()
            .tenant_by_slug(slug)
            .cloned()
            .ok_or(CoreError::NotFound("tenant"))
    }

    async fn reload_directory(&self) -> CoreResult<()> {
        let (tenants, stores, apps) = tokio::try_join!(
            self.store.list_tenants(),
            self.store.list_storefronts(),
            self.store.list_apps()
        )?;
        let mut profiles = Vec::new();
        for t in &tenants {
            profiles.extend(self.store.list_profiles(t.id).await?);
        }
        self.directory.store(Arc::new(
            Directory::new(tenants, stores, apps).with_profiles(profiles),
        ));
        // Profile assignments may have changed with the directory.
        self.user_profiles.invalidate_all();
        Ok(())
    }

    async fn reload_keys(&self) -> CoreResult<()> {
        let stored = self.store.list_signing_keys().await?;
        self.keys
            .store(Arc::new(KeyRing::load(&stored, &self.master)?));
        Ok(())
    }

    /// Every enabled tenant has a current key of its configured algorithm.
    async fn ensure_keys(&self) -> CoreResult<()> {
        let stored = self.store.list_signing_keys().await?;
        let ring = KeyRing::load(&stored, &self.master)?;
        let dir = self.directory();
        for t in dir.tenants() {
            if ring.current(t.id).is_none_or(|k| k.alg != t.signing_alg) {
                self.add_key(t).await?;
            }
        }
        Ok(())
    }

    async fn add_key(&self, tenant: &Tenant) -> CoreResult<String> {
        let now = self.now();
        let key = keys::generate(tenant.id, tenant.signing_alg, &self.master, now)?;
        let retire = now.plus(self.revocation_window());
        self.store.add_signing_key(&key, retire).await?;
        tracing::info!(tenant = %tenant.slug, kid = %key.kid, alg = tenant.signing_alg.as_str(), "signing key created");
        Ok(key.kid)
    }

    /// How long a revocation must be remembered: the longest an access token can live.
    pub(crate) fn revocation_window(&self) -> Duration {
        self.directory()
            .tenants()
            .map(|t| t.tokens.max_access_ttl())
            .fold(self.settings.min_revocation_window, Duration::max)
    }

    /// Apply the change feed: revocations, key and directory changes made by other nodes or by
    /// the CLI. Called at start and then periodically.
    pub async fn sync_changes(&self) -> CoreResult<()> {
        let _one_at_a_time = self.sync_lock.lock().await;
        let now = self.now();
        let window = self.revocation_window();
        let not_before = now.minus(window);
        loop {
            let after = self.cursor.load(Ordering::SeqCst);
            let batch = self.store.changes_after(after, not_before, 1000).await?;
            let Some(last) = batch.last().map(|c| c.seq) else {
                break;
            };
            for change in &batch {
                match &change.what {
                    ChangeKind::SessionRevoked(sid) => {
                        self.validator.mark_revoked(*sid, change.at.plus(window))
                    }
                    ChangeKind::KeysChanged => self.keys_stale.store(true, Ordering::SeqCst),
                    ChangeKind::DirectoryChanged => {
                        self.directory_stale.store(true, Ordering::SeqCst)
                    }
                }
            }
            self.cursor.store(last, Ordering::SeqCst);
            if batch.len() < 1000 {
                break;
            }
        }
        // The flags stay set until a reload succeeds, so a failed one is retried next time
        // even though the cursor has moved on.
        if self.directory_stale.load(Ordering::SeqCst) {
            self.reload_directory().await?;
            self.directory_stale.store(false, Ordering::SeqCst);
        }
        if self.keys_stale.load(Ordering::SeqCst) {
            self.reload_keys().await?;
            self.keys_stale.store(false, Ordering::SeqCst);
        }
        self.validator.prune(now);
        Ok(())
    }

    /// A node's periodic clean-up: rate-limit windows, audit events past their retention,
    /// ended sessions and expired refresh tokens, and change-feed entries no node needs any
    /// more. Returns how many
    /// change-feed entries went.
    pub async fn housekeeping(&self) -> CoreResult<u64> {
        // Rate-limit windows older than a day count for nothing any more.
        self.store
            .prune_counters(self.now().minus(Duration::from_secs(86_400)))
            .await?;
        let retention = self.settings.audit_retention;
        if !retention.is_zero() {
            let pruned = self.store.prune_audit(self.now().minus(retention)).await?;
            if pruned > 0 {
                tracing::info!(pruned, "audit events past their retention deleted");
            }
        }
        // Its own failure: the change feed is pruned all the same.
        if let Err(e) = self.purge_ended().await {
            tracing::warn!(error = %e, "deleting ended sessions failed");
        }
        let before = self.now().minus(self.revocation_window() * 2);
        Ok(self.store.prune_changes(before).await?)
    }

    /// Delete what ended longer ago than the retention: sessions past their absolute end,
    /// with what hangs off them, then refresh tokens past their expiry (the rotated ones a
    /// live session left behind). In batches, each one short transaction, so logins and
    /// refreshes wait for at most one.
    pub async fn purge_ended(&self) -> CoreResult<Purged> {
        const BATCH: u32 = 500;
        let retention = self.settings.session_retention;
        if retention.is_zero() {
            return Ok(Purged::default());
        }
        let before = self.now().minus(retention);
        let store = &self.store;
        let purged = Purged {
            sessions: in_batches(BATCH, || store.purge_sessions(before, BATCH)).await?,
            refresh_tokens: in_batches(BATCH, || store.purge_refresh_tokens(before, BATCH)).await?,
        };
        if purged.sessions > 0 || purged.refresh_tokens > 0 {
            metrics::counter!("portcullis_sessions_purged_total").increment(purged.sessions);
            metrics::counter!("portcullis_refresh_tokens_purged_total")
                .increment(purged.refresh_tokens);
            tracing::info!(
                sessions = purged.sessions,
                refresh_tokens = purged.refresh_tokens,
                "sessions and refresh tokens past their retention deleted"
            );
        }
        Ok(purged)
    }

    pub(crate) fn mark_revoked(&self, sid: SessionId) {
        self.validator
            .mark_revoked(sid, self.now().plus(self.revocation_window()));
    }

    /// Write an audit event. A failure to write is logged, not returned: the action it
    /// describes has already happened.
    pub(crate) async fn audit(&self, ev: AuditRecord<'_>) {
        let action = ev.action;
        let event = self.audit_event(ev);
        if let Err(e) = self.store.append_audit(&event).await {
            tracing::error!(error = %e, action, "audit event not written");
        }
    }

    /// The event an audit record describes, stamped now.
    pub(crate) fn audit_event(&self, ev: AuditRecord<'_>) -> AuditEvent {
        AuditEvent {
            id: AuditId::new(),
            at: self.now(),
            tenant_id: ev.tenant,
            user_id: ev.user,
            app_id: ev.app,
            session_id: ev.session,
            action: ev.action.to_owned(),
            detail: ev.detail,
            ip: ev.ctx.and_then(|c| c.ip.clone()),
        }
    }
}

/// The parts of an audit event a service method supplies.
#[derive(Default)]
pub(crate) struct AuditRecord<'a> {
    pub action: &'a str,
    pub tenant: Option<TenantId>,
    pub user: Option<UserId>,
    pub app: Option<AppId>,
    pub session: Option<SessionId>,
    pub detail: String,
    pub ctx: Option<&'a RequestContext>,
}

/// What `Core::purge_ended` deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub sessions: u64,
    pub refresh_tokens: u64,
}

/// Runs `step` (one batch of at most `batch` deletions) until a batch comes back short;
/// returns the total.
async fn in_batches<F, Fut>(batch: u32, mut step: F) -> CoreResult<u64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = crate::StoreResult<u64>>,
{
    let mut total = 0;
    loop {
        let done = step().await?;
        total += done;
        if done < u64::from(batch) {
            return Ok(total);
        }
        // Let the requests queued behind this batch's write go first.
        tokio::task::yield_now().await;
    }
}
