//! Extractors that answer bad requests in the API's own error shape instead of axum's
//! plain-text rejections.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use portcullis_core::audit::RequestContext;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use zeroize::Zeroizing;

/// A form-encoded body (`application/x-www-form-urlencoded`), as OAuth 2.0 requires.
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "unsupported_content_type",
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let body = body_bytes(req, state).await?;
        portcullis_form::from_bytes(&body).map(Form).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "malformed_body",
                format!("malformed form: {e}"),
            )
        })
    }
}

/// Query parameters, parsed where the handler chooses (after the caller is known); unknown
/// or malformed ones are refused in the API's error shape.
pub fn parse_query<T: DeserializeOwned>(query: Option<&str>) -> Result<T, ApiError> {
    portcullis_form::from_query(query).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "malformed_query",
            format!("malformed query: {e}"),
        )
    })
}

/// A JSON body (`application/json`).
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if essence != "application/json"
            && !(essence.starts_with("application/") && essence.ends_with("+json"))
        {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "unsupported_content_type",
                "the body must be application/json",
            ));
        }
        let body = body_bytes(req, state).await?;
        serde_json::from_slice(&body).map(Json).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "malformed_body",
                format!("malformed JSON: {e}"),
            )
        })
    }
}

/// The body, within the configured limit (413 beyond it).
async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "body_too_large",
                "the request body is too large",
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "malformed_body",
                rejection.body_text(),
            )
        }
    })
}

/// Where the request came from: peer address and user agent, for audit and limits.
pub struct Ctx(pub RequestContext);

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
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
        Ok(Ctx(RequestContext { ip, user_agent }))
    }
}

/// The access token of an `Authorization: Bearer` header.
pub struct Bearer(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::invalid_token("an access token is required (Authorization: Bearer …)")
            })?;
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(ApiError::invalid_token(
                "an access token is required (Authorization: Bearer …)",
            ));
        }
        Ok(Bearer(token.trim().to_owned()))
    }
}

/// The `Authorization` header alone, for the handlers that authenticate a client by HTTP
/// Basic and need no other header: axum's `HeaderMap` extractor copies the whole map, which
/// cost ~3 % of an introspection's CPU. It never rejects: `basic_credentials` judges the
/// value when the handler asks, after the body has been read, as before.
pub struct Authorization(pub Option<HeaderValue>);

impl<S: Send + Sync> FromRequestParts<S> for Authorization {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.headers.get(header::AUTHORIZATION).cloned()))
    }
}

/// Client credentials from HTTP Basic (RFC 6749 §2.3.1: both parts form-url-encoded).
/// `Ok(None)` when there is no Basic header.
pub fn basic_credentials(
    authorization: Option<&HeaderValue>,
) -> Result<Option<(String, Zeroizing<String>)>, ApiError> {
    let Some(value) = authorization else {
        return Ok(None);
    };
    let bad = || ApiError::from(portcullis_core::CoreError::InvalidClient);
    let value = value.to_str().map_err(|_| bad())?;
    let (scheme, encoded) = value.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = Zeroizing::new(STANDARD.decode(encoded.trim()).map_err(|_| bad())?);
    let text = std::str::from_utf8(&decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    // RFC 6749 §2.3.1: the id and secret are form-encoded before Basic encoding.
    let id = portcullis_form::decode_component(id).ok_or_else(bad)?;
    let secret = Zeroizing::new(portcullis_form::decode_component(secret).ok_or_else(bad)?);
    Ok(Some((id, secret)))
}
