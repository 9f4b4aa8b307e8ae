//! Accounts and user types are edited under `If-Match`, like users, roles and contacts: a
//! version column each.

use sea_orm_migration::prelude::*;

use super::run_ddl;

#[derive(DeriveMigrationName, Debug)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager,
            "ALTER TABLE accounts ADD COLUMN version BIGINT NOT NULL DEFAULT 1; \
             ALTER TABLE user_types ADD COLUMN version BIGINT NOT NULL DEFAULT 1",
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager,
            "ALTER TABLE user_types DROP COLUMN version; ALTER TABLE accounts DROP COLUMN version",
        )
        .await
    }
}
