//! The JFW dialect: the JFW Protocol API's authentication routes, `Brand-URL` and `Auth-Key`
//! headers, devices and the `{success, statusCode, message, data, errors}` envelope, served by
//! the Portcullis core (see docs/dialects/jfw.md). Auth keys are opaque and end at a fixed
//! time; refresh auth keys rotate at every use.
//!
//! May depend on: portcullis-core, axum, utoipa.

mod devices;
mod envelope;
mod request;
mod users;

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use portcullis_core::Core;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The role of JFW auth keys among opaque tokens: a JRNI token is not an auth key.
pub(crate) const ROLE: &str = "jfw-user";

/// The dialect's settings (`[dialects.jfw]`).
#[derive(Clone, Debug)]
pub struct JfwSettings {
    /// The client id of the app JFW users log in through, when a brand's tenant has several.
    pub client_id: Option<String>,
    /// Lifetime of an auth key (fixed, from issue).
    pub auth_key_ttl: Duration,
    /// Lifetime of a refresh auth key (each refresh issues a new one).
    pub refresh_ttl: Duration,
}

impl Default for JfwSettings {
    fn default() -> Self {
        Self {
            client_id: None,
            auth_key_ttl: Duration::from_secs(24 * 3600),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

pub struct JfwState {
    pub(crate) core: Arc<Core>,
    pub(crate) settings: JfwSettings,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portcullis: JFW Protocol API authentication",
        description = "JFW's authenticate, refresh, register and logout routes and devices, with Brand-URL and Auth-Key headers and JFW's response envelope, served by Portcullis.",
        license(name = "Apache-2.0")
    ),
    tags((name = "jfw", description = "JFW Protocol API authentication"))
)]
struct JfwDoc;

fn routes() -> OpenApiRouter<Arc<JfwState>> {
    OpenApiRouter::with_openapi(JfwDoc::openapi())
        .routes(routes!(users::authenticate))
        .routes(routes!(users::refresh))
        .routes(routes!(users::register))
        .routes(routes!(users::logout))
        .routes(routes!(devices::create))
        .routes(routes!(devices::by_code))
        .routes(routes!(devices::link, devices::sign_out))
        .routes(routes!(devices::list))
}

/// The dialect's routes, ready to be mounted (at the root by default).
pub fn router(core: Arc<Core>, settings: JfwSettings) -> Router {
    let state = Arc::new(JfwState { core, settings });
    routes()
        .split_for_parts()
        .0
        .with_state(state)
        .layer(axum::middleware::from_fn(correlate))
}

/// The dialect's own OpenAPI document.
pub fn openapi_json() -> String {
    let (_, mut doc) = routes().split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.to_pretty_json().unwrap_or_default()
}

fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// A caller's `X-Correlation-Id` if it is a sane token, else a new one.
fn correlation_id(req: &Request) -> String {
    req.headers()
        .get("x-correlation-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// Gives each request a correlation id: in the error items, the `X-Correlation-Id` response
/// header, every log line written while serving it, and one closing log line.
async fn correlate(req: Request, next: Next) -> Response {
    let id = correlation_id(&req);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("jfw", correlation_id = %id);
    let started = Instant::now();
    let mut resp = envelope::CORRELATION_ID
        .scope(id.clone(), async move {
            let resp = next.run(req).await;
            // The framework's own refusals (405, a path it cannot parse) come without the
            // envelope; every answer of the dialect has one.
            if resp.status().is_client_error() && !is_json(&resp) {
                return envelope::JfwError::framework(resp.status()).into_response();
            }
            resp
        })
        .instrument(span.clone())
        .await;
    span.in_scope(|| {
        tracing::info!(
            %method,
            %path,
            status = resp.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "jfw request"
        );
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-correlation-id", v);
    }
    // Answers carry keys and personal data: never cached.
    resp.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    resp
}
