//! The whole contract suite, race cases included, on a SQLite file (two handles on one file
//! for the races, as two processes would have).

mod common;

async fn make_store() -> common::SqliteFixture {
    common::SqliteFixture::new().await
}

usher_contract::store_contract!();
