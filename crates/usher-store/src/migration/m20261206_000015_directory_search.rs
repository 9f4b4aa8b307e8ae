//! Directory search (SCIM's filters): the provisioning client's id for a user, unique in the
//! tenant, and the lower-cased display name, each with its index, beside one on the time a
//! user last changed; the provisioning client's id for a role (a SCIM group); and the origin
//! of an audited change (`scim`, an app's name).

use sea_orm_migration::prelude::*;

use super::run_ddl;

#[derive(DeriveMigrationName, Debug)]
pub(crate) struct Migration;

const UP: &str = r#"
ALTER TABLE users ADD COLUMN external_id {key};
ALTER TABLE users ADD COLUMN display_key {key} NOT NULL DEFAULT '';
UPDATE users SET display_key = CASE
    WHEN first_name_key IS NULL AND last_name_key IS NULL THEN username_key
    ELSE trim(coalesce(first_name_key, '') || ' ' || coalesce(last_name_key, ''))
END;
CREATE UNIQUE INDEX ux_users_external_id ON users (root_id, external_id);
CREATE INDEX ix_users_display ON users (root_id, display_key);
CREATE INDEX ix_users_updated ON users (root_id, updated_at);
ALTER TABLE roles ADD COLUMN external_id {key};
ALTER TABLE audit_events ADD COLUMN origin TEXT
"#;

const DOWN: &str = r#"
ALTER TABLE audit_events DROP COLUMN origin;
ALTER TABLE roles DROP COLUMN external_id;
DROP INDEX ix_users_updated;
DROP INDEX ix_users_display;
DROP INDEX ux_users_external_id;
ALTER TABLE users DROP COLUMN display_key;
ALTER TABLE users DROP COLUMN external_id
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DOWN).await
    }
}
