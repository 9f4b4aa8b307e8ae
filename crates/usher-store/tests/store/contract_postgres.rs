//! The whole contract suite, race cases included, on PostgreSQL: a database per case, and two
//! separate pools for the races, as two server instances would have.

use std::sync::Arc;

use async_trait::async_trait;
use usher_contract::fixture::Fixture;
use usher_domain::ports::Store;

/// A PostgreSQL database, or nothing when no server answers and none is required.
struct MaybePostgres(Option<crate::fixture::PostgresFixture>);

async fn make_store() -> MaybePostgres {
    MaybePostgres(crate::fixture::PostgresFixture::new().await)
}

#[async_trait]
impl Fixture for MaybePostgres {
    fn store(&self) -> Arc<dyn Store> {
        match &self.0 {
            Some(fixture) => fixture.store(),
            None => unreachable!("skipped cases never ask for a store"),
        }
    }
    async fn second_store(&self) -> Arc<dyn Store> {
        match &self.0 {
            Some(fixture) => fixture.second_store().await,
            None => self.store(),
        }
    }
    async fn teardown(self) {
        if let Some(fixture) = self.0 {
            fixture.teardown().await;
        }
    }
    fn skipped(&self) -> Option<String> {
        self.0.is_none().then(|| "PostgreSQL: no server answers (set USHER_TEST_POSTGRES_URL)".to_owned())
    }
}

usher_contract::store_contract!();
