//! An orders service guarded by Portcullis: every request needs a valid access token, and
//! the caller's profiles decide what it may do (`buyer` reads orders, `clerk` also changes
//! them). Handlers get the caller's identity.
//!
//! Run Portcullis (`portcullis serve --demo`), then `cargo run -p portcullis-guard --example
//! orders`, and call `http://127.0.0.1:3000/v1/orders/42` with a token from Portcullis.

use axum::extract::Path;
use axum::routing::get;
use axum::{Extension, Json, Router};
use portcullis_guard::{Guard, Identity, Right, RouteRule};
use serde_json::{Value, json};

/// The guard for Portcullis at `base` (its issuer URL), for the tenant whose audience is
/// `audience` (its slug by default).
pub fn guard(base: &str, audience: &str) -> Guard {
    let rule = |route: &str, right| RouteRule {
        route: route.into(),
        right,
        methods: None,
    };
    Guard::builder(format!("{base}/.well-known/jwks.json"), audience)
        .issuer(base)
        .profile("buyer", &[rule("/v1/orders/**", Right::Read)])
        .profile("clerk", &[rule("/v1/orders/**", Right::ReadWrite)])
        .build()
}

/// The service's routes behind the guard.
pub fn app(guard: &Guard) -> Router {
    Router::new()
        .route("/v1/orders/{id}", get(show).put(update))
        .layer(guard.layer())
}

async fn show(Extension(caller): Extension<Identity>, Path(id): Path<u64>) -> Json<Value> {
    Json(json!({"order": id, "for": caller.sub, "tenant": caller.tenant}))
}

async fn update(Extension(caller): Extension<Identity>, Path(id): Path<u64>) -> Json<Value> {
    Json(json!({"order": id, "updated_by": caller.sub}))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let base = std::env::var("PORTCULLIS_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let tenant = std::env::var("PORTCULLIS_TENANT").unwrap_or_else(|_| "demo".into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("orders on http://127.0.0.1:3000, trusting {base}");
    axum::serve(listener, app(&guard(&base, &tenant))).await
}
