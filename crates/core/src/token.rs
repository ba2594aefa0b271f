//! Access-token claims, token pairs, and the sealed successor that lets a retried refresh get
//! the same new pair back.

use crate::clock::Timestamp;
use crate::error::{CoreError, CoreResult};
use crate::ids::{SessionId, UserId};
use crate::secret::{self, SecretHash};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The claims of a JWT access token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// The user id, or the client id for service tokens.
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub sid: String,
    pub client_id: String,
    /// The tenant's slug.
    pub tenant: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_view: Option<String>,
    /// The user kind, or `service` for client-credentials tokens.
    pub kind: String,
    #[serde(default)]
    pub profiles: Vec<String>,
    /// Claims a dialect adds (Open Loyalty's `username`, `roles`, …).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

pub const SERVICE_KIND: &str = "service";

/// What a login or refresh hands back.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPair {
    pub access_token: String,
    pub access_expires_at: Timestamp,
    pub refresh_token: Option<String>,
    pub refresh_expires_at: Option<Timestamp>,
    pub session_id: SessionId,
    pub user_id: Option<UserId>,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

/// Bytes of a refresh token's issue time (milliseconds since the epoch, big-endian) at its
/// front: 48 bits last until the year 10889.
const ISSUED_LEN: usize = 6;
/// Its length in base64: the issue time then 256 random bits.
const REFRESH_TOKEN_LEN: usize = (ISSUED_LEN + 32) * 4 / 3 + 1;

/// A new refresh token: its issue time, then 256 random bits; URL-safe base64.
pub fn new_refresh_token(now: Timestamp) -> String {
    let issued = now.millis().to_be_bytes();
    secret::prefixed_random_token(&issued[8 - ISSUED_LEN..], 32)
}

/// The key a refresh token is stored under: its issue time, then its SHA-256 cut to 26 bytes
/// (208 bits). Keys in issue order put each new token at the end of the store's index, and the
/// tokens being rotated (issued an access lifetime ago) near it: at millions of sessions, keys
/// of hashes alone sent every rotation's two writes to random pages of the index
/// (docs/benchmarks.md, "Scale"). Anything else presented (tokens issued before: 256 random
/// bits alone) keeps its whole SHA-256 as key.
pub fn refresh_key(presented: &str) -> SecretHash {
    let hash = SecretHash::of(presented);
    let mut issued = [0u8; ISSUED_LEN];
    if presented.len() != REFRESH_TOKEN_LEN
        || URL_SAFE_NO_PAD
            .decode_slice(&presented.as_bytes()[..ISSUED_LEN * 4 / 3], &mut issued)
            .is_err()
    {
        return hash;
    }
    let mut key = [0u8; 32];
    key[..ISSUED_LEN].copy_from_slice(&issued);
    key[ISSUED_LEN..].copy_from_slice(&hash.as_bytes()[..32 - ISSUED_LEN]);
    SecretHash(key)
}

const SUCCESSOR_PURPOSE: &str = "refresh-successor";

/// Seal `pair` under a key derived from the refresh token it replaces.
pub fn seal_successor(old_token: &str, pair: &TokenPair) -> CoreResult<Vec<u8>> {
    let key = secret::derive_key(old_token.as_bytes(), SUCCESSOR_PURPOSE);
    let plain = Zeroizing::new(serde_json::to_vec(pair).map_err(CoreError::internal)?);
    secret::seal(&key, pair.session_id.0.as_bytes(), &plain).map_err(CoreError::internal)
}

pub fn open_successor(
    old_token: &str,
    session_id: SessionId,
    sealed: &[u8],
) -> CoreResult<TokenPair> {
    let key = secret::derive_key(old_token.as_bytes(), SUCCESSOR_PURPOSE);
    let plain = secret::open(&key, session_id.0.as_bytes(), sealed).map_err(CoreError::internal)?;
    serde_json::from_slice(&plain).map_err(CoreError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_keys_sort_by_issue_time() {
        let earlier = new_refresh_token(Timestamp(1_767_225_600_123));
        let later = new_refresh_token(Timestamp(1_767_225_600_124));
        assert_eq!(earlier.len(), REFRESH_TOKEN_LEN);
        let key = refresh_key(&earlier);
        assert!(key.as_bytes() < refresh_key(&later).as_bytes());
        assert_eq!(
            key.as_bytes()[..ISSUED_LEN],
            [0x01, 0x9b, 0x76, 0xda, 0xa8, 0x7b]
        );
        assert_eq!(
            key.as_bytes()[ISSUED_LEN..],
            SecretHash::of(&earlier).as_bytes()[..32 - ISSUED_LEN]
        );
        // Two tokens of the same millisecond differ in the rest.
        let twin = new_refresh_token(Timestamp(1_767_225_600_123));
        assert_ne!(refresh_key(&twin), key);
    }

    #[test]
    fn other_tokens_are_keyed_by_their_whole_hash() {
        // A token from before the issue time led (32 random bytes), a truncated one, and one of
        // the right length that is not base64.
        let old = secret::random_token(32);
        let cut = &new_refresh_token(Timestamp(1))[..50];
        let junk = "!".repeat(REFRESH_TOKEN_LEN);
        for t in [old.as_str(), cut, &junk] {
            assert_eq!(refresh_key(t), SecretHash::of(t), "{t}");
        }
    }

    #[test]
    fn successor_opens_only_with_the_old_token() {
        let pair = TokenPair {
            access_token: "a".into(),
            access_expires_at: Timestamp(1),
            refresh_token: Some("r".into()),
            refresh_expires_at: Some(Timestamp(2)),
            session_id: SessionId::new(),
            user_id: None,
        };
        let sealed = seal_successor("old", &pair).unwrap();
        assert_eq!(
            open_successor("old", pair.session_id, &sealed).unwrap(),
            pair
        );
        assert!(open_successor("other", pair.session_id, &sealed).is_err());
        assert!(open_successor("old", SessionId::new(), &sealed).is_err());
    }
}
