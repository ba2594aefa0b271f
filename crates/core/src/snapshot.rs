//! Everything a store holds, for copying one store into another (`portcullis migrate-store`).
//! Ended sessions are left behind, unless a purchase refers to them; revoked ones are copied
//! (and their revocation recorded again in the target's change feed) while their tokens
//! could still be presented. A store is read and written in parts of a bounded size
//! (`read_in_parts`, `copy`), so a copy of millions of sessions fits in memory.

use crate::app::ClientApp;
use crate::audit::{AuditEvent, AuditFilter};
use crate::basket::{Basket, Purchase};
use crate::clock::Timestamp;
use crate::device::Device;
use crate::ids::{ProfileId, SessionId, UserId};
use crate::keys::StoredKey;
use crate::opaque::OpaqueRecord;
use crate::profile::Profile;
use crate::session::{RefreshRecord, Session};
use crate::store::{RestoreTx, Store, StoreResult};
use crate::tenant::{Storefront, Tenant};
use crate::user::User;
use async_trait::async_trait;
use std::collections::HashSet;

/// Rows of a store: all of them (`take`), or one part of a copy (`read_in_parts`).
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

/// Rows per part of a streamed read (`read_in_parts`): a page of users or sessions, with
/// their tokens, is a few MiB however large the store.
pub const PART_ROWS: u32 = 1000;

/// Copies `source` into `target`, which must hold no tenant yet, part by part in one
/// transaction on the target; returns what was written, per table (as `Snapshot::counts`).
/// Memory holds one part at a time, besides the devices, baskets and purchases.
pub async fn copy(
    source: &dyn Store,
    target: &dyn Store,
    now: Timestamp,
) -> StoreResult<Vec<(&'static str, i64)>> {
    let mut writer = Writer {
        tx: target.begin_restore().await?,
        written: Snapshot::default().counts(),
    };
    read_in_parts(source, now, PART_ROWS, &mut writer).await?;
    writer.tx.commit().await?;
    Ok(writer.written)
}

/// Where `read_in_parts` hands each part.
#[async_trait]
pub trait Parts: Send {
    async fn put(&mut self, part: Snapshot) -> StoreResult<()>;
}

