//! One task that serves requests in batches: whatever arrives while a batch is served goes,
//! together, into the next. An idle server serves each request at once (a batch of one); a
//! busy one makes fewer, larger store calls. The refresh grant's token reads
//! (`refresh_reads.rs`) and rotation writes (`rotations.rs`) go through one each.

use crate::store::{StoreError, StoreResult};
use std::future::Future;
use tokio::sync::{mpsc, oneshot};

/// Requests waiting beyond this make their callers wait to queue (back-pressure).
const QUEUE: usize = 4096;

/// Where a request's answer goes; dropping it fails the caller with "stopped".
pub(crate) type Reply<O> = oneshot::Sender<StoreResult<O>>;

pub(crate) struct Batcher<I, O> {
    queue: mpsc::Sender<(I, Reply<O>)>,
    what: &'static str,
}

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    /// Starts the task on the current runtime, serving batches of up to `max` requests with
    /// `serve`, which answers each; it ends when the batcher is dropped.
    pub(crate) fn start<F, Fut>(what: &'static str, max: usize, serve: F) -> Self
    where
        F: Fn(Vec<(I, Reply<O>)>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(run(what, max, jobs, serve));
        Self { queue, what }
    }

    pub(crate) async fn call(&self, request: I) -> StoreResult<O> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((request, reply))
            .await
            .map_err(|_| stopped(self.what))?;
        answer.await.map_err(|_| stopped(self.what))?
    }
}

pub(crate) fn stopped(what: &str) -> StoreError {
    StoreError::Internal(format!("the task for {what} stopped"))
}

async fn run<I, O, F, Fut>(
    what: &'static str,
    max: usize,
    mut jobs: mpsc::Receiver<(I, Reply<O>)>,
    serve: F,
) where
    F: Fn(Vec<(I, Reply<O>)>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    loop {
        let mut batch = Vec::with_capacity(max);
        // Zero: every sender is gone, the core with them.
        if jobs.recv_many(&mut batch, max).await == 0 {
            break;
        }
        // Its own task, so a panic in a store fails this batch's callers (their replies are
        // dropped) and not every later one.
        if let Err(e) = tokio::spawn(serve(batch)).await {
            tracing::error!(error = %e, "a batch of {} failed", what);
        }
    }
}
