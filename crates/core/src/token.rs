//! Access-token claims, token pairs, and the sealed successor that lets a retried refresh get
//! the same new pair back.

use crate::clock::Timestamp;
use crate::error::{CoreError, CoreResult};
use crate::ids::{SessionId, UserId};
use crate::secret;
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

/// A new refresh token: 256 random bits, URL-safe.
pub fn new_refresh_token() -> String {
    secret::random_token(32)
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
