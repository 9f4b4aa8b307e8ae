//! usher's store adapter: every store port of `usher-domain` on SQLite (the embedded default)
//! and PostgreSQL, through sea-orm.
//!
//! The invariants that must hold under concurrency are the database's job, not a
//! check-then-write in Rust: unique indexes hold usernames and emails per root account (on
//! the case-folded, NFC key), one pending invitation per address and single-use tokens;
//! conditional updates hold optimistic locking and single use; the seat pool is serialised by
//! a row lock on PostgreSQL (`SELECT … FOR UPDATE`) and by SQLite's single writer (`BEGIN
//! IMMEDIATE`), so two transactions allocating seats of one pool run one after the other.
//!
//! ```no_run
//! # async fn demo() -> Result<(), usher_store::StoreError> {
//! let store = usher_store::SqlStore::connect(&usher_store::StoreConfig::new("sqlite:usher.db")).await?;
//! store.migrate().await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod codec;
mod entity;
mod error;
mod migration;
mod tx;

use std::time::Duration;

use async_trait::async_trait;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

use usher_domain::error::RepoError;
use usher_domain::ports::{Store, Tx};

pub use error::StoreError;

use crate::migration::Migrator;
use crate::tx::SqlTx;

/// How to reach the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// `sqlite:path/to/file.db`, `sqlite::memory:` or `postgres://user@host:port/db`.
    pub url: String,
    /// PostgreSQL pool size (SQLite always has one writer connection and a small read pool).
    pub max_connections: u32,
    /// SQLite read-pool size.
    pub sqlite_readers: u32,
    /// How long a connection waits for a lock (SQLite busy timeout) or for a free pool slot.
    pub wait: Duration,
}

impl StoreConfig {
    /// Defaults for `url`: 10 PostgreSQL connections, 4 SQLite readers, 30 s waits.
    pub fn new(url: impl Into<String>) -> StoreConfig {
        StoreConfig { url: url.into(), max_connections: 10, sqlite_readers: 4, wait: Duration::from_secs(30) }
    }
}

