//! The end-to-end tests: one binary, one module per area, each starting the built `usher`
//! binary over real HTTP (see the harness in `harness.rs`). One binary links the whole stack
//! once instead of once per area.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

/// What a user may do, for the apps that rely on usher (R4, R19).
mod access;
/// Signed access tokens, verified by PyJWT (R13).
mod access_tokens;
/// The invited user's journey in headless Chromium.
mod browser;
/// The client generated from the spec, driven through a journey.
mod clients;
/// The admin console: its session cookie, CSRF, and the seeds' stories in headless Chromium.
mod console;
/// Contacts: search, edit, delete (R17).
mod contacts;
/// The event feed for apps (R26).
mod events;
/// Stale forms: `If-Match` on accounts, user types and the subscription.
mod forms;
/// Just-in-time users from outside identities (R17).
mod identities;
/// Several server processes over one database.
mod instances;
/// Token introspection for apps (RFC 7662).
mod introspection;
/// The outbox through a real SMTP server.
mod mail;
/// The authorization matrix: every operation, every kind of actor.
mod matrix;
/// The black-box probe's findings, each reproduced and shown closed.
mod probe;
/// SCIM 2.0: scim2-tester, and Entra ID's and Okta's conversations replayed.
mod scim;
/// The server process: start-up, shutdown, headers, hosted pages.
mod server;
/// The product's stories told over HTTP.
mod stories;
/// Tenant isolation: another tenant's ids read as not found.
mod tenants;
/// Users as CSV: the export.
mod transfer;
/// Webhooks verified by the Standard Webhooks reference library.
mod webhooks;