/// Parts written to a target as they come, counted.
struct Writer {
    tx: Box<dyn RestoreTx>,
    written: Vec<(&'static str, i64)>,
}

#[async_trait]
impl Parts for Writer {
    async fn put(&mut self, part: Snapshot) -> StoreResult<()> {
        self.tx.write(&part).await?;
        for ((_, total), (_, n)) in self.written.iter_mut().zip(part.counts()) {
            *total += n;
        }
        Ok(())
    }
}

/// Parts kept as they came.
#[async_trait]
impl Parts for Vec<Snapshot> {
    async fn put(&mut self, part: Snapshot) -> StoreResult<()> {
        self.push(part);
        Ok(())
    }
}

/// Parts gathered into one snapshot (`Snapshot::take`).
#[async_trait]
impl Parts for Snapshot {
    async fn put(&mut self, part: Snapshot) -> StoreResult<()> {
        self.absorb(part);
        Ok(())
    }
}

/// Reads everything a copy of `store` needs, in parts of up to `rows` users, sessions or
/// audit events, handed to `sink` in an order a target can write them in: the directory,
/// users, user numbers, sessions with their tokens, devices with baskets and purchases,
/// audit events. Of the sessions: those live at `now`, revoked ones not yet at their end,
/// and those a purchase refers to (`live_sessions`).
pub async fn read_in_parts(
    store: &dyn Store,
    now: Timestamp,
    rows: u32,
    sink: &mut dyn Parts,
) -> StoreResult<()> {
    let full = |n: usize| n >= rows as usize;
    let tenants = store.list_tenants().await?;
    let mut directory = Snapshot {
        storefronts: store.list_storefronts().await?,
        apps: store.list_apps().await?,
        signing_keys: store.list_signing_keys().await?,
        ..Default::default()
    };
    // Devices, baskets and purchases are held until the sessions they refer to are copied.
    let mut tail = Snapshot::default();
    for t in &tenants {
        directory.profiles.extend(store.list_profiles(t.id).await?);
        tail.devices.extend(store.list_devices(t.id).await?);
        tail.baskets.extend(store.list_baskets(t.id).await?);
        tail.purchases.extend(store.list_purchases(t.id).await?);
    }
    directory.tenants = tenants;
    sink.put(directory).await?;

    let mut after = None;
    loop {
        let page = store.users_after(after, rows).await?;
        let more = full(page.len());
        after = page.last().map(|(u, _)| u.id);
        let mut part = Snapshot::default();
        for (user, profiles) in page {
            part.user_profiles
                .extend(profiles.into_iter().map(|p| (user.id, p)));
            part.users.push(user);
        }
        if !part.users.is_empty() {
            sink.put(part).await?;
        }
        if !more {
            break;
        }
    }
    sink.put(Snapshot {
        user_numbers: store.list_user_numbers().await?,
        ..Default::default()
    })
    .await?;

    // A checked-out basket's purchase refers to it, and it to its session: kept, however
    // the session ended.
    let bought: HashSet<SessionId> = tail
        .baskets
        .iter()
        .filter(|b| b.checked_out_at.is_some())
        .map(|b| b.session_id)
        .collect();
    let referenced: HashSet<SessionId> = tail
        .baskets
        .iter()
        .map(|b| b.session_id)
        .chain(tail.devices.iter().filter_map(|d| d.session_id))
        .collect();
    let mut copied = HashSet::new();
    let mut after = None;
    loop {
        let page = store.sessions_after(after, rows).await?;
        let more = full(page.len());
        after = page.last().map(|s| s.id);
        let part = live_sessions(store, now, page, &bought).await?;
        copied.extend(
            part.sessions
                .iter()
                .map(|s| s.id)
                .filter(|id| referenced.contains(id)),
        );
        if !part.sessions.is_empty() {
            sink.put(part).await?;
        }
        if !more {
            break;
        }
    }
    // What hangs off a session left behind goes with it: its open baskets, and the binding
    // of its devices (they stay registered to their user).
    tail.baskets
        .retain(|b| b.checked_out_at.is_some() || copied.contains(&b.session_id));
    for d in &mut tail.devices {
        if d.session_id.is_some_and(|id| !copied.contains(&id)) {
            d.session_id = None;
        }
    }
    sink.put(tail).await?;

    let mut before = None;
    loop {
        let page = store
            .list_audit(&AuditFilter {
                before,
                limit: rows,
                ..Default::default()
            })
            .await?;
        let more = full(page.len());
        before = page.last().map(|e| e.id);
        if !page.is_empty() {
            sink.put(Snapshot {
                audit_events: page,
                ..Default::default()
            })
            .await?;
        }
        if !more {
            break;
        }
    }
    Ok(())
}

/// Of a page of sessions, those a copy keeps, with the tokens of the live ones: live
/// sessions with their refresh and opaque tokens, and revoked ones whose access tokens may
/// still circulate, so the target keeps refusing them. An opaque token's session is live
/// while the token is: its use slides the token, not the session.
async fn live_sessions(
    store: &dyn Store,
    now: Timestamp,
    page: Vec<Session>,
    bought: &HashSet<SessionId>,
) -> StoreResult<Snapshot> {
    let open = |s: &Session| s.revoked_at.is_none() && now < s.absolute_expires_at;
    let open_ids: Vec<SessionId> = page.iter().filter(|s| open(s)).map(|s| s.id).collect();
    let opaque = if open_ids.is_empty() {
        Vec::new()
    } else {
        store.list_opaque_tokens(&open_ids).await?
    };
    let sliding: HashSet<SessionId> = opaque
        .iter()
        .filter(|t| now < t.expires_at())
        .map(|t| t.session_id)
        .collect();
    let mut part = Snapshot::default();
    let mut live = HashSet::new();
    for s in page {
        if open(&s) && (now < s.idle_expires_at || sliding.contains(&s.id)) {
            live.insert(s.id);
            part.sessions.push(s);
        } else if (s.revoked_at.is_some() && now < s.absolute_expires_at) || bought.contains(&s.id)
        {
            part.sessions.push(s);
        }
    }
    if !live.is_empty() {
        let ids: Vec<SessionId> = live.iter().copied().collect();
        part.refresh_tokens = store.list_refresh_tokens(&ids).await?;
    }
    part.opaque_tokens = opaque
        .into_iter()
        .filter(|t| live.contains(&t.session_id))
        .collect();
    Ok(part)
}

impl Snapshot {
    /// Reads everything from `store` at once (`read_in_parts`, gathered); sessions live at
    /// `now` only.
    pub async fn take(store: &dyn Store, now: Timestamp) -> StoreResult<Snapshot> {
        let mut whole = Snapshot::default();
        read_in_parts(store, now, PART_ROWS, &mut whole).await?;
        Ok(whole)
    }

    fn absorb(&mut self, part: Snapshot) {
        self.tenants.extend(part.tenants);
        self.storefronts.extend(part.storefronts);
        self.apps.extend(part.apps);
        self.profiles.extend(part.profiles);
        self.users.extend(part.users);
        self.user_profiles.extend(part.user_profiles);
        self.signing_keys.extend(part.signing_keys);
        self.sessions.extend(part.sessions);
        self.refresh_tokens.extend(part.refresh_tokens);
        self.opaque_tokens.extend(part.opaque_tokens);
        self.audit_events.extend(part.audit_events);
        self.user_numbers.extend(part.user_numbers);
        self.devices.extend(part.devices);
        self.baskets.extend(part.baskets);
        self.purchases.extend(part.purchases);
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
