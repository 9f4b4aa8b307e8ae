//! Throttle counts hold no identity in clear and are forgotten once out of the window: the
//! counts written under clear-text keys (usernames, addresses, IP addresses) are dropped,
//! which at worst lets a client in one window try again early, and an index on the time makes
//! forgetting a range delete.

use sea_orm_migration::prelude::*;

use super::run_ddl;

#[derive(DeriveMigrationName, Debug)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager,
            "DELETE FROM login_failures; CREATE INDEX ix_login_failures_at ON login_failures (at)",
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, "DROP INDEX ix_login_failures_at").await
    }
}
