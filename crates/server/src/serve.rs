//! `portcullis serve`: the HTTP server, its background tasks and its shutdown.

use crate::config::Settings;
use anyhow::Context;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use portcullis_api::ApiSettings;
use portcullis_core::Core;
use portcullis_core::outbox::Mailer;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::task::TaskTracker;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// The span of a request: its id (from `X-Request-Id`, set by the layer outside if the
/// client sent none), method and path. Never the query string: DJUST passes tokens there.
fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
    )
}

/// How often a node reads the change feed (revocations and key or directory changes made by
/// other nodes or by the command line).
const SYNC_EVERY: Duration = Duration::from_secs(1);
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(600);

pub async fn run(settings: Settings, demo: bool) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let opened = crate::runtime::open_core(&settings, Some(addr)).await?;
    let core = opened.core;
    if demo {
        crate::demo::install(&core, addr).await?;
    }
    let requests = TaskTracker::new();
    let app = with_middleware(
        app_router(core.clone(), &settings)?,
        &settings,
        requests.clone(),
    )?;
    let metrics = match &settings.metrics.listen {
        Some(at) => {
            let listener = TcpListener::bind(at)
                .await
                .with_context(|| format!("cannot listen on {at} for metrics"))?;
            let metrics_addr = listener.local_addr()?;
            let handle = crate::metrics::install()?;
            tracing::info!(%metrics_addr, "metrics on http://{metrics_addr}/metrics");
            Some(tokio::spawn(crate::metrics::serve(
                listener,
                handle,
                core.clone(),
            )))
        }
        None => None,
    };
    let sync = tokio::spawn(sync_loop(core.clone(), opened.changes));
    let rotation = tokio::spawn(rotation_loop(core.clone(), settings.keys.rotate_every));
    let housekeeping = tokio::spawn(housekeeping_loop(core.clone()));
    let outbox = tokio::spawn(outbox_loop(
        core.clone(),
        crate::runtime::mailer(&settings)?,
    ));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(wait_for(stop_rx.clone()));
    tracing::info!(addr = %addr, issuer = %core.settings().issuer, "ready: listening on http://{addr}");

    let grace = settings.http.shutdown_grace;
    tokio::select! {
        result = async {
            server.into_future().await?;
            // The connections are closed, but a change whose client hung up may still be
            // running in its task (completion.rs): the process must not end under it.
            requests.close();
            requests.wait().await;
            core.finish_background_work().await;
            Ok::<_, std::io::Error>(())
        } => result?,
        _ = async {
            shutdown_signal().await;
            tracing::info!("shutting down: finishing requests in flight");
            let _ = stop_tx.send(true);
            tokio::time::sleep(grace).await;
        } => tracing::warn!("requests still running after {grace:?}; stopping anyway"),
    }
    sync.abort();
    outbox.abort();
    rotation.abort();
    housekeeping.abort();
    if let Some(m) = metrics {
        m.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for(mut stop: tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Rotates signing keys that reached their age: checked every minute (more often for very
/// short periods). Every node runs it; each re-reads the keys before rotating.
async fn rotation_loop(core: Arc<Core>, every: Duration) {
    if every.is_zero() {
        return;
    }
    let check = (every / 2).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let mut tick = tokio::time::interval(check);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = core.rotate_due_keys(every).await {
            tracing::warn!(error = %e, "scheduled key rotation failed; retrying");
        }
    }
}

/// Deletes what is past its time (old counts, audit events past their retention, ended
/// sessions and expired refresh tokens, old change-feed entries) every ten minutes, the first time ten minutes after
/// start. A task of its own: a long first purge must not hold up the change feed, which
/// carries revocations.
async fn housekeeping_loop(core: Arc<Core>) {
    let start = tokio::time::Instant::now() + HOUSEKEEPING_EVERY;
    let mut tick = tokio::time::interval_at(start, HOUSEKEEPING_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = core.housekeeping().await {
            tracing::warn!(error = %e, "housekeeping failed; retrying in ten minutes");
        }
    }
}

/// Keeps this node's caches true: applies the change feed when the store signals a change
/// (PostgreSQL NOTIFY) and at least every second. Errors are logged and retried; a node with
/// a stale feed still refuses tokens it revoked itself.
async fn sync_loop(core: Arc<Core>, changes: Option<Arc<Notify>>) {
    let mut tick = tokio::time::interval(SYNC_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        match &changes {
            Some(signal) => {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = signal.notified() => {}
                }
            }
            None => {
                tick.tick().await;
            }
        }
        if let Err(e) = core.sync_changes().await {
            tracing::warn!(error = %e, "reading the change feed failed; retrying");
        }
    }
}

/// Every route's middleware, outermost first, applied as one layer: each `Router::layer`
/// call wraps every route again (a boxed service and a boxed future per request and per
/// call), which showed in the profile of token validation.
fn with_middleware(
    app: axum::Router,
    settings: &Settings,
    requests: TaskTracker,
) -> anyhow::Result<axum::Router> {
    // Outermost: every layer and handler sees the client's address, not the proxy's.
    let trusted = settings.http.trusted_proxies()?;
    let client_ip = (!trusted.is_empty()).then(|| {
        let trusted: Arc<[ipnet::IpNet]> = trusted.into();
        axum::middleware::from_fn_with_state(trusted, crate::client_ip::resolve)
    });
    // Outside the timeout and panic layers, so their 503s and 500s are counted too.
    let metrics = settings
        .metrics
        .listen
        .is_some()
        .then(|| axum::middleware::from_fn(crate::metrics::track));
    let stack = tower::ServiceBuilder::new()
        .option_layer(client_ip)
        // One response type for both branches of each optional layer above.
        .map_response(IntoResponse::into_response)
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span as fn(&axum::extract::Request) -> tracing::Span)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .option_layer(metrics)
        .map_response(IntoResponse::into_response)
        .layer(CatchPanicLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            settings.http.request_timeout,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            settings.http.body_limit,
        ))
        // Inside the timeout and panic layers: a timeout ends the wait, not the work, and a
        // panic in the work still reaches the panic layer.
        .layer(crate::completion::RunToCompletionLayer { tasks: requests });
    Ok(app.layer(stack))
}

