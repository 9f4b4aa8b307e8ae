//! The contract suite against the in-memory store.

use std::sync::Arc;

use usher_contract::memory::InMemoryStore;
use usher_domain::ports::Store;

async fn make_store() -> Arc<dyn Store> {
    Arc::new(InMemoryStore::new())
}

usher_contract::store_contract!();
