//! Group commit of refresh-token rotations.
//!
//! A rotation is a small write transaction, and each one costs a commit: SQLite has one
//! writer, PostgreSQL flushes its log at every commit. Under load that, not the CPU, caps the
//! refresh rate. So rotations go to one writer task; whatever arrives while a batch is being
//! written goes, together, into the next one. An idle server writes each rotation at once (a
//! batch of one); a busy one writes fewer, larger transactions.

use crate::session::{RotateOutcome, Rotation};
use crate::store::{Store, StoreError, StoreResult};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Most rotations written in one transaction.
const MAX_BATCH: usize = 256;
/// Rotations waiting beyond this make their callers wait to queue (back-pressure).
const QUEUE: usize = 4096;

struct Job {
    rotation: Rotation,
    reply: oneshot::Sender<StoreResult<RotateOutcome>>,
}

pub(crate) struct RotationWriter {
    queue: mpsc::Sender<Job>,
}

impl RotationWriter {
    /// Start the writer task on the current runtime; it ends when the writer is dropped.
    pub(crate) fn start(store: Arc<dyn Store>) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, jobs));
        Self { queue }
    }

    pub(crate) async fn rotate(&self, rotation: Rotation) -> StoreResult<RotateOutcome> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { rotation, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Internal("the rotation writer stopped".into())
}

async fn run(store: Arc<dyn Store>, mut jobs: mpsc::Receiver<Job>) {
    loop {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        // Zero: every sender is gone, the core with them.
        if jobs.recv_many(&mut batch, MAX_BATCH).await == 0 {
            break;
        }
        // Its own task, so a panic in a store fails this batch's callers (their replies are
        // dropped) and not every later refresh.
        if let Err(e) = tokio::spawn(write(store.clone(), batch)).await {
            tracing::error!(error = %e, "a batch of refresh-token rotations failed");
        }
    }
}

async fn write(store: Arc<dyn Store>, jobs: Vec<Job>) {
    let (rotations, replies): (Vec<Rotation>, Vec<_>) =
        jobs.into_iter().map(|j| (j.rotation, j.reply)).unzip();
    metrics::histogram!("portcullis_rotation_batch_size").record(rotations.len() as f64);
    let outcomes = match store.rotate_refresh(&rotations).await {
        Ok(outcomes) if outcomes.len() == rotations.len() => outcomes.into_iter().map(Ok).collect(),
        Ok(_) => {
            let e = StoreError::Internal("the store lost track of a rotation batch".into());
            vec![Err(e); rotations.len()]
        }
        // One bad rotation (say, its session deleted meanwhile) must not fail the others:
        // write each alone, so only the rotations that fail by themselves get the error.
        Err(_) if rotations.len() > 1 => {
            let mut each = Vec::with_capacity(rotations.len());
            for rotation in &rotations {
                let one = store
                    .rotate_refresh(std::slice::from_ref(rotation))
                    .await
                    .and_then(|mut o| o.pop().ok_or_else(stopped));
                each.push(one);
            }
            each
        }
        Err(e) => vec![Err(e)],
    };
    for (reply, outcome) in replies.into_iter().zip(outcomes) {
        let _ = reply.send(outcome);
    }
}
