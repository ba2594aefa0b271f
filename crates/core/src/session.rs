//! Sessions and their refresh tokens. A session is one login; its refresh tokens form one
//! family, rotated at every use. Only hashes of refresh tokens are stored.

use crate::clock::Timestamp;
use crate::ids::{AppId, SessionId, StorefrontId, TenantId, UserId};
use crate::secret::SecretHash;
use crate::user::UserKind;

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