/// The native API and the enabled dialects, each under its prefix, with the dialects'
/// OpenAPI documents at `/openapi/<dialect>.json`.
fn app_router(core: Arc<Core>, settings: &Settings) -> anyhow::Result<axum::Router> {
    let api = ApiSettings {
        body_limit: settings.http.body_limit,
        forward_auth: portcullis_api::ForwardAuthSettings {
            cookie: settings.http.forward_auth_cookie.clone(),
            headers: match settings.http.forward_auth_headers {
                crate::config::ForwardAuthHeaders::Original => {
                    portcullis_api::OriginalHeaders::Original
                }
                crate::config::ForwardAuthHeaders::Forwarded => {
                    portcullis_api::OriginalHeaders::Forwarded
                }
            },
        },
    };
    let mut app = portcullis_api::router(core.clone(), &api);
    let d = &settings.dialects;
    if d.djust.enabled {
        let routes = portcullis_dialect_djust::router(core.clone());
        app = mount_dialect(
            app,
            "djust",
            &d.djust.prefix,
            routes,
            portcullis_dialect_djust::openapi_json(),
        )?;
    }
    if d.jrni.enabled {
        let routes = portcullis_dialect_jrni::router(core.clone());
        app = mount_dialect(
            app,
            "jrni",
            &d.jrni.prefix,
            routes,
            portcullis_dialect_jrni::openapi_json(),
        )?;
    }
    if d.openloyalty.enabled {
        let routes = portcullis_dialect_openloyalty::router(core.clone(), settings.openloyalty());
        let doc = portcullis_dialect_openloyalty::openapi_json();
        app = mount_dialect(app, "openloyalty", &d.openloyalty.prefix, routes, doc)?;
    }
    if d.jfw.enabled {
        let routes = portcullis_dialect_jfw::router(core.clone(), settings.jfw());
        let doc = portcullis_dialect_jfw::openapi_json();
        app = mount_dialect(app, "jfw", &d.jfw.prefix, routes, doc)?;
    }
    Ok(app)
}

/// Mounts a dialect's routes at the root (empty prefix) or under `/prefix`, and its OpenAPI
/// document at `/openapi/<name>.json`.
fn mount_dialect(
    app: axum::Router,
    name: &'static str,
    prefix: &str,
    routes: axum::Router,
    openapi: String,
) -> anyhow::Result<axum::Router> {
    // The metrics label the dialect's answers with its name.
    let routes = routes.layer(axum::middleware::map_response(
        move |mut resp: axum::response::Response| async move {
            resp.extensions_mut().insert(crate::metrics::Dialect(name));
            resp
        },
    ));
    let prefix = prefix.trim_end_matches('/');
    let app = if prefix.is_empty() {
        app.merge(routes)
    } else if prefix.starts_with('/') {
        app.nest(prefix, routes)
    } else {
        anyhow::bail!("a dialect prefix must start with /: {prefix:?}");
    };
    let doc: &'static str = openapi.leak(); // built once per process
    let serve_doc = move || async move {
        (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            doc,
        )
    };
    Ok(app.route(
        &format!("/openapi/{name}.json"),
        axum::routing::get(serve_doc),
    ))
}

/// Delivers queued e-mails: at once when this node queues one, and every second for those
/// queued elsewhere or due for a retry. The store's leases keep workers on several nodes
/// from sending the same message together.
async fn outbox_loop(core: Arc<Core>, mailer: Arc<dyn Mailer>) {
    let signal = core.outbox_signal();
    let mut tick = tokio::time::interval(SYNC_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = signal.notified() => {}
        }
        if let Err(e) = core.deliver_outbox(mailer.as_ref()).await {
            tracing::warn!(error = %e, "delivering e-mails failed; retrying");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
