//! Sessions and their refresh tokens. A session is one login; its refresh tokens form one
//! family, rotated at every use. Only hashes of refresh tokens are stored.

use crate::audit::AuditEvent;
use crate::clock::Timestamp;
use crate::ids::{AppId, SessionId, StorefrontId, TenantId, UserId};
use crate::secret::SecretHash;
use crate::user::{User, UserKind};
use std::collections::{HashMap, HashSet};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub tenant_id: TenantId,
    /// `None` for a service session (client_credentials grant).
    pub user_id: Option<UserId>,
    pub kind: Option<UserKind>,
    pub app_id: AppId,
    pub store_id: Option<StorefrontId>,
    pub store_view: Option<String>,
    pub device_id: Option<String>,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    /// The session ends if not used (refreshed) before this time.
    pub idle_expires_at: Timestamp,
    /// The session ends at this time whatever happens.
    pub absolute_expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub revoked_reason: Option<String>,
    pub ip: Option<String>,
}

impl Session {
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && now < self.idle_expires_at && now < self.absolute_expires_at
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshRecord {
    pub hash: SecretHash,
    pub session_id: SessionId,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    /// When it was exchanged for a new pair; a second use after the retry window is reuse.
    pub rotated_at: Option<Timestamp>,
    /// The pair it was exchanged for, sealed under a key derived from this token itself, so
    /// only a holder of the old token can read it back within the retry window.
    pub successor: Option<Vec<u8>>,
}

/// A refresh token as the refresh grant reads it: with its session and the session's user
/// (`None` for a service session), in one read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshLookup {
    pub record: RefreshRecord,
    pub session: Session,
    pub user: Option<User>,
}

/// What `Store::rotate_refresh` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RotateOutcome {
    /// This call rotated the token: the new record is stored.
    Rotated,
    /// Another call rotated it first; here is the record as that call left it.
    AlreadyRotated(RefreshRecord),
    /// No such token.
    NotFound,
}

/// The session fields a rotation updates together with the token swap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionTouch {
    pub last_used_at: Timestamp,
    pub idle_expires_at: Timestamp,
}

/// What opening a session writes, in one transaction (`Store::create_session`): the session,
/// its first refresh token, the attempt counters the login ends, and its audit events. One
/// commit per login instead of three: on PostgreSQL every statement costs the database
/// server CPU time on the cores that hash passwords.
pub struct NewSession<'a> {
    pub session: &'a Session,
    pub refresh: Option<&'a RefreshRecord>,
    pub clear_counters: &'a [SecretHash],
    pub audit: &'a [AuditEvent],
}

impl<'a> NewSession<'a> {
    /// A session and its first refresh token, nothing else.
    pub fn new(session: &'a Session, refresh: Option<&'a RefreshRecord>) -> Self {
        NewSession {
            session,
            refresh,
            clear_counters: &[],
            audit: &[],
        }
    }
}

/// One refresh-token rotation, as `Store::rotate_refresh` applies it.
#[derive(Clone, Debug)]
pub struct Rotation {
    /// The token presented.
    pub old: SecretHash,
    /// The new pair, sealed for retries (see [`RefreshRecord::successor`]).
    pub successor: Vec<u8>,
    /// The new token; its `issued_at` is the rotation time.
    pub next: RefreshRecord,
    pub touch: SessionTouch,
    /// Written in the same transaction, only if this rotation wins.
    pub audit: Option<AuditEvent>,
}

/// The first rotation of each presented token in a batch: the only ones a store tries to
/// swap, since a later one presenting the same token loses to the first.
pub fn first_of_each_token(batch: &[Rotation]) -> Vec<&Rotation> {
    let mut seen = HashSet::new();
    batch.iter().filter(|r| seen.insert(r.old)).collect()
}

/// Which rotations of a batch won, given the old hashes the store swapped: the first to
/// present each swapped token.
fn won(batch: &[Rotation], swapped: &HashSet<SecretHash>) -> Vec<bool> {
    let mut seen = HashSet::new();
    batch
        .iter()
        .map(|r| swapped.contains(&r.old) && seen.insert(r.old))
        .collect()
}

/// The rotations of a batch that won and those that lost, given the old hashes the store
/// swapped.
pub fn split<'a>(
    batch: &'a [Rotation],
    swapped: &HashSet<SecretHash>,
) -> (Vec<&'a Rotation>, Vec<&'a Rotation>) {
    let (winning, lost): (Vec<_>, Vec<_>) = batch
        .iter()
        .zip(won(batch, swapped))
        .partition(|(_, won)| *won);
    (
        winning.into_iter().map(|(r, _)| r).collect(),
        lost.into_iter().map(|(r, _)| r).collect(),
    )
}

/// The session updates of the winning rotations, one per session (the latest).
pub fn touches<'a>(winning: impl Iterator<Item = &'a Rotation>) -> Vec<(SessionId, SessionTouch)> {
    let mut latest: HashMap<SessionId, SessionTouch> = HashMap::new();
    for r in winning {
        let touch = latest.entry(r.next.session_id).or_insert(r.touch);
        if r.touch.last_used_at > touch.last_used_at {
            *touch = r.touch;
        }
    }
    latest.into_iter().collect()
}

/// Each rotation's outcome: `Rotated` for the winners; for the others the token as it now
/// stands (`current`, read after the swaps) or `NotFound`.
pub fn outcomes(
    batch: &[Rotation],
    swapped: &HashSet<SecretHash>,
    current: &HashMap<SecretHash, RefreshRecord>,
) -> Vec<RotateOutcome> {
    batch
        .iter()
        .zip(won(batch, swapped))
        .map(|(r, won)| match (won, current.get(&r.old)) {
            (true, _) => RotateOutcome::Rotated,
            (false, Some(record)) => RotateOutcome::AlreadyRotated(record.clone()),
            (false, None) => RotateOutcome::NotFound,
        })
        .collect()
}

#[derive(Clone, Debug, Default)]
pub struct SessionFilter {
    pub tenant_id: Option<TenantId>,
    pub user_id: Option<UserId>,
    /// Only sessions neither revoked nor expired at this time.
    pub live_at: Option<Timestamp>,
    pub limit: u32,
}

/// One entry of the change feed that keeps every node's caches true.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub seq: i64,
    pub at: Timestamp,
    pub what: ChangeKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// A session was revoked: its tokens must be refused everywhere.
    SessionRevoked(SessionId),
    /// Signing keys were added or retired.
    KeysChanged,
    /// Tenants, stores, apps or profiles changed.
    DirectoryChanged,
}
