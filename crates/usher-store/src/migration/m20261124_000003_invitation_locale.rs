//! The invitee's language on the invitation: the invitation mail (and its resends) is written
//! in it, and the user made by accepting takes it as the preferred locale.

use sea_orm_migration::prelude::*;

use super::run_ddl;

#[derive(DeriveMigrationName, Debug)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, "ALTER TABLE invitations ADD COLUMN locale TEXT").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, "ALTER TABLE invitations DROP COLUMN locale").await
    }
}
