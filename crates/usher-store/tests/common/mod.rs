//! Fixtures for the store's tests: a SQLite file in a temporary folder, and a PostgreSQL
//! database created for one test and dropped after it.
//!
//! PostgreSQL is found at `USHER_TEST_POSTGRES_URL`, else at the local server
//! (`postgres://postgres@127.0.0.1:5432/postgres`). When none answers, the PostgreSQL tests
//! say `SKIPPED: PostgreSQL` and pass, unless `CI=true` or `USHER_REQUIRE_POSTGRES=1`, where
//! a missing server is a failure (`cargo xtask test` reports the skip loudly).
#![allow(
    dead_code,
    clippy::disallowed_methods,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use usher_contract::fixture::Fixture;
use usher_domain::ports::Store;
use usher_store::{SqlStore, StoreConfig};

/// A SQLite database file in its own temporary folder.
pub struct SqliteFixture {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub store: Arc<SqlStore>,
}

impl SqliteFixture {
    pub async fn new() -> SqliteFixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("usher.db").display());
        let store = Arc::new(SqlStore::open(&StoreConfig::new(url.clone())).await.expect("open sqlite"));
        SqliteFixture { dir, url, store }
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

fn base_url() -> String {
    std::env::var("USHER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn postgres_required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var("USHER_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (without_query, query) = match url.split_once('?') {
        Some((head, query)) => (head, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority_end = without_query.find("://").map_or(0, |i| i + 3);
    let base = match without_query[authority_end..].find('/') {
        Some(slash) => &without_query[..authority_end + slash],
        None => without_query,
    };
    format!("{base}/{name}{query}")
}

/// A PostgreSQL database made for one test.
pub struct PostgresFixture {
    admin: DatabaseConnection,
    pub name: String,
    pub url: String,
    pub store: Arc<SqlStore>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl PostgresFixture {
    /// A fresh, migrated database, or `None` (after saying so) when no server answers and
    /// none is required.
    pub async fn new() -> Option<PostgresFixture> {
        let base = base_url();
        let admin = match Database::connect(base.as_str()).await {
            Ok(admin) => admin,
            Err(err) if !postgres_required() => {
                eprintln!("SKIPPED: PostgreSQL: no server answers at {base}: {err}");
                return None;
            }
            Err(err) => panic!("PostgreSQL is required (CI=true) but {base} does not answer: {err}"),
        };
        let name = format!("usher_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .expect("drop old");
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create database");
        let url = with_database(&base, &name);
        let store = Arc::new(SqlStore::open(&StoreConfig::new(url.clone())).await.expect("open postgres"));
        Some(PostgresFixture { admin, name, url, store })
    }

    /// Drops the database.
    pub async fn drop_database(self) {
        let PostgresFixture { admin, name, store, .. } = self;
        if let Ok(store) = Arc::try_unwrap(store) {
            let _ = store.close().await;
        }
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .expect("drop database");
        let _ = admin.close().await;
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
