//! The pure domain of usher: user administration for multi-tenant business software.
//!
//! This crate holds the model (accounts, users, user types and seats, roles, invitations,
//! tokens, audit), the rules R1–R25 as pure functions, the ports (async traits every adapter
//! implements) and the use cases ([`service`]) that combine them. It performs no I/O and never
//! reads the clock, the environment or a random source: those arrive through [`ports`].
//!
//! Embedding: build a [`service::Ports`] from your adapters (or the in-memory ones of the
//! `usher-contract` crate) and call the use cases of [`service`] with it and an
//! [`authz::Actor`]; `crates/usher-contract/examples/embed.rs` does so end to end.

#![deny(missing_docs)]

pub mod authz;
pub mod document;
pub mod error;
pub mod id;
pub mod model;
pub mod password;
pub mod ports;
pub mod redact;
pub mod rules;
pub mod service;
pub mod time;
pub mod value;
