//! The whole contract suite, race cases included, on a SQLite file (two handles on one file
//! for the races, as two processes would have).

async fn make_store() -> crate::fixture::SqliteFixture {
    crate::fixture::SqliteFixture::new().await
}

usher_contract::store_contract!();
