//! Batched reads of refresh tokens.
//!
//! Every refresh starts by reading its token with the session and user. One statement per
//! refresh cost PostgreSQL more CPU than the group-committed writes that follow (`bench/profile
//! refresh`: most of its ~240 µs per refresh), and each costs the node a round trip too. So
//! the reads are grouped as the rotations are: one reader task, and whatever arrives while a
//! batch is being read goes, together, into the next. An idle server reads each token at once.

use crate::secret::SecretHash;
use crate::session::RefreshLookup;
use crate::store::{Store, StoreError, StoreResult};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Most tokens read in one statement.
const MAX_BATCH: usize = 256;
/// Reads waiting beyond this make their callers wait to queue (back-pressure).
const QUEUE: usize = 4096;

struct Job {
    hash: SecretHash,
    reply: oneshot::Sender<StoreResult<Option<RefreshLookup>>>,
}

pub(crate) struct RefreshReader {
    queue: mpsc::Sender<Job>,
}

impl RefreshReader {
    /// Start the reader task on the current runtime; it ends when the reader is dropped.
    pub(crate) fn start(store: Arc<dyn Store>) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, jobs));
        Self { queue }
    }

    /// The token stored under `hash`, with its session and user, as `Store::find_refresh`.
    pub(crate) async fn find(&self, hash: SecretHash) -> StoreResult<Option<RefreshLookup>> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { hash, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Internal("the refresh-token reader stopped".into())
}

async fn run(store: Arc<dyn Store>, mut jobs: mpsc::Receiver<Job>) {
    loop {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        if jobs.recv_many(&mut batch, MAX_BATCH).await == 0 {
            break;
        }
        // Its own task, so a panic in a store fails this batch's callers, not later ones.
        if let Err(e) = tokio::spawn(read(store.clone(), batch)).await {
            tracing::error!(error = %e, "a batch of refresh-token reads failed");
        }
    }
}

async fn read(store: Arc<dyn Store>, jobs: Vec<Job>) {
    let hashes: Vec<SecretHash> = jobs.iter().map(|j| j.hash).collect();
    match store.find_refreshes(&hashes).await {
        Ok(found) => {
            let by_hash: HashMap<SecretHash, RefreshLookup> =
                found.into_iter().map(|l| (l.record.hash, l)).collect();
            // A token presented twice in one batch (a client's retry) gets its answer twice.
            for job in jobs {
                let _ = job.reply.send(Ok(by_hash.get(&job.hash).cloned()));
            }
        }
        Err(e) => {
            for job in jobs {
                let _ = job.reply.send(Err(e.clone()));
            }
        }
    }
}
