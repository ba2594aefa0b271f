//! Batched reads of refresh tokens.
//!
//! Every refresh starts by reading its token with the session and user. One statement per
//! refresh cost PostgreSQL more CPU than the group-committed writes that follow (`bench/profile
//! refresh`: most of its ~240 µs per refresh), and each costs the node a round trip too. So
//! the reads are grouped as the rotations are: one reader task, and whatever arrives while a
//! batch is being read goes, together, into the next. An idle server reads each token at once.

use super::batches::{Batcher, Reply};
use crate::secret::SecretHash;
use crate::session::RefreshLookup;
use crate::store::{Store, StoreResult};
use std::collections::HashMap;
use std::sync::Arc;

/// Most tokens read in one statement.
const MAX_BATCH: usize = 256;

pub(crate) struct RefreshReader(Batcher<SecretHash, Option<RefreshLookup>>);

impl RefreshReader {
    /// Start the reader task on the current runtime; it ends when the reader is dropped.
    pub(crate) fn start(store: Arc<dyn Store>) -> Self {
        Self(Batcher::start(
            "refresh-token reads",
            MAX_BATCH,
            move |jobs| read(store.clone(), jobs),
        ))
    }

    /// The token stored under `hash`, with its session and user, as `Store::find_refresh`.
    pub(crate) async fn find(&self, hash: SecretHash) -> StoreResult<Option<RefreshLookup>> {
        self.0.call(hash).await
    }
}

async fn read(store: Arc<dyn Store>, jobs: Vec<(SecretHash, Reply<Option<RefreshLookup>>)>) {
    let hashes: Vec<SecretHash> = jobs.iter().map(|(h, _)| *h).collect();
    match store.find_refreshes(&hashes).await {
        Ok(found) => {
            let by_hash: HashMap<SecretHash, RefreshLookup> =
                found.into_iter().map(|l| (l.record.hash, l)).collect();
            // A token presented twice in one batch (a client's retry) gets its answer twice.
            for (hash, reply) in jobs {
                let _ = reply.send(Ok(by_hash.get(&hash).cloned()));
            }
        }
        Err(e) => {
            for (_, reply) in jobs {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}
