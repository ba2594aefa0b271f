//! The tower layer: bearer token → verified [`Identity`] in the request's extensions, or a
//! 401/403/503 answer with a `WWW-Authenticate` challenge and a small JSON body.

use crate::{Guard, GuardError};
use http::{HeaderValue, Request, Response, StatusCode, header};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// Wraps a service with a [`Guard`].
#[derive(Clone)]
pub struct GuardLayer {
    guard: Guard,
}

impl GuardLayer {
    pub fn new(guard: Guard) -> Self {
        Self { guard }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = GuardService<S>;
    fn layer(&self, inner: S) -> GuardService<S> {
        GuardService {
            inner,
            guard: self.guard.clone(),
        }
    }
}

#[derive(Clone)]
pub struct GuardService<S> {
    inner: S,
    guard: Guard,
}

fn bearer<B>(req: &Request<B>) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .then(|| token.trim().to_owned())
}

fn refusal<B: From<String>>(e: &GuardError) -> Response<B> {
    let (status, code, challenge) = match e {
        GuardError::Missing => (StatusCode::UNAUTHORIZED, "invalid_token", Some("Bearer")),
        GuardError::Invalid(_) => (
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            Some("Bearer error=\"invalid_token\""),
        ),
        GuardError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", None),
        GuardError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None),
    };
    let body = serde_json::json!({"error": code, "error_description": e.to_string()}).to_string();
    let mut resp = Response::new(B::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(c) = challenge {
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
    }
    resp
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for GuardService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send,
    ReqB: Send + 'static,
    ResB: From<String>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqB>) -> Self::Future {
        // The clone that was polled ready serves this request (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let guard = self.guard.clone();
        Box::pin(async move {
            let token = bearer(&req);
            let checked = guard
                .check(token.as_deref(), req.method().as_str(), req.uri().path())
                .await;
            match checked {
                Ok(identity) => {
                    req.extensions_mut().insert(identity);
                    inner.call(req).await
                }
                Err(e) => {
                    if let GuardError::Unavailable(why) = &e {
                        tracing::warn!(%why, "verification keys unavailable");
                    }
                    Ok(refusal(&e))
                }
            }
        })
    }
}
