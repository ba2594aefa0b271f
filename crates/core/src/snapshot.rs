//! Everything a store holds, for copying one store into another (`portcullis migrate-store`).
//! Expired sessions are left behind; revoked ones are copied (and their revocation recorded
//! again in the target's change feed) while their tokens could still be presented.

use crate::app::ClientApp;
use crate::audit::{AuditEvent, AuditFilter};
use crate::clock::Timestamp;
use crate::ids::{ProfileId, UserId};
use crate::keys::StoredKey;
use crate::profile::Profile;
use crate::session::{RefreshRecord, Session, SessionFilter};
use crate::store::{Store, StoreResult};
use crate::tenant::{Storefront, Tenant};
use crate::user::User;

#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub tenants: Vec<Tenant>,
    pub storefronts: Vec<Storefront>,
    pub apps: Vec<ClientApp>,
    pub profiles: Vec<Profile>,
    pub users: Vec<User>,
    pub user_profiles: Vec<(UserId, ProfileId)>,
    pub signing_keys: Vec<StoredKey>,
    pub sessions: Vec<Session>,
    pub refresh_tokens: Vec<RefreshRecord>,
    pub audit_events: Vec<AuditEvent>,
}

impl Snapshot {
    /// Reads everything from `store`; sessions live at `now` only.
    pub async fn take(store: &dyn Store, now: Timestamp) -> StoreResult<Snapshot> {
        let mut snap = Snapshot {
            tenants: store.list_tenants().await?,
            storefronts: store.list_storefronts().await?,
            apps: store.list_apps().await?,
            signing_keys: store.list_signing_keys().await?,
            audit_events: store
                .list_audit(&AuditFilter {
                    limit: u32::MAX,
                    ..Default::default()
                })
                .await?,
            ..Default::default()
        };
        for t in &snap.tenants {
            snap.profiles.extend(store.list_profiles(t.id).await?);
            for u in store.list_users(t.id, None).await? {
                for p in store.user_profile_ids(u.id).await? {
                    snap.user_profiles.push((u.id, p));
                }
                snap.users.push(u);
            }
        }
        // Live sessions with their refresh tokens, and revoked ones whose access tokens may
        // still circulate, so the target keeps refusing them.
        let all = SessionFilter {
            limit: u32::MAX,
            ..Default::default()
        };
        for s in store.list_sessions(&all).await? {
            if s.is_live(now) {
                snap.refresh_tokens
                    .extend(store.list_refresh_tokens(s.id).await?);
                snap.sessions.push(s);
            } else if s.revoked_at.is_some() && now < s.absolute_expires_at {
                snap.sessions.push(s);
            }
        }
        Ok(snap)
    }

    /// Row counts per table, named as `Store::counts` names them.
    pub fn counts(&self) -> Vec<(&'static str, i64)> {
        let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        vec![
            ("tenants", n(self.tenants.len())),
            ("storefronts", n(self.storefronts.len())),
            ("apps", n(self.apps.len())),
            ("users", n(self.users.len())),
            ("profiles", n(self.profiles.len())),
            ("user_profiles", n(self.user_profiles.len())),
            ("sessions", n(self.sessions.len())),
            ("refresh_tokens", n(self.refresh_tokens.len())),
            ("signing_keys", n(self.signing_keys.len())),
            ("audit_events", n(self.audit_events.len())),
        ]
    }
}
