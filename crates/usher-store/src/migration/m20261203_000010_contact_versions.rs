//! Contacts are edited (with `If-Match`) and found from their user: a version column, and an
//! index on the user a contact was made into.

use sea_orm_migration::prelude::*;

use super::run_ddl;

#[derive(DeriveMigrationName, Debug)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager,
            "ALTER TABLE contacts ADD COLUMN version BIGINT NOT NULL DEFAULT 1; \
             CREATE INDEX ix_contacts_user ON contacts (user_id)",
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, "DROP INDEX ix_contacts_user; ALTER TABLE contacts DROP COLUMN version").await
    }
}
