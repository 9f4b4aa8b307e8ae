//! Signed access tokens (R13): the installation's signing keys, their private halves sealed by
//! the signer, and each user's token cut-off (ASVS V7.4.1), before which tokens are refused.

use sea_orm_migration::prelude::*;

use super::run_ddl;

#[derive(DeriveMigrationName, Debug)]
pub(crate) struct Migration;

const UP: &str = r#"
CREATE TABLE signing_keys (
    id {uuid} PRIMARY KEY,
    public_key TEXT NOT NULL,
    sealed_private_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);
CREATE TABLE token_cutoffs (
    user_id {uuid} PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    cutoff BIGINT NOT NULL
)
"#;

const DOWN: &str = "DROP TABLE token_cutoffs; DROP TABLE signing_keys";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DOWN).await
    }
}