/// The store: a pool for writes and, on a SQLite file, a read-only pool beside it.
#[derive(Debug, Clone)]
pub struct SqlStore {
    writer: DatabaseConnection,
    reader: Option<DatabaseConnection>,
    backend: DatabaseBackend,
}

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl SqlStore {
    /// Connects (creating a missing SQLite file) without migrating.
    pub async fn connect(config: &StoreConfig) -> Result<SqlStore, StoreError> {
        let url = config.url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut options = ConnectOptions::new(url);
            options
                .max_connections(config.max_connections.max(1))
                .min_connections(1)
                .acquire_timeout(config.wait)
                .sqlx_logging(false);
            let writer = Database::connect(options).await.map_err(StoreError::connect)?;
            return Ok(SqlStore { writer, reader: None, backend: DatabaseBackend::Postgres });
        }
        let Some(path) = url.strip_prefix("sqlite:") else {
            return Err(StoreError::UnsupportedUrl {
                scheme: url.split(':').next().unwrap_or_default().to_owned(),
            });
        };
        let in_memory = path == ":memory:" || path.contains("mode=memory");
        let wait = config.wait;
        let sqlite = |writers: bool, size: u32| {
            let mut options = ConnectOptions::new(url);
            options
                .max_connections(size)
                .min_connections(if in_memory { 1 } else { 0 })
                .acquire_timeout(wait)
                .sqlx_logging(false)
                .map_sqlx_sqlite_opts(move |opts| {
                    let opts = opts.foreign_keys(true).busy_timeout(wait);
                    if in_memory {
                        opts
                    } else {
                        opts.create_if_missing(writers)
                            .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                            .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                            .read_only(!writers)
                    }
                });
            if in_memory {
                // The database lives as long as its only connection.
                options.idle_timeout(None).max_lifetime(None);
            }
            options
        };
        let writer = Database::connect(sqlite(true, 1)).await.map_err(StoreError::connect)?;
        let reader = if in_memory {
            None
        } else {
            Some(
                Database::connect(sqlite(false, config.sqlite_readers.max(1)))
                    .await
                    .map_err(StoreError::connect)?,
            )
        };
        Ok(SqlStore { writer, reader, backend: DatabaseBackend::Sqlite })
    }

    /// Connects and applies every pending migration.
    pub async fn open(config: &StoreConfig) -> Result<SqlStore, StoreError> {
        let store = SqlStore::connect(config).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations not applied yet; returns how many ran (0 when up to date).
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let pending =
            Migrator::get_pending_migrations(&self.writer).await.map_err(StoreError::migrate)?.len();
        Migrator::up(&self.writer, None).await.map_err(StoreError::migrate)?;
        Ok(pending)
    }

    /// Names of the applied migrations, oldest first.
    pub async fn applied_migrations(&self) -> Result<Vec<String>, StoreError> {
        let applied = Migrator::get_applied_migrations(&self.writer).await.map_err(StoreError::migrate)?;
        Ok(applied.iter().map(|m| m.name().to_owned()).collect())
    }

    /// Checks that the database answers (`/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.writer.ping().await.map_err(StoreError::connect)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        match self.backend {
            DatabaseBackend::Postgres => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }

    /// The query plan of the user list for `query`, one line per plan step: what the query
    /// plan test reads to prove the list is served by an index.
    pub async fn explain_list_users(
        &self,
        query: &usher_domain::ports::UserQuery,
    ) -> Result<Vec<String>, StoreError> {
        let txn = self.writer.begin().await.map_err(StoreError::connect)?;
        let statement =
            tx::list_users_statement(&txn, self.backend, query).await.map_err(StoreError::Query)?;
        self.explain(&txn, statement).await
    }

    /// The query plan of a directory search's page (SCIM's `GET /Users?filter=…`), one line
    /// per plan step.
    pub async fn explain_search_users(
        &self,
        search: &usher_domain::ports::UserSearch,
    ) -> Result<Vec<String>, StoreError> {
        let txn = self.writer.begin().await.map_err(StoreError::connect)?;
        let statement =
            tx::search_users_statement(&txn, self.backend, search).await.map_err(StoreError::Query)?;
        self.explain(&txn, statement).await
    }

    async fn explain(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        statement: sea_orm::Statement,
    ) -> Result<Vec<String>, StoreError> {
        let explain = match self.backend {
            DatabaseBackend::Postgres => "EXPLAIN ",
            _ => "EXPLAIN QUERY PLAN ",
        };
        let statement = sea_orm::Statement { sql: format!("{explain}{}", statement.sql), ..statement };
        let rows = txn.query_all_raw(statement).await.map_err(StoreError::connect)?;
        let column = match self.backend {
            DatabaseBackend::Postgres => "QUERY PLAN",
            _ => "detail",
        };
        rows.iter().map(|row| row.try_get::<String>("", column).map_err(StoreError::connect)).collect()
    }

    /// Closes every connection.
    pub async fn close(self) -> Result<(), StoreError> {
        if let Some(reader) = self.reader {
            reader.close().await.map_err(StoreError::connect)?;
        }
        self.writer.close().await.map_err(StoreError::connect)
    }

    async fn begin_on(
        &self,
        connection: &DatabaseConnection,
        read_only: bool,
    ) -> Result<Box<dyn Tx>, RepoError> {
        let options = match self.backend {
            // One writer at a time, taken at BEGIN: a transaction that reads and then writes can
            // never lose its snapshot to another writer (other processes included).
            DatabaseBackend::Sqlite if !read_only => TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            },
            // A PostgreSQL read is a plain BEGIN: `SET TRANSACTION READ ONLY` would cost every
            // authenticated call one more round trip, and a read use case writes nothing.
            _ => TransactionOptions::default(),
        };
        let txn = connection.begin_with_options(options).await.map_err(error::repo)?;
        Ok(Box::new(SqlTx::new(txn, self.backend)))
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn begin(&self) -> Result<Box<dyn Tx>, RepoError> {
        self.begin_on(&self.writer, false).await
    }

    async fn begin_read(&self) -> Result<Box<dyn Tx>, RepoError> {
        match &self.reader {
            Some(reader) => self.begin_on(reader, true).await,
            None => self.begin_on(&self.writer, self.backend == DatabaseBackend::Postgres).await,
        }
    }
}
