//! Fixtures for the store's tests: a SQLite file in a temporary folder, and a PostgreSQL
//! database created for one test and dropped after it (`usher-testdb`, shared with the
//! end-to-end tests, says where PostgreSQL is found and when its absence fails a test).
#![allow(unreachable_pub, reason = "fixtures of one test binary")]

use std::sync::Arc;

use async_trait::async_trait;
use usher_contract::fixture::Fixture;
use usher_domain::ports::Store;
use usher_store::{SqlStore, StoreConfig};
use usher_testdb::ScratchPostgres;

/// A SQLite database file in its own temporary folder.
pub struct SqliteFixture {
    /// Holds the folder, which goes with the fixture.
    _dir: tempfile::TempDir,
    pub url: String,
    pub store: Arc<SqlStore>,
}

impl SqliteFixture {
    pub async fn new() -> SqliteFixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("usher.db").display());
        let store = Arc::new(SqlStore::open(&StoreConfig::new(url.clone())).await.expect("open sqlite"));
        SqliteFixture { _dir: dir, url, store }
    }
}

#[async_trait]
impl Fixture for SqliteFixture {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }
    async fn second_store(&self) -> Arc<dyn Store> {
        Arc::new(SqlStore::connect(&StoreConfig::new(self.url.clone())).await.expect("second sqlite handle"))
    }
    async fn teardown(self) {}
}

/// A PostgreSQL database made for one test, migrated.
pub struct PostgresFixture {
    database: ScratchPostgres,
    pub url: String,
    pub store: Arc<SqlStore>,
}

impl PostgresFixture {
    /// A fresh, migrated database, or `None` (after saying so) when no server answers and
    /// none is required.
    pub async fn new() -> Option<PostgresFixture> {
        let database = ScratchPostgres::create("usher_test").await?;
        let url = database.url().to_owned();
        let store = Arc::new(SqlStore::open(&StoreConfig::new(url.clone())).await.expect("open postgres"));
        Some(PostgresFixture { database, url, store })
    }

    /// Drops the database.
    pub async fn drop_database(self) {
        let PostgresFixture { database, store, .. } = self;
        if let Ok(store) = Arc::try_unwrap(store) {
            let _ = store.close().await;
        }
        database.drop_database().await;
    }
}

#[async_trait]
impl Fixture for PostgresFixture {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }
    async fn second_store(&self) -> Arc<dyn Store> {
        // Its own pool: what a second server instance on the same database has.
        Arc::new(SqlStore::connect(&StoreConfig::new(self.url.clone())).await.expect("second postgres pool"))
    }
    async fn teardown(self) {
        self.drop_database().await;
    }
}
