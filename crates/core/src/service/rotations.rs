//! Group commit of refresh-token rotations.
//!
//! A rotation is a small write transaction, and each one costs a commit: SQLite has one
//! writer, PostgreSQL flushes its log at every commit. Under load that, not the CPU, caps the
//! refresh rate. So rotations go to one writer task; whatever arrives while a batch is being
//! written goes, together, into the next one. An idle server writes each rotation at once (a
//! batch of one); a busy one writes fewer, larger transactions.

use super::batches::{Batcher, Reply, stopped};
use crate::session::{RotateOutcome, Rotation};
use crate::store::{Store, StoreError, StoreResult};
use std::sync::Arc;

/// Most rotations written in one transaction.
const MAX_BATCH: usize = 256;
const WHAT: &str = "refresh-token rotations";

pub(crate) struct RotationWriter(Batcher<Rotation, RotateOutcome>);

impl RotationWriter {
    /// Start the writer task on the current runtime; it ends when the writer is dropped.
    pub(crate) fn start(store: Arc<dyn Store>) -> Self {
        Self(Batcher::start(WHAT, MAX_BATCH, move |jobs| {
            write(store.clone(), jobs)
        }))
    }

    pub(crate) async fn rotate(&self, rotation: Rotation) -> StoreResult<RotateOutcome> {
        self.0.call(rotation).await
    }
}

async fn write(store: Arc<dyn Store>, jobs: Vec<(Rotation, Reply<RotateOutcome>)>) {
    let (rotations, replies): (Vec<Rotation>, Vec<_>) = jobs.into_iter().unzip();
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
                    .and_then(|mut o| o.pop().ok_or_else(|| stopped(WHAT)));
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
