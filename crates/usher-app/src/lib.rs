//! The `usher` binary's wiring: production adapters, configuration and commands. The
//! binary (`src/main.rs`) only parses the command line and calls [`run`].
#![deny(missing_docs)]

pub mod adapters;
pub mod cli;
pub mod feed;
pub mod hooks;
pub mod imports;
pub mod signing;
pub mod transfer;

pub use cli::{Cli, run};
