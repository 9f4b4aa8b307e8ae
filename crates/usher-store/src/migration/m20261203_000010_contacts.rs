//! Contacts are edited (with `If-Match`): a version column. A user made from a contact shows
//! whether it is a person or an organization: the kind, copied once (a contact's kind never
//! changes).

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
             ALTER TABLE users ADD COLUMN contact_kind TEXT; \
             UPDATE users SET contact_kind = \
                 (SELECT c.kind FROM contacts c WHERE c.id = users.contact_id) \
             WHERE contact_id IS NOT NULL",
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager,
            "ALTER TABLE users DROP COLUMN contact_kind; ALTER TABLE contacts DROP COLUMN version",
        )
        .await
    }
}
