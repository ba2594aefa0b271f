//! Requests that may change something run to completion, whatever happens to their caller.
//!
//! hyper drops a request's future when its client hangs up, and the timeout layer drops it
//! when time is up. Dropped between two of its writes, a password change would leave the new
//! password set and the other sessions alive, and any action could lose its audit event. So
//! such a request runs in a task of its own, which the request's future only waits for:
//! dropping the wait does not stop the work. The tasks are tracked, so that a server
//! shutting down waits for them too (`serve.rs`), not only for the connections still open.

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// Wraps the routes: see the module's documentation. `tasks` counts the requests' tasks.
#[derive(Clone)]
pub struct RunToCompletionLayer {
    pub tasks: TaskTracker,
}

impl<S> tower::Layer<S> for RunToCompletionLayer {
    type Service = RunToCompletion<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RunToCompletion {
            inner,
            tasks: self.tasks.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RunToCompletion<S> {
    inner: S,
    tasks: TaskTracker,
}

impl<S> tower::Service<Request> for RunToCompletion<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, Detached>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if changes_nothing(&req) {
            return Either::Left(self.inner.call(req));
        }
        let work = self.inner.call(req).in_current_span();
        Either::Right(Detached(self.tasks.spawn(work)))
    }
}

/// GET, HEAD and OPTIONS, and the two read-only POSTs of token validation (introspection
/// and the authorization decision): the hot path, which a task per request would slow.
fn changes_nothing(req: &Request) -> bool {
    matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || matches!(req.uri().path(), "/oauth2/introspect" | "/v1/authorize")
}

/// The wait for a request's task.
pub struct Detached(tokio::task::JoinHandle<Result<Response, Infallible>>);

impl Future for Detached {
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|joined| match joined {
            Ok(answer) => answer,
            // Raised again here, for the panic layer outside to answer 500 as it would have.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Only a runtime shutting down cancels the task.
            Err(_) => Ok(StatusCode::SERVICE_UNAVAILABLE.into_response()),
        })
    }
}
