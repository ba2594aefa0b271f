//! `LISTEN` for change-feed notifications, reconnecting forever. While the channel is down
//! the nodes still read the feed on their regular tick, so a lost notification delays a
//! revocation by at most that tick.

use crate::CHANNEL;
use sqlx::postgres::{PgConnectOptions, PgListener};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

pub(crate) async fn run(options: PgConnectOptions, changed: Arc<Notify>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match listen_once(&options, &changed).await {
            Ok(()) => backoff = Duration::from_millis(100),
            Err(e) => {
                tracing::warn!(error = %e, "change notifications interrupted; reconnecting");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn listen_once(options: &PgConnectOptions, changed: &Notify) -> Result<(), sqlx::Error> {
    let pool = sqlx::pool::PoolOptions::<sqlx::Postgres>::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(3))
        .connect_with(options.clone())
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(CHANNEL).await?;
    // Anything may have happened while we were not listening.
    changed.notify_one();
    loop {
        // `recv` reconnects by itself and reports the gap as an error only through `try_recv`;
        // use `try_recv` so a lost connection is seen and the feed is re-read.
        match listener.try_recv().await? {
            Some(_) => changed.notify_one(),
            // The connection dropped; the next call reconnects and listens again.
            None => changed.notify_one(),
        }
    }
}
