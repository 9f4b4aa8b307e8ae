//! A PostgreSQL database made for one test and dropped after it: the one fixture behind the
//! store's PostgreSQL tests and the end-to-end tests.
//!
//! The server is found at `USHER_TEST_POSTGRES_URL`, else at the local one
//! (`postgres://postgres@127.0.0.1:5432/postgres`). When none answers, [`ScratchPostgres::create`]
//! says `SKIPPED: PostgreSQL` and gives `None`, so the test passes, unless `CI=true` or
//! `USHER_REQUIRE_POSTGRES=1`, where a missing server fails the test (`cargo xtask test`
//! reports any skip loudly).
#![allow(
    clippy::disallowed_methods,
    clippy::print_stderr,
    clippy::expect_used,
    clippy::missing_panics_doc,
    reason = "test support: it reads the test environment, and a failed setup is a failed test"
)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

/// The URL of the server tests make their databases on.
pub fn server_url() -> String {
    std::env::var("USHER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Whether a missing PostgreSQL fails the test instead of skipping it.
pub fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var("USHER_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// `url` with its database name replaced by `name` (the query string kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (head, query) =
        url.split_once('?').map_or((url, String::new()), |(head, query)| (head, format!("?{query}")));
    let authority = head.find("://").map_or(0, |i| i + 3);
    let base = head[authority..].find('/').map_or(head, |slash| &head[..authority + slash]);
    format!("{base}/{name}{query}")
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// An empty PostgreSQL database that lives until [`ScratchPostgres::drop_database`].
#[derive(Debug)]
pub struct ScratchPostgres {
    admin: DatabaseConnection,
    name: String,
    url: String,
}

impl ScratchPostgres {
    /// A fresh database named `<prefix>_<process>_<n>`, or `None` (after saying so) when no
    /// server answers and none is required.
    pub async fn create(prefix: &str) -> Option<ScratchPostgres> {
        let server = server_url();
        let admin = match Database::connect(server.as_str()).await {
            Ok(admin) => admin,
            Err(err) if !required() => {
                eprintln!("SKIPPED: PostgreSQL: no server answers at {server}: {err}");
                return None;
            }
            Err(err) => panic!("PostgreSQL is required (CI=true) but {server} does not answer: {err}"),
        };
        let name = format!("{prefix}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        // A database of the same name can only be left by an earlier process of the same id.
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .expect("drop a leftover database");
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create the test database");
        let url = with_database(&server, &name);
        Some(ScratchPostgres { admin, name, url })
    }

    /// The URL of the database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database, ending whatever connections still hold it: a server killed a moment
    /// ago may still hold some, and a second try covers one being set up meanwhile.
    pub async fn drop_database(self) {
        let mut last = None;
        for _ in 0..5 {
            match self
                .admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
                .await
            {
                Ok(_) => {
                    last = None;
                    break;
                }
                Err(err) => last = Some(err),
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        if let Some(err) = last {
            panic!("cannot drop the test database {}: {err}", self.name);
        }
        let _ = self.admin.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced_and_the_query_kept() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "t1"), "postgres://u@h:5432/t1");
        assert_eq!(with_database("postgres://u@h:5432", "t1"), "postgres://u@h:5432/t1");
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "t1"),
            "postgres://u@h/t1?sslmode=disable"
        );
    }
}
