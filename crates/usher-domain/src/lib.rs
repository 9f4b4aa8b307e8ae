//! The pure domain of usher: user administration for multi-tenant business software.
//!
//! This crate holds the model (accounts, users, user types and seats, roles, invitations,
//! tokens, audit), the rules R1–R22 as pure functions, the ports (async traits every adapter
//! implements) and the use cases ([`service`]) that combine them. It performs no I/O and never
//! reads the clock, the environment or a random source: those arrive through [`ports`].
//!
//! Embedding: build a [`service::Services`] from your adapters (or the in-memory ones of the
//! `usher-contract` crate) and call its use cases with an [`authz::Actor`].

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
