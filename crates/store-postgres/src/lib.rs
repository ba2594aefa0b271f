//! Storage on PostgreSQL: several stateless Portcullis nodes share one database.
//!
//! Besides the `Store` trait, this store tells the nodes about changes at once: every
//! change-feed entry is announced with `NOTIFY`, and [`PgStore::change_signal`] wakes the
//! node's sync loop when one arrives (see `listen.rs`).

mod baskets;
mod codec;
mod counters;
mod devices;
mod directory;
mod feed;
mod listen;
mod opaque;
mod resets;
mod restore;
mod sessions;
mod store;
mod users;

use portcullis_core::{StoreError, StoreResult};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A pooled connection idle this long is pinged before it is used again.
const PING_AFTER_IDLE: Duration = Duration::from_secs(5);

/// The NOTIFY channel of the change feed.
pub(crate) const CHANNEL: &str = "portcullis_changes";

/// Connection settings beyond the URL.
#[derive(Clone, Debug)]
pub struct PgSettings {
    pub max_connections: u32,
    /// Longest a statement may run before PostgreSQL cancels it.
    pub statement_timeout: Duration,
    /// How long a request waits for a connection before it is answered "unavailable".
    pub acquire_timeout: Duration,
    /// `disable`, `prefer`, `require`, `verify-ca` or `verify-full`; `None` keeps the URL's
    /// `sslmode` (default `prefer`).
    pub ssl_mode: Option<String>,
    /// Schema to work in (tests give each run its own); `None` is the default search path.
    pub schema: Option<String>,
}

impl Default for PgSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            statement_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(3),
            ssl_mode: None,
            schema: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    changed: Arc<Notify>,
    listener: Arc<tokio::task::JoinHandle<()>>,
}

impl PgStore {
    /// Connects, runs the migrations (once, under PostgreSQL's advisory lock, however many
    /// nodes start together) and starts listening for change notifications.
    pub async fn open(url: &str, settings: &PgSettings) -> Result<Self, StoreError> {
        let options = connect_options(url, settings)?;
        // sqlx pings a connection each time it leaves the pool: a round trip per statement,
        // half of PostgreSQL's CPU time per refresh (docs/benchmarks.md). Only a connection idle for a while
        // (which a restarted server or a dropped link may have closed) is pinged now; one
        // in use moments ago fails its next statement at worst, and is then replaced.
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options.clone())
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
        MIGRATIONS
            .run(&pool)
            .await
            .map_err(|e| StoreError::Internal(format!("migrating PostgreSQL: {e}")))?;
        let changed = Arc::new(Notify::new());
        let listener = Arc::new(tokio::spawn(listen::run(options, changed.clone())));
        Ok(Self {
            pool,
            changed,
            listener,
        })
    }

    /// Notified whenever another node (or this one) records a change.
    pub fn change_signal(&self) -> Arc<Notify> {
        self.changed.clone()
    }

    pub async fn close(&self) {
        self.listener.abort();
        self.pool.close().await;
    }

    /// A transaction, begun by a task of its own, because sqlx's `begin` is not safe to
    /// abandon: it counts the transaction as open only once BEGIN's answer is read. A caller
    /// that went away in between (a client hanging up, a timeout) left the pooled connection
    /// inside a transaction that nothing would end, and the statements of its next users ran
    /// in it, uncommitted, holding their locks. The task always finishes; a transaction its
    /// caller no longer waits for is dropped, which rolls it back.
    pub(crate) async fn begin(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
        let pool = self.pool.clone();
        tokio::spawn(async move { pool.begin().await })
            .await
            .map_err(|e| StoreError::Internal(format!("beginning a transaction: {e}")))?
            .map_err(db_err)
    }
}

fn connect_options(url: &str, settings: &PgSettings) -> Result<PgConnectOptions, StoreError> {
    let mut options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Internal(format!("bad database url: {e}")))?;
    if let Some(mode) = &settings.ssl_mode {
        let mode = PgSslMode::from_str(mode)
            .map_err(|e| StoreError::Internal(format!("bad TLS mode {mode:?}: {e}")))?;
        options = options.ssl_mode(mode);
    }
    let timeout = format!("{}ms", settings.statement_timeout.as_millis());
    let mut params = vec![("statement_timeout", timeout)];
    if let Some(schema) = &settings.schema {
        params.push(("search_path", schema.clone()));
    }
    Ok(options.options(params).application_name("portcullis"))
}

/// Maps driver errors to the store's error kinds.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict(d.message().to_owned())
        }
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
            StoreError::Conflict(format!("reference to a missing row: {}", d.message()))
        }
        // 57014: statement timeout; 57P01..03: the server is shutting down or unreachable;
        // 08: connection failures; 53: out of connections, memory or disk; 28: the role or
        // its password refused; 3D000: the database is gone. All are the database's state,
        // not a request's fault: readiness fails and callers may retry.
        sqlx::Error::Database(d)
            if d.code().is_some_and(|c| {
                ["57", "08", "53", "28"].iter().any(|p| c.starts_with(p)) || c == "3D000"
            }) =>
        {
            StoreError::Unavailable(d.message().to_owned())
        }
        // Protocol errors arise when a connection breaks mid-handshake (server gone).
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Internal(e.to_string()),
    }
}
