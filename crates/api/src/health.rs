//! Liveness and readiness probes.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::extract::State;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "Alive", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// The store answers: send traffic here.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "Ready", body = String),
        (status = 503, description = "The store is unreachable", body = ErrorBody),
    )
)]
pub async fn readyz(State(core): State<AppState>) -> Result<&'static str, ApiError> {
    core.ready().await?;
    Ok("ready")
}
