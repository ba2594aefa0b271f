//! The verification keys, fetched from the JWKS URL and kept by key id. A token naming an
//! unknown key id makes one fetch (new keys appear there before any token uses them), at
//! most once per `refetch_after` (1 s by default); and the set is fetched again when it is
//! older than `MAX_AGE`, so a key Portcullis retired stops being trusted here too.

use crate::GuardError;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, RwLock};

/// The longest a fetched key set is trusted without fetching it again.
const MAX_AGE: Duration = Duration::from_secs(600);

pub(crate) struct KeySource {
    url: String,
    http: reqwest::Client,
    keys: RwLock<HashMap<String, Arc<DecodingKey>>>,
    last_fetch: Mutex<Option<Instant>>,
    refetch_after: Duration,
}

impl KeySource {
    pub(crate) fn new(url: String, refetch_after: Duration) -> Self {
        Self {
            url,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            keys: RwLock::new(HashMap::new()),
            last_fetch: Mutex::new(None),
            refetch_after,
        }
    }

    pub(crate) async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, GuardError> {
        let stale = self
            .last_fetch
            .lock()
            .await
            .is_some_and(|t| t.elapsed() >= MAX_AGE);
        if stale {
            let mut last = self.last_fetch.lock().await;
            if last.is_some_and(|t| t.elapsed() >= MAX_AGE) {
                *last = Some(Instant::now());
                // A failed refresh keeps the known keys rather than refusing every token.
                match self.fetch().await {
                    Ok(fetched) => *self.keys.write().await = fetched,
                    Err(e) => tracing::warn!(error = %e, "refreshing the verification keys failed"),
                }
            }
        }
        if let Some(k) = self.keys.read().await.get(kid) {
            return Ok(k.clone());
        }
        {
            // One fetch at a time, and not again too soon.
            let mut last = self.last_fetch.lock().await;
            if let Some(k) = self.keys.read().await.get(kid) {
                return Ok(k.clone());
            }
            if last.is_none_or(|t| t.elapsed() >= self.refetch_after) {
                *last = Some(Instant::now());
                let fetched = self.fetch().await?;
                *self.keys.write().await = fetched;
            }
        }
        self.keys
            .read()
            .await
            .get(kid)
            .cloned()
            .ok_or_else(|| GuardError::Invalid("unknown key id".into()))
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<DecodingKey>>, GuardError> {
        let unavailable = |e: reqwest::Error| GuardError::Unavailable(e.to_string());
        let set: JwkSet = self
            .http
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let (Some(kid), Ok(key)) = (jwk.common.key_id.clone(), DecodingKey::from_jwk(jwk))
            else {
                continue;
            };
            keys.insert(kid, Arc::new(key));
        }
        tracing::debug!(keys = keys.len(), url = %self.url, "fetched verification keys");
        Ok(keys)
    }
}
