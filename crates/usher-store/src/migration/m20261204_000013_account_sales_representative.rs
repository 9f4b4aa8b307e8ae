//! An account's sales representative, the default of its users and of the accounts below it
//! that name none (Oro's customer sales representative).

use sea_orm_migration::prelude::*;

use super::run_ddl;

#[derive(DeriveMigrationName, Debug)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, "ALTER TABLE accounts ADD COLUMN sales_representative {uuid}").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, "ALTER TABLE accounts DROP COLUMN sales_representative").await
    }
}
