//! What the contract suite needs from an adapter: a fresh database per case, a second handle
//! on it (as a second server instance would have, with its own connections), and a clean-up
//! that runs whether the case passed or panicked.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use usher_domain::ports::Store;

/// A fresh, empty database for one case.
#[async_trait]
pub trait Fixture: Send + 'static {
    /// The store under test.
    fn store(&self) -> Arc<dyn Store>;
    /// Another handle on the same database through its own connections. Stores that cannot
    /// open a second handle return the first.
    async fn second_store(&self) -> Arc<dyn Store>;
    /// Removes the database (after every handle has been dropped).
    async fn teardown(self);
    /// Why the cases cannot run here (e.g. no database server answers); they are then skipped
    /// loudly instead of run.
    fn skipped(&self) -> Option<String> {
        None
    }
}

/// A store needs no clean-up and shares one handle: how in-memory stores and simple adapters
/// take part (`async fn make_store() -> Arc<dyn Store>`).
#[async_trait]
impl Fixture for Arc<dyn Store> {
    fn store(&self) -> Arc<dyn Store> {
        self.clone()
    }
    async fn second_store(&self) -> Arc<dyn Store> {
        self.clone()
    }
    async fn teardown(self) {}
}

/// Runs one case on a fixture and tears it down, re-raising the case's panic afterwards.
pub async fn run<F, C, Fut>(fixture: F, case: C)
where
    F: Fixture,
    C: FnOnce(Arc<dyn Store>, Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if let Some(reason) = fixture.skipped() {
        #[allow(clippy::print_stderr, reason = "a skipped case must be visible in the test output")]
        {
            eprintln!("SKIPPED: {reason}");
        }
        return;
    }
    let first = fixture.store();
    let second = fixture.second_store().await;
    let outcome = tokio::spawn(case(first, second)).await;
    fixture.teardown().await;
    if let Err(err) = outcome
        && err.is_panic()
    {
        std::panic::resume_unwind(err.into_panic());
    }
}
