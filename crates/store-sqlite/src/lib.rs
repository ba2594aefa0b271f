//! The embedded default store: one SQLite file in WAL mode.
//!
//! Writes go through a pool of exactly one connection, so writers queue in-process instead of
//! failing with `SQLITE_BUSY`, and every multi-row write is one transaction (refresh-token
//! rotations arrive here in batches: see the core's group commit). Reads use a separate pool
//! and never wait for writers (WAL).

mod baskets;
mod codec;
mod counters;
mod devices;
mod directory;
mod feed;
mod opaque;
mod padded;
mod resets;
mod restore;
mod sessions;
mod store;
mod users;

use portcullis_core::{StoreError, StoreResult};
use sqlx::Sqlite;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone, Debug)]
pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://path`, `sqlite:path` or a
    /// plain path) and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = connect_options(url)?;
        // The writer's page cache (32 MiB; SQLite's default is 2 MiB) holds the B-tree pages
        // every rotation walks: with millions of tokens, interior pages evicted between
        // batches were read again at each one. Pages are cached only once touched.
        // No ping before each use (sqlx's default): a connection to a file cannot have been
        // hung up on, and the ping is a round trip to the connection's thread per statement.
        let write = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone().pragma("cache_size", "-32768"))
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot open {url}: {e}")))?;
        MIGRATIONS
            .run(&write)
            .await
            .map_err(|e| StoreError::Internal(format!("migrating {url}: {e}")))?;
        // Each sqlx-sqlite connection is a thread, and every statement a round trip to it:
        // more readers than two per core only trade places (8 measured slower than 4 on two
        // cores).
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let read = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(u32::try_from(2 * cores).unwrap_or(8).clamp(2, 16))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.read_only(true))
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot open {url}: {e}")))?;
        Ok(Self { read, write })
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    /// A write transaction holding the database's write lock from its start (`BEGIN
    /// IMMEDIATE`). A deferred one that reads first cannot wait when it comes to write: while
    /// another process writes the file (the command line beside a live server), SQLite
    /// answers SQLITE_BUSY at once instead of waiting out the busy timeout.
    ///
    /// Begun by a task of its own, because sqlx's `begin_with` is not safe to abandon: it
    /// awaits once more after SQLite has begun the transaction and before it hands out the
    /// `Transaction` that would end it. A caller that went away at that moment (a client
    /// hanging up, a timeout) left the one writing connection inside a transaction nothing
    /// would end, holding the write lock, and every later write failed. The task always
    /// finishes; a transaction its caller no longer waits for is dropped, which rolls it back.
    pub(crate) async fn write_tx(&self) -> StoreResult<sqlx::Transaction<'static, Sqlite>> {
        let pool = self.write.clone();
        tokio::spawn(async move { pool.begin_with("BEGIN IMMEDIATE").await })
            .await
            .map_err(|e| StoreError::Internal(format!("beginning a transaction: {e}")))?
            .map_err(db_err)
    }
}

fn connect_options(url: &str) -> Result<SqliteConnectOptions, StoreError> {
    let base = if url.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Internal(format!("bad database url: {e}")))?
    } else {
        SqliteConnectOptions::new().filename(Path::new(url))
    };
    Ok(base
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL is durable across application crashes in WAL mode; only an OS crash can lose
        // the last transactions, which is the usual trade for an auth server's write rate.
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        .pragma("temp_store", "memory")
        // Checkpoint every ~40 MB of log rather than 4 MB: pages that change at every
        // refresh (sessions, index interiors) are copied back once per checkpoint, and the
        // writer stalls for a checkpoint less often (docs/benchmarks.md).
        .pragma("wal_autocheckpoint", "10000"))
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
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Internal(e.to_string()),
    }
}
