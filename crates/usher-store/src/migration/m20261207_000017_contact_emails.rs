//! An import matches its rows' contacts by email a batch at a time: contacts are indexed by
//! root and email.

use sea_orm_migration::prelude::*;

use super::run_ddl;

#[derive(DeriveMigrationName, Debug)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, "CREATE INDEX ix_contacts_email ON contacts (root_id, email)").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, "DROP INDEX ix_contacts_email").await
    }
}
