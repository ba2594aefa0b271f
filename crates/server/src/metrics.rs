//! Prometheus metrics on their own listener (`[metrics] listen`): HTTP requests by route
//! template, dialect and status with latency histograms, and the core's counters (logins,
//! refreshes, reuse detections, limits, hashing queue, validation cache, outbox).

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use portcullis_core::Core;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which API answered: set on the responses of each dialect's routes.
#[derive(Clone, Copy, Debug)]
pub struct Dialect(pub &'static str);

/// Installs the process-wide recorder; an error if one is installed already.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    const BUCKETS: [f64; 14] = [
        0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    ];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)?
        .set_buckets_for_metric(
            Matcher::Full("portcullis_rotation_batch_size".into()),
            &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0],
        )?
        .install_recorder()?;
    describe();
    Ok(handle)
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "portcullis_http_requests_total",
        "HTTP requests by route template, dialect and status"
    );
    describe_histogram!(
        "portcullis_http_request_duration_seconds",
        "HTTP request latency by route template and dialect"
    );
    describe_counter!("portcullis_logins_total", "Password logins by result");
    describe_counter!(
        "portcullis_login_limited_total",
        "Login attempts refused by a limit (per_ip, per_account_ip, per_account)"
    );
    describe_counter!("portcullis_refreshes_total", "Refresh-token rotations");
    describe_counter!(
        "portcullis_sessions_purged_total",
        "Ended sessions deleted by housekeeping (sessions.retention after their absolute end)"
    );
    describe_counter!(
        "portcullis_refresh_tokens_purged_total",
        "Expired refresh tokens deleted by housekeeping (sessions.retention after their expiry)"
    );
    describe_histogram!(
        "portcullis_rotation_batch_size",
        "Refresh-token rotations written together in one transaction (group commit)"
    );
    describe_counter!(
        "portcullis_refresh_reuse_total",
        "Refresh tokens presented again after rotation (session revoked)"
    );
    describe_gauge!(
        "portcullis_hash_queue",
        "Password hashes waiting for a slot"
    );
    describe_histogram!(
        "portcullis_hash_wait_seconds",
        "Time a password hash waited for a slot"
    );
    describe_counter!(
        "portcullis_hash_busy_total",
        "Requests refused because the hashing queue was full (503)"
    );
    describe_counter!(
        "portcullis_validation_cache_total",
        "Access-token validations by cache hit or miss"
    );
    describe_counter!(
        "portcullis_outbox_attempts_total",
        "E-mail delivery attempts by result (sent, retry, dead)"
    );
    describe_gauge!(
        "portcullis_outbox_messages",
        "E-mails not sent, by status (pending, dead)"
    );
    describe_gauge!(
        "portcullis_db_connections",
        "Database connections by pool and state (open, idle, max)"
    );
    describe_gauge!(
        "portcullis_cache_entries",
        "Entries of the in-memory caches (verified_tokens, revoked_sessions, opaque_tokens, user_profiles)"
    );
}

/// Counts and times every request, labelled by its route template (never the raw path, so
/// ids and tokens do not become labels).
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let started = Instant::now();
    let resp = next.run(req).await;
    let dialect = resp.extensions().get::<Dialect>().map_or("native", |d| d.0);
    let status = resp.status().as_u16().to_string();
    metrics::counter!(
        "portcullis_http_requests_total",
        "route" => route.clone(), "dialect" => dialect, "status" => status
    )
    .increment(1);
    metrics::histogram!(
        "portcullis_http_request_duration_seconds",
        "route" => route, "dialect" => dialect
    )
    .record(started.elapsed().as_secs_f64());
    resp
}

/// Gauges read at scrape time: the database pools, the outbox and the caches.
async fn sample(core: &Core) {
    for p in core.store().pool_state() {
        metrics::gauge!("portcullis_db_connections", "pool" => p.pool, "state" => "open")
            .set(f64::from(p.open));
        metrics::gauge!("portcullis_db_connections", "pool" => p.pool, "state" => "idle")
            .set(f64::from(p.idle));
        metrics::gauge!("portcullis_db_connections", "pool" => p.pool, "state" => "max")
            .set(f64::from(p.max));
    }
    // The database may be down or slow: the gauge keeps its last value and the scrape still
    // answers at once, when the other metrics matter most.
    let depth = tokio::time::timeout(Duration::from_millis(500), core.store().outbox_depth());
    match depth.await {
        Ok(Ok(depth)) => {
            for (status, n) in depth {
                metrics::gauge!("portcullis_outbox_messages", "status" => status).set(n as f64);
            }
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "outbox depth not read for metrics"),
        Err(_) => tracing::warn!("outbox depth not read for metrics: the database is slow"),
    }
    for (cache, n) in core.cache_sizes() {
        metrics::gauge!("portcullis_cache_entries", "cache" => cache).set(n as f64);
    }
}

/// Serves `GET /metrics` on its own listener until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, handle: PrometheusHandle, core: Arc<Core>) {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let handle = handle.clone();
            let core = core.clone();
            async move {
                sample(&core).await;
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4",
                    )],
                    handle.render(),
                )
            }
        }),
    );
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "the metrics listener stopped");
    }
}
