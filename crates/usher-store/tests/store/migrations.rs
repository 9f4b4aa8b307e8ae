//! Migrations: an empty database migrates up, and running them again is a no-op, on SQLite
//! (a file and `sqlite::memory:`) and on PostgreSQL.

use usher_contract::fixture::Fixture;
use usher_domain::ports::Store;
use usher_store::{SqlStore, StoreConfig, StoreError};

async fn check_idempotent(store: &SqlStore) {
    let applied = store.applied_migrations().await.unwrap();
    assert!(!applied.is_empty(), "the fixture migrated an empty database");
    assert_eq!(store.migrate().await.unwrap(), 0, "a second run applies nothing");
    assert_eq!(store.applied_migrations().await.unwrap(), applied, "and records nothing new");
    // The schema is usable after the second run.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.account_by_slug(&usher_domain::value::Slug::parse("none").unwrap()).await.unwrap().is_none());
}

#[tokio::test]
async fn sqlite_file_migrates_up_once() {
    let fixture = crate::fixture::SqliteFixture::new().await;
    check_idempotent(&fixture.store).await;
    // A second process opening the same file finds nothing to do.
    let again = SqlStore::open(&StoreConfig::new(fixture.url.clone())).await.unwrap();
    assert_eq!(again.migrate().await.unwrap(), 0);
}

#[tokio::test]
async fn sqlite_memory_migrates_up_once() {
    let store = SqlStore::connect(&StoreConfig::new("sqlite::memory:")).await.unwrap();
    assert_eq!(store.migrate().await.unwrap(), 17, "an empty database gets every migration");
    check_idempotent(&store).await;
}

#[tokio::test]
async fn postgres_migrates_up_once() {
    let Some(fixture) = crate::fixture::PostgresFixture::new().await else { return };
    check_idempotent(&fixture.store).await;
    let second = fixture.second_store().await;
    drop(second);
    fixture.teardown().await;
}

#[tokio::test]
async fn unsupported_urls_are_refused_with_the_scheme() {
    let err = SqlStore::connect(&StoreConfig::new("mysql://root@localhost/usher")).await.unwrap_err();
    assert!(matches!(&err, StoreError::UnsupportedUrl { scheme } if scheme == "mysql"), "{err}");
}
