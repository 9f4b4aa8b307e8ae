//! The store's tests, in one binary: the whole contract suite on SQLite and on PostgreSQL,
//! the migrations, and the query plans of the user list.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

/// The contract suite on PostgreSQL.
mod contract_postgres;
/// The contract suite on a SQLite file.
mod contract_sqlite;
/// The event feed where transactions overlap.
mod feed;
/// The store fixtures: a SQLite file, and a PostgreSQL database made for one test.
mod fixture;
/// Migrations run once.
mod migrations;
/// The user list is served by indexes.
mod query_plans;
