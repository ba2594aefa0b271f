//! Opaque session tokens: with a sliding lifetime (JRNI's `Auth-Token`), valid for a while
//! after their last use, or with a fixed one (JFW's `Auth-Key`). Stored as hashes; the last
//! use of a sliding token is written back at most once a minute (see `service/opaque.rs`).

use crate::clock::Timestamp;
use crate::ids::SessionId;
use crate::secret::SecretHash;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpaqueRecord {
    pub hash: SecretHash,
    pub session_id: SessionId,
    /// What the token lets its holder be: `admin`, `member` or `contact`.
    pub role: String,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    /// The token ends this long after its last use, or after its creation when not sliding.
    pub idle_ttl: Duration,
    /// Whether each use pushes the end back (JRNI); JFW's auth keys end at a fixed time.
    pub sliding: bool,
}

impl OpaqueRecord {
    pub fn expires_at(&self) -> Timestamp {
        self.last_used_at.plus(self.idle_ttl)
    }
}
