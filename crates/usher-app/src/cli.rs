//! The command line: `usher migrate` (and, as the server issue lands, `serve` and `openapi`).
//! Every option is a flag with a `USHER_*` environment variable beside it.

use clap::{Parser, Subcommand};

use usher_store::{SqlStore, StoreConfig, StoreError};

/// User administration for multi-tenant business software.
#[derive(Debug, Parser)]
#[command(name = "usher", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Applies the database migrations not applied yet (a no-op when up to date).
    Migrate(DatabaseArgs),
}

/// Where the database is.
#[derive(Debug, clap::Args)]
pub struct DatabaseArgs {
    /// `sqlite:<file>` (created if missing), `sqlite::memory:` or `postgres://user@host/db`.
    #[arg(long, env = "USHER_DATABASE_URL", default_value = "sqlite:usher.db")]
    pub database_url: String,
    /// PostgreSQL pool size.
    #[arg(long, env = "USHER_DATABASE_POOL_SIZE", default_value_t = 10)]
    pub database_pool_size: u32,
}

impl DatabaseArgs {
    fn config(&self) -> StoreConfig {
        StoreConfig {
            max_connections: self.database_pool_size,
            ..StoreConfig::new(self.database_url.clone())
        }
    }
}

/// Why a command failed: one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs a command; returns the line to print on success.
pub async fn run(cli: Cli) -> Result<String, CommandError> {
    match cli.command {
        Command::Migrate(database) => {
            let store = SqlStore::connect(&database.config()).await?;
            let applied = store.migrate().await?;
            let total = store.applied_migrations().await?.len();
            store.close().await?;
            Ok(format!("migrate: applied {applied} migration(s); the database is at {total} of {total}"))
        }
    }
}
