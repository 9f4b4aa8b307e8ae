//! Just-in-time users: the outside identities (issuer and subject) that name a user, one user
//! per identity in a root account. The primary key is what makes concurrent first sign-ins of
//! one identity create one user.

use sea_orm_migration::prelude::*;

use super::run_ddl;

#[derive(DeriveMigrationName, Debug)]
pub(crate) struct Migration;

const UP: &str = r#"
CREATE TABLE external_identities (
    root_id {uuid} NOT NULL,
    issuer {key} NOT NULL,
    subject {key} NOT NULL,
    user_id {uuid} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    linked_at BIGINT NOT NULL,
    CONSTRAINT pk_external_identities PRIMARY KEY (root_id, issuer, subject)
);
CREATE INDEX ix_external_identities_user ON external_identities (user_id)
"#;

const DOWN: &str = "DROP TABLE external_identities";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DOWN).await
    }
}
