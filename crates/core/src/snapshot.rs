//! Everything a store holds, for copying one store into another (`portcullis migrate-store`).
//! Ended sessions are left behind, unless a purchase refers to them; revoked ones are copied
//! (and their revocation recorded again in the target's change feed) while their tokens
//! could still be presented.

use crate::app::ClientApp;
use crate::audit::{AuditEvent, AuditFilter};
use crate::basket::{Basket, Purchase};
use crate::clock::Timestamp;
use crate::device::Device;
use crate::ids::{ProfileId, SessionId, UserId};
use crate::keys::StoredKey;
use crate::opaque::OpaqueRecord;
use crate::profile::Profile;
use crate::session::{RefreshRecord, Session, SessionFilter};
use crate::store::{Store, StoreResult};
use crate::tenant::{Storefront, Tenant};
use crate::user::User;
use std::collections::HashSet;

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
    pub opaque_tokens: Vec<OpaqueRecord>,
    pub audit_events: Vec<AuditEvent>,
    /// The integer ids dialect clients know users by: a user keeps theirs.
    pub user_numbers: Vec<(UserId, i64)>,
    pub devices: Vec<Device>,
    pub baskets: Vec<Basket>,
    pub purchases: Vec<Purchase>,
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
            snap.devices.extend(store.list_devices(t.id).await?);
            snap.baskets.extend(store.list_baskets(t.id).await?);
            snap.purchases.extend(store.list_purchases(t.id).await?);
        }
        snap.user_numbers = store.list_user_numbers().await?;
        // A checked-out basket's purchase refers to it, and it to its session: kept, however
        // the session ended.
        let bought: HashSet<SessionId> = snap
            .baskets
            .iter()
            .filter(|b| b.checked_out_at.is_some())
            .map(|b| b.session_id)
            .collect();
        // Live sessions with their refresh and opaque tokens, and revoked ones whose access
        // tokens may still circulate, so the target keeps refusing them. An opaque token's
        // session is live while the token is: its use slides the token, not the session.
        let all = SessionFilter {
            limit: u32::MAX,
            ..Default::default()
        };
        for s in store.list_sessions(&all).await? {
            let open = s.revoked_at.is_none() && now < s.absolute_expires_at;
            let opaque = if open {
                store.list_opaque_tokens(s.id).await?
            } else {
                Vec::new()
            };
            let live =
                open && (now < s.idle_expires_at || opaque.iter().any(|t| now < t.expires_at()));
            if live {
                snap.refresh_tokens
                    .extend(store.list_refresh_tokens(s.id).await?);
                snap.opaque_tokens.extend(opaque);
                snap.sessions.push(s);
            } else if (s.revoked_at.is_some() && now < s.absolute_expires_at)
                || bought.contains(&s.id)
            {
                snap.sessions.push(s);
            }
        }
        // What hangs off a session left behind goes with it: its open baskets, and the
        // binding of its devices (they stay registered to their user).
        let copied: HashSet<SessionId> = snap.sessions.iter().map(|s| s.id).collect();
        snap.baskets
            .retain(|b| b.checked_out_at.is_some() || copied.contains(&b.session_id));
        for d in &mut snap.devices {
            if d.session_id.is_some_and(|id| !copied.contains(&id)) {
                d.session_id = None;
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
            ("opaque_tokens", n(self.opaque_tokens.len())),
            ("signing_keys", n(self.signing_keys.len())),
            ("audit_events", n(self.audit_events.len())),
            ("user_numbers", n(self.user_numbers.len())),
            ("devices", n(self.devices.len())),
            ("baskets", n(self.baskets.len())),
            ("purchases", n(self.purchases.len())),
        ]
    }
}
