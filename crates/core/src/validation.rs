//! Access-token validation state kept in memory: tokens already verified (by SHA-256 of the
//! token) and sessions revoked recently. Together they answer a valid token with no database
//! round trip and refuse a revoked session's tokens as soon as the revocation is known.

use crate::clock::Timestamp;
use crate::ids::SessionId;
use crate::secret::SecretHash;
use crate::token::AccessClaims;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub struct Validator {
    verified: moka::sync::Cache<SecretHash, Arc<AccessClaims>>,
    /// Revoked session → when the entry may be forgotten (no token of it can still be valid).
    revoked: RwLock<HashMap<SessionId, Timestamp>>,
}

impl Validator {
    pub fn new(capacity: u64) -> Self {
        Self {
            // Entries are checked against the clock on every hit; the TTL only bounds memory.
            verified: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(Duration::from_secs(3600))
                .build(),
            revoked: RwLock::new(HashMap::new()),
        }
    }

    pub fn cached(&self, hash: &SecretHash) -> Option<Arc<AccessClaims>> {
        self.verified.get(hash)
    }

    pub fn remember(&self, hash: SecretHash, claims: Arc<AccessClaims>) {
        self.verified.insert(hash, claims);
    }

    /// Entries of the verified-token cache, and revocations remembered.
    pub fn sizes(&self) -> (u64, usize) {
        let revoked = self.revoked.read().unwrap_or_else(|e| e.into_inner()).len();
        // moka counts lazily; settle the pending inserts first.
        self.verified.run_pending_tasks();
        (self.verified.entry_count(), revoked)
    }

    pub fn is_revoked(&self, sid: &SessionId) -> bool {
        self.revoked
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(sid)
    }

    pub fn mark_revoked(&self, sid: SessionId, forget_after: Timestamp) {
        // A poisoned lock still holds valid data: never skip a revocation because of it.
        let mut m = self.revoked.write().unwrap_or_else(|e| e.into_inner());
        let e = m.entry(sid).or_insert(forget_after);
        *e = (*e).max(forget_after);
    }

    /// Drop revocations whose tokens have all expired.
    pub fn prune(&self, now: Timestamp) {
        self.revoked
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, until| *until > now);
    }

    pub fn revoked_count(&self) -> usize {
        self.revoked.read().unwrap_or_else(|e| e.into_inner()).len()
    }
}
