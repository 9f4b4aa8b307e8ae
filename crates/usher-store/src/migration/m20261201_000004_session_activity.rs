//! What a person sees of their sessions (ASVS V7.4.5): when each was last used, and from where
//! it was opened.

use sea_orm_migration::prelude::*;

use super::run_ddl;

#[derive(DeriveMigrationName, Debug)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager,
            "ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT; ALTER TABLE sessions ADD COLUMN source TEXT",
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager,
            "ALTER TABLE sessions DROP COLUMN source; ALTER TABLE sessions DROP COLUMN last_seen_at",
        )
        .await
    }
}
