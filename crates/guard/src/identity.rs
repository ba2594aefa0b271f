//! The caller a verified token speaks for.

use crate::GuardError;
use serde::Deserialize;

/// Who made the request; in the request's extensions after [`crate::GuardLayer`].
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Identity {
    /// The user id, or the client id of a service token.
    pub sub: String,
    /// The tenant's slug.
    pub tenant: String,
    /// `customer`, `operator`, `supplier`, `guest` or `service`.
    pub kind: String,
    #[serde(default)]
    pub profiles: Vec<String>,
    pub client_id: String,
    /// The session id.
    pub sid: String,
    #[serde(default)]
    pub store: Option<String>,
    /// Expiry, in seconds since the epoch.
    pub exp: i64,
}

impl Identity {
    pub(crate) fn from_claims(claims: serde_json::Value) -> Result<Self, GuardError> {
        serde_json::from_value(claims)
            .map_err(|e| GuardError::Invalid(format!("not a Portcullis access token: {e}")))
    }
}
