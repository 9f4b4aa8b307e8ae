//! The port contract suite of usher and in-memory reference adapters.
#![deny(missing_docs)]
//!
//! Any store adapter proves itself by running the suite: define `async fn make_store()`
//! returning a [`fixture::Fixture`] with a fresh, empty database (an `Arc<dyn Store>` is one;
//! an adapter with a real database returns its own, with a second handle and a clean-up),
//! then invoke [`store_contract!`] in a test module. Each case runs the domain's use cases and
//! the raw port against that store, so the rules R1–R25 are checked on every adapter; the
//! race cases drive two handles at once, as two server instances would.
//!
//! ```text
//! mod contract {
//!     async fn make_store() -> std::sync::Arc<dyn usher_domain::ports::Store> { /* fresh db */ }
//!     usher_contract::store_contract!();
//! }
//! ```

pub mod cases;
pub mod fixture;
pub mod harness;
pub mod memory;
