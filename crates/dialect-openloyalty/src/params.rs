//! Request parameters, form-encoded (as the seed sends them) or JSON. Nested JSON objects are
//! read in the form's bracket notation: `{"reset":{"plainPassword":"…"}}` is
//! `reset[plainPassword]`.

use crate::error::OlError;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use portcullis_core::audit::RequestContext;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;

pub struct Params(pub HashMap<String, String>);

impl Params {
    /// A non-empty parameter under any of `names`.
    pub fn get(&self, names: &[&str]) -> Option<String> {
        names
            .iter()
            .find_map(|n| self.0.get(*n))
            .filter(|v| !v.is_empty() && v.len() <= 4096)
            .cloned()
    }
}

fn flatten(prefix: &str, v: &Value, out: &mut HashMap<String, String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}[{k}]")
                };
                flatten(&key, child, out);
            }
        }
        Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
        }
        Value::Null => {}
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = OlError;

    async fn from_request(req: Request, state: &S) -> Result<Self, OlError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| {
                c.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| OlError::Error(r.status(), "the request body cannot be read".into()))?;
        let malformed =
            |e: String| OlError::Error(StatusCode::BAD_REQUEST, format!("malformed body: {e}"));
        let mut out = HashMap::new();
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Params(out));
        }
        if is_json {
            let v: Value = serde_json::from_slice(&body).map_err(|e| malformed(e.to_string()))?;
            if !v.is_object() {
                return Err(malformed("expected a JSON object".into()));
            }
            flatten("", &v, &mut out);
        } else {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_bytes(&body).map_err(|e| malformed(e.to_string()))?;
            out.extend(pairs);
        }
        Ok(Params(out))
    }
}

/// Where the request came from (the client's address, after trusted proxies, and its user
/// agent), for the login limits and the audit trail.
pub struct Client(pub RequestContext);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(256).collect());
        Ok(Client(RequestContext { ip, user_agent }))
    }
}
